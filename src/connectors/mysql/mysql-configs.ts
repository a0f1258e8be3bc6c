import { z } from 'zod';
import { KEYS_FOR_MERGE, hasKeysForMerge } from '../../core/merge-options.js';

/** Connection fields shared by the `mysql` source and sink. */
const connectionFields = {
  url: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Connection URL `mysql://user:password@host:port/database` (also `mariadb://`); percent-encode special characters. Give either `url` or `host`.',
    ),
  host: z.string().min(1).optional().describe('Server host name or IP, when `url` is not given.'),
  port: z.int().min(1).max(65535).optional().describe('Server port (3306 when omitted).'),
  user: z.string().min(1).optional().describe('User name (`root` when omitted).'),
  password: z.string().optional().describe('Password; empty or omitted for none.'),
  database: z
    .string()
    .min(1)
    .optional()
    .describe('Database (schema) to use; overrides the one in `url`.'),
  connectTimeoutMs: z
    .int()
    .positive()
    .default(10_000)
    .describe('How long to wait for the server to accept the connection, in milliseconds.'),
};

function hasOneEndpoint(config: { url?: string | undefined; host?: string | undefined }): boolean {
  return (config.url === undefined) !== (config.host === undefined);
}

const endpointProblem = {
  message: 'give either url or host (not both, not neither)',
  path: ['url'],
};

/**
 * Config of the `mysql` source.
 *
 * @example
 * ```ts
 * mysqlSourceConfig.parse({ url: 'mysql://etl@db/shop', table: 'orders', where: "status <> 'draft'" });
 * ```
 */
export const mysqlSourceConfig = z
  .strictObject({
    ...connectionFields,
    table: z
      .string()
      .min(1)
      .optional()
      .describe('Table to read, optionally `database.table`. Give `table` or `query`.'),
    query: z
      .string()
      .min(1)
      .optional()
      .describe('A SELECT whose rows are the dataset, instead of `table`.'),
    columns: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Columns of `table` to read (all when omitted).'),
    where: z
      .string()
      .min(1)
      .optional()
      .describe('A MySQL predicate rows must meet, pushed down to the server.'),
    batchSize: z
      .int()
      .positive()
      .default(10_000)
      .describe('Rows buffered between the server stream and the engine per batch.'),
    lagWindow: z
      .union([z.string().min(1), z.number().nonnegative()])
      .optional()
      .describe(
        'Incremental reads re-read rows this far behind the last watermark, to catch rows committed late: a duration (`"5m"`) for date/time cursors, a number in cursor units for numeric cursors. Rows an earlier run read are dropped before any sink, so an append sink gets each row once. Same as `incremental.lagWindow`.',
      ),
    primaryKey: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Columns to order a full read by, for a deterministic row order (incremental reads order by the cursor). Incremental reads also recognise rows read before by these columns and the cursor (see `incremental.primaryKey`).',
      ),
    pageBy: z
      .strictObject({
        columns: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .describe(
            "Key columns to page by, in order; they must include every column of the table's primary key or of a unique key. Default: `primaryKey` if given, else the table's primary key (or its first unique key on NOT NULL columns); an incremental read puts its cursor first.",
          ),
        size: z
          .int()
          .positive()
          .default(100_000)
          .describe('Rows per page: each page is one short query.'),
      })
      .optional()
      .describe(
        'Read `table` in pages by key (`WHERE key > last key ORDER BY key LIMIT size`) instead of one long query, so no query or snapshot stays open for the whole read. Key values must not be NULL.',
      ),
  })
  .refine(hasOneEndpoint, endpointProblem)
  .refine((config) => (config.table === undefined) !== (config.query === undefined), {
    message: 'give either table or query (not both, not neither)',
    path: ['table'],
  })
  .refine((config) => config.query === undefined || config.columns === undefined, {
    message: 'columns goes with table; select the columns in the query instead',
    path: ['columns'],
  })
  .refine((config) => config.query === undefined || config.pageBy === undefined, {
    message: 'pageBy goes with table: a query is read in one statement',
    path: ['pageBy'],
  })
  .describe('Reads a MySQL or MariaDB table or query, fully or incrementally by a cursor column.');

/**
 * Config of the `mysql` sink.
 *
 * @example
 * ```ts
 * mysqlSinkConfig.parse({ host: 'db', user: 'etl', database: 'shop', table: 'orders', mode: 'merge', keys: ['order_id'] });
 * ```
 */
export const mysqlSinkConfig = z
  .strictObject({
    ...connectionFields,
    table: z
      .string()
      .min(1)
      .describe('Table to write, optionally `database.table`; created when missing.'),
    mode: z
      .enum(['append', 'overwrite', 'merge', 'delete_insert'])
      .default('append')
      .describe(
        '`append` inserts the rows; `overwrite` replaces the contents; `merge` upserts by `keys` (INSERT ... ON DUPLICATE KEY UPDATE; the table needs a unique key on them); `delete_insert` deletes the rows whose keys are in the input, then inserts. Each is one transaction.',
      ),
    keys: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Key columns for `merge` and `delete_insert`; a created table gets them as its primary key.',
      ),
    createTable: z
      .boolean()
      .default(true)
      .describe('Create the table from the input columns when it does not exist.'),
    load: z
      .enum(['auto', 'load_data', 'insert'])
      .default('auto')
      .describe(
        'How rows reach the staging table: `load_data` streams them with `LOAD DATA LOCAL INFILE` (fastest; the server needs `local_infile` ON) and fails when the server refuses it; `insert` sends multi-row INSERTs; `auto` uses LOAD DATA when the server allows it, else INSERTs.',
      ),
    batchSize: z
      .int()
      .positive()
      .default(1_000)
      .describe('Rows per multi-row INSERT into the staging table (when rows are inserted).'),
  })
  .refine(hasOneEndpoint, endpointProblem)
  .refine(hasKeysForMerge, KEYS_FOR_MERGE)
  .describe(
    'Writes a MySQL or MariaDB table: rows are staged in a side table and applied in one transaction when the run succeeds.',
  );

/**
 * The `mysql` source's config as written in a pipeline.
 *
 * @example
 * ```ts
 * const config: MySQLSourceConfig = { url: 'mysql://etl@db/shop', table: 'orders' };
 * ```
 */
export type MySQLSourceConfig = z.input<typeof mysqlSourceConfig>;

/**
 * The `mysql` sink's config as written in a pipeline.
 *
 * @example
 * ```ts
 * const config: MySQLSinkConfig = { url: 'mysql://etl@db/shop', table: 'orders', mode: 'overwrite' };
 * ```
 */
export type MySQLSinkConfig = z.input<typeof mysqlSinkConfig>;

/**
 * The connection part of either config, after validation.
 *
 * @example
 * ```ts
 * const connection: MySQLConnectionConfig = { host: 'db', user: 'etl', connectTimeoutMs: 10_000 };
 * ```
 */
export interface MySQLConnectionConfig {
  readonly url?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly database?: string | undefined;
  readonly connectTimeoutMs: number;
}
