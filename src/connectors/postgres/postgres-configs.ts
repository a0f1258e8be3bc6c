import { z } from 'zod';
import {
  CHANGE_MERGE_ONLY,
  changeMergeFields,
  usesChangeOptionsInMergeOnly,
  KEYS_FOR_MERGE,
  hasKeysForMerge,
} from '../../core/merge-options.js';

const connectionURL = z
  .string()
  .regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL')
  .describe(
    'Connection URL, `postgres://user:password@host:port/database` (libpq parameters such as `?sslmode=require` work).',
  );

/**
 * Config of `source.postgres`: a table or a query, read with `COPY ... TO STDOUT`.
 *
 * @example
 * ```ts
 * postgresSourceConfig.parse({ url: 'postgres://127.0.0.1/shop', table: 'public.orders' });
 * ```
 */
export const postgresSourceConfig = z
  .strictObject({
    url: connectionURL,
    table: z
      .string()
      .min(1)
      .optional()
      .describe('The table (or view) to read, optionally schema-qualified: `sales.orders`.'),
    query: z
      .string()
      .min(1)
      .optional()
      .describe('A SELECT to read instead of a table; it runs in a read-only transaction.'),
    columns: z.array(z.string().min(1)).optional().describe('Columns to read (default: all).'),
    where: z
      .string()
      .min(1)
      .optional()
      .describe('A SQL predicate applied on the server (PostgreSQL syntax).'),
    parallel: z
      .strictObject({
        column: z.string().min(1),
        partitions: z.int().min(2).max(32),
      })
      .optional()
      .describe(
        'Read in `partitions` ranges of a numeric, date or timestamp `column` at once, each on its own connection, all in one exported snapshot (one consistent read). Worth it for large tables with an index on the column.',
      ),
    lagWindow: z
      .union([z.string().min(1), z.number().nonnegative()])
      .optional()
      .describe(
        "With `incremental`: re-read rows this far before the watermark, for transactions that committed late (an interval such as `'10 minutes'` or `'10m'` for time cursors, a number for numeric ones). Rows an earlier run read are dropped before any sink, so an append sink gets each row once. Same as `incremental.lagWindow`.",
      ),
  })
  .refine((config) => (config.table === undefined) !== (config.query === undefined), {
    message: 'give either table or query (exactly one)',
    path: ['table'],
  })
  .refine((config) => config.query === undefined || config.columns === undefined, {
    message: 'columns goes with table; select the columns in the query instead',
    path: ['columns'],
  })
  .describe('Reads a PostgreSQL table or query, fully or incrementally by a cursor column.');

export type PostgresSourceConfig = z.input<typeof postgresSourceConfig>;

/**
 * Config of `sink.postgres`: the target table and how rows land in it.
 *
 * @example
 * ```ts
 * postgresSinkConfig.parse({ url: 'postgres://127.0.0.1/shop', table: 'orders', mode: 'merge', keys: ['id'] });
 * ```
 */
export const postgresSinkConfig = z
  .strictObject({
    url: connectionURL,
    table: z
      .string()
      .min(1)
      .describe(
        'The target table, optionally schema-qualified; created from the data when missing.',
      ),
    mode: z
      .enum(['append', 'overwrite', 'merge', 'delete_insert'])
      .default('append')
      .describe(
        '`append` inserts the rows; `overwrite` replaces the contents; `merge` upserts by `keys` (INSERT ... ON CONFLICT); `delete_insert` deletes every row whose keys appear in the data, then inserts the data (for keys that are not unique).',
      ),
    keys: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Key columns of `merge` and `delete_insert`; a new table gets them as its primary key for `merge`.',
      ),
    createTable: z
      .boolean()
      .default(true)
      .describe(
        'Create the table when it is missing, and add columns the data has and the table lacks.',
      ),
    ...changeMergeFields('the last in input order wins'),
  })
  .refine(hasKeysForMerge, KEYS_FOR_MERGE)
  .refine(usesChangeOptionsInMergeOnly, CHANGE_MERGE_ONLY)
  .describe(
    'Writes a PostgreSQL table: rows are copied into a staging table, then applied in one transaction when the run succeeds.',
  );

export type PostgresSinkConfig = z.input<typeof postgresSinkConfig>;

/**
 * Config of `source.postgresCdc`: the table whose changes to read, and optionally the names of
 * the replication slot and publication to use.
 *
 * @example
 * ```ts
 * postgresCdcSourceConfig.parse({ url: 'postgres://127.0.0.1/shop', table: 'public.orders' });
 * ```
 */
export const postgresCdcSourceConfig = z
  .strictObject({
    url: connectionURL,
    table: z.string().min(1).describe('The table to follow, optionally schema-qualified.'),
    slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, 'lower-case letters, digits and underscores, at most 63')
      .optional()
      .describe(
        'The logical replication slot (default: derived from the table and step id). Give each pipeline that follows the same table its own slot.',
      ),
    publication: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The publication to read (default: the slot name); created for the table when missing.',
      ),
    snapshot: z
      .enum(['initial', 'never'])
      .default('initial')
      .describe(
        '`initial` reads the whole table (as `snapshot` rows) on the first run; `never` starts with the changes.',
      ),
  })
  .describe(
    'Changes of a PostgreSQL table from logical replication (pgoutput), after an initial snapshot.',
  );

export type PostgresCdcSourceConfig = z.input<typeof postgresCdcSourceConfig>;
