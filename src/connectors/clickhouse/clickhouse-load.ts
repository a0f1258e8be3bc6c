import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SinkError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SinkWriteContext } from '../../contracts/batch-connector.js';
import type { ClickHouseColumn, ClickHouseConnection } from './clickhouse-client.js';
import { quoteClickHouseIdentifier, quoteClickHouseName } from './clickhouse-client.js';
import type { ClickHouseFeatures } from './clickhouse-types.js';
import { baseClickHouseType, clickhouseText, outOfRange } from './clickhouse-types.js';

/**
 * Fails the step, before anything is loaded, when the input holds values the ClickHouse table
 * would not store as they are: dates and times outside the range of `Date`/`DateTime` (which
 * ClickHouse turns into other dates rather than refusing), and nulls in columns that are not
 * `Nullable` (such as the sort key of a created table). `relation` is the DuckDB relation of the
 * rows to be stored. Every problem is listed in one error.
 *
 * @example
 * ```ts
 * await refuseUnstorableValues(context, context.input, fields, features, rowsColumns);
 * ```
 */
export async function refuseUnstorableValues(
  context: SinkWriteContext,
  relation: string,
  fields: readonly Field[],
  features: ClickHouseFeatures,
  columns: readonly ClickHouseColumn[],
): Promise<void> {
  const typeOf = new Map(columns.map((c) => [c.name, c.type]));
  const checks: { predicate: string; problem: (count: number) => string }[] = [];
  for (const field of fields) {
    const column = quoteIdentifier(field.name);
    const range = outOfRange(column, field.type, features);
    if (range !== undefined)
      checks.push({
        predicate: range.predicate,
        problem: (n) =>
          `column "${field.name}" has ${n} value(s) ClickHouse cannot store (${range.reason})`,
      });
    const type = typeOf.get(field.name) ?? '';
    if (field.nullable && !/^(LowCardinality\()?(Nullable|Array)\(/.test(type))
      checks.push({
        predicate: `${column} IS NULL`,
        problem: (n) =>
          `column "${field.name}" has ${n} null value(s), but the ClickHouse column is ${type}, not Nullable`,
      });
  }
  if (checks.length === 0) return;
  const counts = checks.map((c, i) => `count(*) FILTER (WHERE ${c.predicate}) AS c${i}`);
  const [row] = await context.connection.rows(`SELECT ${counts.join(', ')} FROM ${relation}`);
  const problems = checks
    .map((check, i) => ({ check, count: Number(row?.[`c${i}`] ?? 0) }))
    .filter(({ count }) => count > 0)
    .map(({ check, count }) => check.problem(count));
  if (problems.length > 0)
    throw new SinkError(context.stepId, problems.join('; '), {
      hint: 'fix or filter these rows in a step before the sink; sort-key columns of a ClickHouse table cannot hold NULL',
    });
}

/**
 * The DuckDB select list that writes `fields` as ClickHouse TabSeparated text.
 *
 * @example
 * ```ts
 * textColumns(fields, features); // ['CAST("id" AS VARCHAR) AS "id"', ...]
 * ```
 */
export function textColumns(fields: readonly Field[], features: ClickHouseFeatures): string[] {
  return fields.map(
    (f) =>
      `${clickhouseText(quoteIdentifier(f.name), f.type, features)} AS ${quoteIdentifier(f.name)}`,
  );
}

/**
 * Writes the rows of a DuckDB `select` (whose columns are already ClickHouse text) to a
 * TabSeparated file in a temporary folder, streams the file into `database.table`, and checks that
 * the table then holds as many rows as were written. Returns that count.
 *
 * @example
 * ```ts
 * const rows = await loadSelect(context, connection, 'shop', 'orders__sluice_stage_..._rows', ['id', 'name'], 'SELECT ...');
 * ```
 */
export async function loadSelect(
  context: SinkWriteContext,
  connection: ClickHouseConnection,
  database: string,
  table: string,
  columns: readonly string[],
  select: string,
): Promise<number> {
  const folder = await mkdtemp(join(tmpdir(), 'sluice-clickhouse-'));
  try {
    const file = join(folder, 'rows.tsv');
    const exported = await context.connection.run(
      `COPY (${select}) TO ${quoteLiteral(file)} (FORMAT csv, HEADER false, DELIMITER '\t', QUOTE '', ESCAPE '', NULLSTR '\\N')`,
    );
    context.signal.throwIfAborted();
    const name = quoteClickHouseName(database, table);
    await connection.insert(
      name,
      columns.map(quoteClickHouseIdentifier),
      createReadStream(file),
      'TabSeparated',
      context.signal,
    );
    const [count] = await connection.rows<{ n: string }>(
      `SELECT count() AS n FROM ${name}`,
      context.signal,
    );
    const loaded = Number(count?.n ?? 0);
    if (loaded !== exported)
      throw new SinkError(
        context.stepId,
        `${exported} rows were sent to ${database}.${table} but it holds ${loaded}`,
        { hint: 'nothing was published; run again, and check the server log if it repeats' },
      );
    return exported;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Whether every field's column in the ClickHouse table has the type the mapping gives it
 * (ignoring nullability), so the text the mapping writes loads into it directly.
 *
 * @example
 * ```ts
 * sameTypes(fields, columns, (f) => mapType(mapping, f.type));
 * ```
 */
export function sameTypes(
  fields: readonly Field[],
  columns: readonly ClickHouseColumn[],
  mapped: (field: Field) => string,
): boolean {
  const typeOf = new Map(columns.map((c) => [c.name, baseClickHouseType(c.type)]));
  return fields.every((f) => typeOf.get(f.name) === baseClickHouseType(mapped(f)));
}
