import { z } from 'zod';
import { durationConfig } from '../../core/duration-config.js';
import { retryPolicyConfig } from '../../core/retry-config.js';
import type { ResolvedRetryPolicy, RetryPolicy } from '../../core/retry-policy.js';
import { retryPolicy } from '../../core/retry-policy.js';
import { secretValue } from '../../contracts/secrets.js';
import type { Schema } from '../../core/schema.js';
import { isSchema } from '../../core/schema.js';

const duration = durationConfig;

const jsonPath = z.string().min(1);

const pagePagination = z.strictObject({
  type: z.literal('page').describe('Numbered pages: `?page=1`, `?page=2`, ...'),
  param: z.string().min(1).default('page').describe('Query parameter holding the page number.'),
  startAt: z.int().default(1).describe('Number of the first page.'),
  pageSize: z
    .int()
    .positive()
    .optional()
    .describe('Records per page; a shorter page is the last one. Sent as `sizeParam` when set.'),
  sizeParam: z.string().min(1).optional().describe('Query parameter holding the page size.'),
});

const offsetPagination = z.strictObject({
  type: z.literal('offset').describe('Offset and limit: `?offset=0&limit=100`, `?offset=100...`'),
  offsetParam: z.string().min(1).default('offset').describe('Query parameter of the offset.'),
  limitParam: z.string().min(1).default('limit').describe('Query parameter of the limit.'),
  limit: z.int().positive().default(100).describe('Records asked for per request.'),
  totalPath: jsonPath
    .optional()
    .describe('JSONPath to the total record count in the body; stops once the offset reaches it.'),
});

const cursorPagination = z.strictObject({
  type: z.literal('cursor').describe('An opaque cursor from each body sent with the next request.'),
  cursorPath: jsonPath.describe('JSONPath to the next cursor in the body, e.g. `$.meta.next`.'),
  cursorParam: z.string().min(1).describe('Query parameter the cursor is sent in.'),
});

const linkPagination = z.strictObject({
  type: z.literal('link').describe('Follows the `Link: <...>; rel="next"` header (RFC 8288).'),
});

const nextURLPagination = z.strictObject({
  type: z.literal('next_url').describe('Follows a URL of the next page found in the body.'),
  nextUrlPath: jsonPath.describe('JSONPath to the next page URL, e.g. `$.links.next`.'),
});

const noPagination = z.strictObject({
  type: z.literal('none').describe('One request.'),
});

/**
 * How the source walks through the pages of a collection.
 *
 * @example
 * ```ts
 * paginationConfig.parse({ type: 'cursor', cursorPath: '$.meta.next', cursorParam: 'cursor' });
 * ```
 */
export const paginationConfig = z
  .discriminatedUnion('type', [
    pagePagination,
    offsetPagination,
    cursorPagination,
    linkPagination,
    nextURLPagination,
    noPagination,
  ])
  .default({ type: 'none' })
  .describe(
    'How to reach further pages: `page`, `offset`, `cursor`, `link` (Link header), `next_url` or `none` (default). Pagination parameters go in the query string.',
  );

export type PaginationConfig = z.output<typeof paginationConfig>;

/**
 * How requests prove who is calling.
 *
 * @example
 * ```ts
 * authConfig.parse({ type: 'api_key', name: 'X-API-Key', value: { env: 'API_KEY' } });
 * ```
 */
export const authConfig = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('bearer').describe('`Authorization: Bearer <token>`.'),
      token: secretValue,
    }),
    z.strictObject({
      type: z.literal('basic').describe('HTTP Basic authentication.'),
      username: z.string().min(1).describe('User name.'),
      password: secretValue,
    }),
    z.strictObject({
      type: z.literal('api_key').describe('A key in a header or query parameter.'),
      name: z.string().min(1).describe('Header or query parameter name, e.g. `X-API-Key`.'),
      value: secretValue,
      in: z.enum(['header', 'query']).default('header').describe('Where the key is sent.'),
    }),
    z.strictObject({
      type: z
        .literal('oauth2_client_credentials')
        .describe('OAuth 2.0 client credentials grant; the token is cached and refreshed.'),
      tokenUrl: z.url().describe('Token endpoint.'),
      clientId: z.string().min(1).describe('Client id.'),
      clientSecret: secretValue,
      scope: z.string().min(1).optional().describe('Space-separated scopes to ask for.'),
    }),
  ])
  .optional()
  .describe('Authentication: `bearer`, `basic`, `api_key` or `oauth2_client_credentials`.');

export type AuthConfig = NonNullable<z.output<typeof authConfig>>;

