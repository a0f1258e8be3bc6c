import { parseDuration } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import { quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { planChildTables } from './child-tables.js';
import { HTTPClient } from './http-client.js';
import { readPages } from './page-reader.js';
import { createPaginator } from './paginator.js';
import { RateLimiter } from './rate-limiter.js';
import { normaliseRecords } from './normalise-records.js';
import { RecordStage } from './record-stage.js';
import { createRequestAuth } from './request-auth.js';
import type { ResolvedRESTConfig } from './rest-config.js';
import { requestRetryPolicy } from './rest-config.js';
import { SecretRedactor, addConfigSecrets } from '../../contracts/secrets.js';

/**
 * The `rest` source's `read`: the API's records, page by page, into the step's dataset.
 *
 * @example
 * ```ts
 * await readREST(config, context);
 * ```
 */
export async function readREST(
  config: ResolvedRESTConfig,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const { stepId, connection, logger } = context;
  const baseURL = firstPageURL(config, await readFrom(context));
  const secretParams = new Set<string>();
  // The source's credentials (and the access tokens it obtains), masked in whatever an API
  // answer puts into a message: error bodies often echo the request's headers.
  const secrets = addConfigSecrets(new SecretRedactor(), config);
  const redact = (url: string): string => secrets.redact(redactURL(url, secretParams));
  const redactText = (text: string): string => secrets.redact(text);
  const client = new HTTPClient({
    stepId,
    retries: requestRetryPolicy(config),
    timeoutMs: parseDuration(config.timeout),
    signal: context.signal,
    logger,
    redact,
    ...(config.rateLimit === undefined
      ? {}
      : { limiter: new RateLimiter(config.rateLimit.requestsPerSecond) }),
  });
  const auth = createRequestAuth(config.auth, stepId, client, secrets);
  for (const name of auth.secretQueryParams) secretParams.add(name);

  // With a declared schema, long fractions are staged as text so a decimal column gets every
  // digit; without one they are typed as doubles, as the JSON file sources type them.
  const stage = await RecordStage.create(connection, stepId, {
    fractionsAsText: config.schema !== undefined,
  });
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
        redactText,
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
              ...(context.incremental?.keepNewRows === undefined
                ? {}
                : { keepNewRows: context.incremental.keepNewRows }),
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

/**
 * The lowest cursor value to ask the API for: the watermark minus the lag window (computed in
 * DuckDB, as the engine computes its window), or undefined on the first run.
 */
async function readFrom(context: SourceReadContext): Promise<string | undefined> {
  const incremental = context.incremental;
  const watermark = incremental?.watermark;
  const lag = incremental?.lagWindow;
  if (watermark === undefined || lag === undefined || lag === 0) return watermark;
  const value = quoteLiteral(watermark);
  const shifted =
    typeof lag === 'number'
      ? `CAST(${value} AS DECIMAL(38, 9)) - ${lag}`
      : `CAST(${value} AS ${/[+-]\d{2}(:?\d{2})?$/.test(watermark) ? 'TIMESTAMPTZ' : 'TIMESTAMP'}) - CAST(${quoteLiteral(lag)} AS INTERVAL)`;
  try {
    const [row] = await context.connection.rows(`SELECT CAST(${shifted} AS VARCHAR) AS start`);
    const start = String(row?.['start']);
    return typeof lag === 'number' ? start.replace(/\.?0+$/, '') : start;
  } catch (cause) {
    throw new ConfigError(
      [
        {
          code: 'invalid-incremental',
          stepId: context.stepId,
          message: `cannot subtract lagWindow ${JSON.stringify(lag)} from the watermark ${watermark}`,
          hint: 'a lag window is a duration such as "10m" for date/time cursors and a number for numeric ones',
        },
      ],
      { cause },
    );
  }
}

/** The URL of the first request: placeholders filled, query and watermark parameters set. */
function firstPageURL(config: ResolvedRESTConfig, from: string | undefined): string {
  const filled = config.url.replace(/\{([^}]+)\}/g, (_match, name: string) =>
    encodeURIComponent(String(config.params[name])),
  );
  const url = new URL(filled);
  for (const [name, value] of Object.entries(config.query))
    url.searchParams.set(name, String(value));
  if (from !== undefined && config.incrementalParam !== undefined)
    url.searchParams.set(config.incrementalParam, isoWatermark(from));
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
