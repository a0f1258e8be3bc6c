import { parseDuration } from '../../core/duration.js';
import { retryPolicy } from '../../core/retry-policy.js';
import type { SourceReadContext, SourceReadResult } from '../../engine/connector.js';
import { defineSource } from '../../engine/connector.js';
import { childTableSuffixes, planChildTables } from './child-tables.js';
import { HTTPClient } from './http-client.js';
import { readPages } from './page-reader.js';
import { createPaginator } from './paginator.js';
import { RateLimiter } from './rate-limiter.js';
import { normaliseRecords } from './normalise-records.js';
import { RecordStage } from './record-stage.js';
import { createRequestAuth } from './request-auth.js';
import type { ResolvedRESTConfig } from './rest-config.js';
import { restSourceConfig } from './rest-config.js';

/**
 * Reads records from an HTTP JSON API into the step's dataset, following pagination, with
 * authentication, retries, a rate limit and a per-request timeout. Records are staged as JSON
 * text and typed (and flattened, or their arrays unnested into child datasets `<step>__<path>`)
 * inside DuckDB; records that do not fit the schema are quarantined.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(restSource);
 * const orders = source.custom('rest', {
 *   url: 'https://api.example.com/v1/orders',
 *   recordsPath: '$.data',
 *   pagination: { type: 'cursor', cursorPath: '$.meta.next_cursor', cursorParam: 'cursor' },
 *   auth: { type: 'bearer', token: { env: 'ORDERS_API_TOKEN' } },
 *   nested: 'child_tables',
 *   childTables: ['items'], // read with ref('orders__items')
 * });
 * ```
 */
export const restSource = defineSource({
  name: 'rest',
  summary: 'Records from an HTTP JSON API, page by page (auth, retries, rate limit).',
  config: restSourceConfig,
  // With `incrementalParam` the API filters. Without it the engine keeps rows past the
  // watermark, except with child tables, whose rows must go with their records: then the source
  // filters.
  readsIncrementally: (config) =>
    config.incrementalParam !== undefined || config.nested === 'child_tables',
  childDatasets: (config) =>
    config.nested === 'child_tables' ? childTableSuffixes(config.childTables) : [],
  read: (config, context) => readREST(config, context),
});

async function readREST(
  config: ResolvedRESTConfig,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const { stepId, connection, logger } = context;
  const baseURL = firstPageURL(config, context);
  const secretParams = new Set<string>();
  const redact = (url: string): string => redactURL(url, secretParams);
  const client = new HTTPClient({
    stepId,
    retries: retryPolicy({
      retries: config.retries.count,
      delay: config.retries.delay,
      maxDelay: config.retries.maxDelay,
      jitter: config.retries.jitter,
    }),
    timeoutMs: parseDuration(config.timeout),
    signal: context.signal,
    logger,
    redact,
    ...(config.rateLimit === undefined
      ? {}
      : { limiter: new RateLimiter(config.rateLimit.requestsPerSecond) }),
  });
  const auth = createRequestAuth(config.auth, stepId, client);
  for (const name of auth.secretQueryParams) secretParams.add(name);

  const stage = await RecordStage.create(connection, stepId);
  const source = redact(baseURL);
  try {
    let pages = 0;
    try {
      for await (const page of readPages({
        stepId,
        method: config.method,
        headers: config.headers,
        body: config.body === undefined ? undefined : JSON.stringify(config.body),
        recordsPath: config.recordsPath,
        maxPages: config.maxPages,
        client,
        auth,
        paginator: createPaginator(config.pagination, baseURL),
        redact,
      })) {
        stage.add(page.records, page.url);
        pages = page.number;
        logger.debug(
          { step: stepId, page: page.number, records: page.records.length },
          'page read',
        );
      }
    } finally {
      const staged = stage.close();
      logger.info({ step: stepId, pages, records: staged }, 'API records staged');
    }
    const watermark = context.incremental?.watermark;
    const result = await normaliseRecords(context, {
      table: stage.table,
      schema: config.schema,
      schemaPolicy: config.schemaPolicy,
      nested: config.nested,
      source,
      ...(config.nested === 'child_tables'
        ? {
            childTables: {
              tables: planChildTables(config.childTables),
              primaryKey:
                config.primaryKey === undefined
                  ? []
                  : typeof config.primaryKey === 'string'
                    ? [config.primaryKey]
                    : config.primaryKey,
              ...(watermark === undefined ||
              context.incremental === undefined ||
              config.incrementalParam !== undefined
                ? {}
                : { keepAfter: { cursor: context.incremental.cursor, watermark } }),
            },
          }
        : {}),
    });
    const { rowsMalformed: _malformed, ...counts } = result;
    for (const child of result.children ?? [])
      logger.info({ step: stepId, dataset: child.name, rows: child.rowsRead }, 'child table made');
    return { ...counts, inputs: [source] };
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${stage.table}`);
  }
}

/** The URL of the first request: placeholders filled, query and watermark parameters set. */
function firstPageURL(config: ResolvedRESTConfig, context: SourceReadContext): string {
  const filled = config.url.replace(/\{([^}]+)\}/g, (_match, name: string) =>
    encodeURIComponent(String(config.params[name])),
  );
  const url = new URL(filled);
  for (const [name, value] of Object.entries(config.query))
    url.searchParams.set(name, String(value));
  const watermark = context.incremental?.watermark;
  if (watermark !== undefined && config.incrementalParam !== undefined)
    url.searchParams.set(config.incrementalParam, isoWatermark(watermark));
  return url.toString();
}

const ENGINE_TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})?(?::?(\d{2}))?$/;

/**
 * The watermark as APIs expect it: the engine writes timestamps as `2026-01-02 10:00:00+00`,
 * APIs take ISO 8601 (`2026-01-02T10:00:00+00:00`). Other values are sent as they are.
 */
function isoWatermark(watermark: string): string {
  const match = ENGINE_TIMESTAMP.exec(watermark);
  if (match === null) return watermark;
  const [, date, time, offsetHours, offsetMinutes] = match;
  const offset = offsetHours === undefined ? '' : `${offsetHours}:${offsetMinutes ?? '00'}`;
  return `${date}T${time}${offset}`;
}

/** `url` with secret query parameters and any user info masked. */
function redactURL(url: string, secretParams: ReadonlySet<string>): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.password !== '') parsed.password = '***';
  for (const name of secretParams)
    if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
  return parsed.toString();
}