/** The REST source's request retries when `requestRetries` is not given. */
export const REQUEST_RETRY_DEFAULTS = {
  retries: 3,
  delay: '1s',
  maxDelay: '30s',
  jitter: 0.2,
} as const satisfies RetryPolicy;

/**
 * The older form of the request retries, `retries: { count, delay, maxDelay, jitter }`: still
 * read, as a deprecated alias of `requestRetries`. A step's own `retries` (a count or a
 * `RetryPolicy`) is another setting: it reruns the whole step.
 *
 * @example
 * ```ts
 * legacyRetriesConfig.parse({ count: 5, maxDelay: '1m' });
 * ```
 */
export const legacyRetriesConfig = z
  .strictObject({
    count: z.int().min(0).optional().describe('Retries after the first try (0 disables).'),
    delay: duration.optional().describe('Wait before the first retry; doubles each retry.'),
    maxDelay: duration.optional().describe('Longest wait between tries.'),
    jitter: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('Random share of each wait added or taken away (0..1).'),
  })
  .optional()
  .describe(
    'Deprecated: the older form of `requestRetries`, `{ count, delay, maxDelay, jitter }` (`count` is `retries` there).',
  );

/**
 * The retries of one request of a REST source: `requestRetries`, else the deprecated
 * `retries: { count, ... }`, with {@link REQUEST_RETRY_DEFAULTS} for what neither gives.
 *
 * @example
 * ```ts
 * requestRetryPolicy(restSourceConfig.parse({ url, requestRetries: 5 })); // { retries: 5, delayMs: 1000, maxDelayMs: 30000, jitter: 0.2 }
 * ```
 */
export function requestRetryPolicy(
  config: Pick<ResolvedRESTConfig, 'requestRetries' | 'retries'>,
): ResolvedRetryPolicy {
  const legacy = config.retries;
  if (config.requestRetries !== undefined || legacy === undefined)
    return retryPolicy(
      config.requestRetries ?? REQUEST_RETRY_DEFAULTS.retries,
      REQUEST_RETRY_DEFAULTS,
    );
  return retryPolicy(
    {
      retries: legacy.count ?? REQUEST_RETRY_DEFAULTS.retries,
      ...(legacy.delay === undefined ? {} : { delay: legacy.delay }),
      ...(legacy.maxDelay === undefined ? {} : { maxDelay: legacy.maxDelay }),
      ...(legacy.jitter === undefined ? {} : { jitter: legacy.jitter }),
    },
    REQUEST_RETRY_DEFAULTS,
  );
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const childTablePath = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/,
    'expected a dotted path of keys such as `items` or `items.discounts` (letters, digits and "_")',
  );

/** What is wrong with the child-table options together, as messages on their fields. */
function childTablesProblems(config: {
  readonly nested: string;
  readonly childTables: readonly string[];
  readonly primaryKey?: string | readonly string[] | undefined;
}): { field: 'nested' | 'childTables' | 'primaryKey'; text: string }[] {
  const problems: { field: 'nested' | 'childTables' | 'primaryKey'; text: string }[] = [];
  if (config.nested !== 'child_tables') {
    if (config.childTables.length > 0)
      problems.push({ field: 'childTables', text: "childTables go with nested: 'child_tables'" });
    if (config.primaryKey !== undefined)
      problems.push({ field: 'primaryKey', text: "primaryKey goes with nested: 'child_tables'" });
    return problems;
  }
  if (config.childTables.length === 0)
    problems.push({
      field: 'nested',
      text: "nested: 'child_tables' needs childTables naming the arrays to unnest, e.g. ['items']",
    });
  const seen = new Set<string>();
  for (const path of config.childTables) {
    const name = path.replaceAll('.', '__');
    if (seen.has(name.toLowerCase()))
      problems.push({ field: 'childTables', text: `child table "${path}" is listed twice` });
    seen.add(name.toLowerCase());
    if (path.split('.').some((key) => key.toLowerCase().startsWith('_sluice')))
      problems.push({
        field: 'childTables',
        text: `"${path}": keys starting with _sluice are reserved`,
      });
  }
  return problems;
}

const schemaField = z
  .custom<Schema>(isSchema, { message: 'expected a schema built with schema({...})' })
  .optional()
  .describe('Declared columns. Records that do not fit are quarantined. Inferred when omitted.');

/**
 * Config of the `rest` source.
 *
 * @example
 * ```ts
 * restSourceConfig.parse({ url: 'https://api.example.com/items', recordsPath: '$.data', pagination: { type: 'link' } });
 * ```
 */
