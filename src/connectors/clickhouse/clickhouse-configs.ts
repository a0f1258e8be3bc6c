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
  .regex(/^https?:\/\/[^/]/, 'an http:// or https:// URL')
  .describe(
    "The server's HTTP interface and database: `http://user:password@host:8123/database` (or `https://`). Percent-encode special characters in the user and password; without a path the database is `default`.",
  );

/**
 * Config of `sink.clickhouse`: the target table, the write mode and how a created table is laid
 * out.
 *
 * @example
 * ```ts
 * clickhouseSinkConfig.parse({ url: 'http://127.0.0.1:8123/shop', table: 'orders', mode: 'merge', keys: ['id'] });
 * ```
 */
export const clickhouseSinkConfig = z
  .strictObject({
    url: connectionURL,
    table: z
      .string()
      .regex(/^[^.]+(\.[^.]+)?$/, '`table` or `database.table`')
      .describe(
        "The target table, `database.table` or `table` (in the url's database); created from the data when missing.",
      ),
    mode: z
      .enum(['append', 'overwrite', 'merge', 'delete_insert'])
      .default('append')
      .describe(
        '`append` adds the rows; `overwrite` replaces the contents; `merge` upserts by `keys` (the latest input row per key replaces the old row); `delete_insert` replaces every row whose keys appear in the input with the input rows of those keys.',
      ),
    keys: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Key columns of `merge` and `delete_insert`, compared null-safely; the default sort key of a created table.',
      ),
    createTable: z
      .boolean()
      .default(true)
      .describe(
        'Create the table when it is missing, and add input columns the table lacks (as Nullable columns).',
      ),
    orderBy: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        'Sort key of a created table: column names (`["customer_id", "day"]`) or a ClickHouse expression (`"(customer_id, toDate(created))"`). Default: `keys`, else `tuple()` (no sort key). Input columns it names are created without Nullable.',
      ),
    partitionBy: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Partition expression of a created table, e.g. `toYYYYMM(created)`; input columns it names are created without Nullable. Default: unpartitioned.',
      ),
    engine: z
      .string()
      .regex(
        /^(?!Replicated)[A-Za-z]*MergeTree(\(.*\))?$/s,
        'a MergeTree-family engine such as MergeTree or ReplacingMergeTree(version); replicated engines are not supported',
      )
      .default('MergeTree')
      .describe(
        'Engine of a created table, a non-replicated MergeTree family engine: `MergeTree`, `ReplacingMergeTree(updated_at)`, `SummingMergeTree`...',
      ),
    ...changeMergeFields('the last in input order wins'),
  })
  .refine(hasKeysForMerge, KEYS_FOR_MERGE)
  .refine(usesChangeOptionsInMergeOnly, CHANGE_MERGE_ONLY)
  .describe(
    'Writes a ClickHouse table over HTTP: rows are loaded into a staging table, then attached or swapped in when the run succeeds.',
  );

/** The config a `sink.clickhouse` step takes (defaults optional). */
export type ClickHouseSinkConfig = z.input<typeof clickhouseSinkConfig>;

/**
 * Config of `source.clickhouse`: a table (optionally some columns and a predicate) or a query.
 *
 * @example
 * ```ts
 * clickhouseSourceConfig.parse({ url: 'http://127.0.0.1:8123/shop', table: 'orders', where: 'amount > 0' });
 * ```
 */
export const clickhouseSourceConfig = z
  .strictObject({
    url: connectionURL,
    table: z
      .string()
      .regex(/^[^.]+(\.[^.]+)?$/, '`table` or `database.table`')
      .optional()
      .describe(
        "The table (or view) to read, `database.table` or `table` (in the url's database).",
      ),
    query: z.string().min(1).optional().describe('A ClickHouse SELECT to read instead of a table.'),
    columns: z.array(z.string().min(1)).optional().describe('Columns to read (default: all).'),
    where: z.string().min(1).optional().describe('A ClickHouse predicate applied on the server.'),
  })
  .refine((config) => (config.table === undefined) !== (config.query === undefined), {
    message: 'give either table or query (exactly one)',
    path: ['table'],
  })
  .refine(
    (config) =>
      config.query === undefined || (config.columns === undefined && config.where === undefined),
    {
      message: 'columns and where go with table; select and filter in the query instead',
      path: ['query'],
    },
  )
  .describe('Reads a ClickHouse table or query over HTTP.');

/** The config a `source.clickhouse` step takes. */
export type ClickHouseSourceConfig = z.input<typeof clickhouseSourceConfig>;
