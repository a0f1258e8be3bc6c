import type { Field } from '../../core/types.js';
import type { ClickHouseColumn } from './clickhouse-client.js';
import { quoteClickHouseIdentifier } from './clickhouse-client.js';
import type { ClickHouseFeatures } from './clickhouse-types.js';
import { clickhouseColumnType } from './clickhouse-types.js';

/**
 * How a table the sink creates is laid out (from the sink's config).
 *
 * @example
 * ```ts
 * const layout: TableLayout = { engine: 'MergeTree', keys: ['id'], partitionBy: 'toYYYYMM(day)' };
 * ```
 */
export interface TableLayout {
  readonly engine: string;
  readonly orderBy?: string | readonly string[] | undefined;
  readonly partitionBy?: string | undefined;
  readonly keys: readonly string[];
}

/**
 * The columns a created table sorts or partitions by: those named in `orderBy` (else the keys)
 * and the input columns that an `orderBy` or `partitionBy` expression mentions. They are created
 * without `Nullable`, since MergeTree sort and partition keys cannot hold NULL on most servers.
 *
 * @example
 * ```ts
 * keyColumns({ engine: 'MergeTree', keys: ['id'], partitionBy: 'toYYYYMM(day)' }, ['id', 'day', 'note']); // ['id', 'day']
 * ```
 */
export function keyColumns(layout: TableLayout, columns: readonly string[]): readonly string[] {
  const expressions = [
    layout.partitionBy,
    typeof layout.orderBy === 'string' ? layout.orderBy : undefined,
  ];
  const mentioned = new Set(
    expressions.flatMap((e) =>
      e === undefined
        ? []
        : [...e.matchAll(/`((?:[^`\\]|\\.)*)`|([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) =>
            m[1] === undefined ? (m[2] ?? '') : m[1].replaceAll(/\\(.)/g, '$1'),
          ),
    ),
  );
  const named = typeof layout.orderBy === 'string' ? [] : (layout.orderBy ?? layout.keys);
  return columns.filter((c) => named.includes(c) || mentioned.has(c));
}

/**
 * The columns of a table created for `fields`, with their ClickHouse types.
 *
 * @example
 * ```ts
 * createdColumns(fields, layout, features); // [{ name: 'id', type: 'Int64' }, { name: 'note', type: 'Nullable(String)' }]
 * ```
 */
export function createdColumns(
  fields: readonly Field[],
  layout: TableLayout,
  features: ClickHouseFeatures,
): ClickHouseColumn[] {
  const sorted = new Set(
    keyColumns(
      layout,
      fields.map((f) => f.name),
    ),
  );
  return fields.map((f) => ({
    name: f.name,
    type: clickhouseColumnType(f.type, f.nullable && !sorted.has(f.name), features),
  }));
}

/**
 * `CREATE TABLE` for `columns` with the layout's engine, partitioning and sort key (default
 * `tuple()`, no sort key). `name` is already quoted.
 *
 * @example
 * ```ts
 * createTableStatement('`shop`.`orders`', [{ name: 'id', type: 'Int64' }], { engine: 'MergeTree', keys: ['id'] });
 * // "CREATE TABLE `shop`.`orders` (`id` Int64) ENGINE = MergeTree ORDER BY (`id`)"
 * ```
 */
export function createTableStatement(
  name: string,
  columns: readonly ClickHouseColumn[],
  layout: TableLayout,
): string {
  const definitions = columns.map((c) => `${quoteClickHouseIdentifier(c.name)} ${c.type}`);
  const sorted = typeof layout.orderBy === 'string' ? [] : (layout.orderBy ?? layout.keys);
  const orderBy =
    typeof layout.orderBy === 'string'
      ? layout.orderBy
      : sorted.length === 0
        ? 'tuple()'
        : `(${sorted.map(quoteClickHouseIdentifier).join(', ')})`;
  const partition = layout.partitionBy === undefined ? '' : ` PARTITION BY ${layout.partitionBy}`;
  return `CREATE TABLE ${name} (${definitions.join(', ')}) ENGINE = ${layout.engine}${partition} ORDER BY ${orderBy}`;
}

/**
 * `ALTER TABLE ... ADD COLUMN` for each of `columns` (none: undefined). `name` is already quoted.
 *
 * @example
 * ```ts
 * addColumnsStatement('`shop`.`orders`', [{ name: 'note', type: 'Nullable(String)' }]);
 * // "ALTER TABLE `shop`.`orders` ADD COLUMN `note` Nullable(String)"
 * ```
 */
export function addColumnsStatement(
  name: string,
  columns: readonly ClickHouseColumn[],
): string | undefined {
  if (columns.length === 0) return undefined;
  const additions = columns.map((c) => `ADD COLUMN ${quoteClickHouseIdentifier(c.name)} ${c.type}`);
  return `ALTER TABLE ${name} ${additions.join(', ')}`;
}