export const restSourceConfig = z
  .strictObject({
    url: z
      .string()
      .regex(/^https?:\/\//, 'expected an http:// or https:// URL')
      .describe('Endpoint URL; `{name}` placeholders are filled from `params` (URL-encoded).'),
    params: z
      .record(z.string(), scalar)
      .default({})
      .describe('Values of the `{name}` placeholders in `url`.'),
    method: z.enum(['GET', 'POST']).default('GET').describe('HTTP method.'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers.'),
    query: z
      .record(z.string(), scalar)
      .default({})
      .describe('Query parameters sent with every request.'),
    body: z
      .json()
      .optional()
      .describe('JSON request body (with `POST`); sent unchanged with every page.'),
    recordsPath: jsonPath
      .optional()
      .describe(
        'JSONPath to the records in each response body, e.g. `$.data`. Default: the body itself, which must then be an array.',
      ),
    pagination: paginationConfig,
    maxPages: z
      .int()
      .positive()
      .default(1000)
      .describe(
        'Safety limit: fail (rather than silently stop) when more pages than this would be read.',
      ),
    auth: authConfig,
    requestRetries: retryPolicyConfig
      .optional()
      .describe(
        "Retries of each request on 429, 5xx, timeouts and dropped connections (exponential backoff with jitter, honouring `Retry-After`; other 4xx are never retried): a count, or `{ retries, delay, maxDelay, jitter }`. Default `{ retries: 3, delay: '1s', maxDelay: '30s', jitter: 0.2 }`. A `Retry-After` longer than `maxDelay` fails the step as retryable.",
      ),
    retries: legacyRetriesConfig,
    timeout: duration
      .default('30s')
      .describe('Limit of one request, response body included; a timeout is retried.'),
    rateLimit: z
      .strictObject({
        requestsPerSecond: z
          .number()
          .positive()
          .describe('Most requests started per second (a token bucket with a burst of 1).'),
      })
      .optional()
      .describe(
        'Client-side rate limit across every request of the step, token requests included.',
      ),
    incrementalParam: z
      .string()
      .min(1)
      .optional()
      .describe(
        'With `incremental`, the query parameter that carries the watermark (e.g. `updated_since`) so only newer records are sent. Without it, records at or before the watermark are filtered after reading.',
      ),
    nested: z
      .enum(['json', 'flatten', 'child_tables'])
      .default('json')
      .describe(
        '`json` keeps nested objects and arrays as JSON columns; `flatten` turns nested objects into `parent__child` columns (arrays stay JSON); `child_tables` flattens objects too and turns the arrays named in `childTables` into child datasets `<step>__<path>`.',
      ),
    childTables: z
      .array(childTablePath)
      .default([])
      .describe(
        'With `nested: child_tables`, the arrays that become child datasets, as dotted paths from the record: `items` gives `<step>__items`, `items.discounts` (an array inside each item) gives `<step>__items__discounts`. Every row carries `_sluice_id`; child rows also `_sluice_parent_id` and `_sluice_list_idx`.',
      ),
    primaryKey: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        'With `nested: child_tables`, the column(s) identifying a record (required, unique). `_sluice_id` is then derived from them, so it is the same in every run, and child rows carry them as `_sluice_root_<column>`.',
      ),
    schema: schemaField,
    schemaPolicy: z
      .enum(['strict', 'additive', 'widen', 'discard_row', 'discard_column'])
      .default('discard_row')
      .describe(
        'When records differ from the declared schema: `strict` fails on added or missing columns; `additive` adds new columns and null-fills missing nullable ones; `widen` also widens types; `discard_row` (default) leaves undeclared columns out and quarantines records with values that do not fit; `discard_column` sets such values to null and keeps the record.',
      ),
  })
  .refine((config) => config.requestRetries === undefined || config.retries === undefined, {
    message:
      'give requestRetries or the deprecated retries: { count, ... }, not both (a step retry count is retries: <number>)',
    path: ['retries'],
  })
  .refine((config) => config.body === undefined || config.method === 'POST', {
    message: 'a request body goes with method: POST',
    path: ['body'],
  })
  .refine(
    (config) =>
      [...config.url.matchAll(/\{([^}]+)\}/g)].every((m) => (m[1] ?? '') in config.params),
    { message: 'every {placeholder} in url needs a value in params', path: ['url'] },
  )
  .superRefine((config, issues) => {
    for (const message of childTablesProblems(config))
      issues.addIssue({ code: 'custom', message: message.text, path: [message.field] });
  })
  .describe('Reads records from an HTTP JSON API, page by page.');

export type RESTSourceConfig = z.input<typeof restSourceConfig>;
export type ResolvedRESTConfig = z.output<typeof restSourceConfig>;
