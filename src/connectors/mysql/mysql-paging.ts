import type { Connection, RowDataPacket } from 'mysql2/promise';
import { ConfigError, SourceError } from '../../core/errors.js';
import { quoteMySQLIdentifier, quoteMySQLName, splitMySQLTableName } from './mysql-client.js';
import type { MySQLPredicate } from './mysql-incremental.js';
import type { MySQLColumn, MySQLTypeName } from './mysql-types.js';
import { columnOfField } from './mysql-types.js';

/**
 * How a key column's last value goes back into the next page's predicate, by MySQL type; types
 * missing here cannot page (their order and their comparison with a parameter disagree, or
 * equal values compare unequal, as floats do).
 */
const KEY_PARAMETERS: Partial<Record<MySQLTypeName, (c: MySQLColumn) => string>> = {
  tinyint: integerParameter,
  smallint: integerParameter,
  mediumint: integerParameter,
  int: integerParameter,
  bigint: integerParameter,
  year: () => '?',
  decimal: (c) => `CAST(? AS DECIMAL(${Math.max(c.length, 1)},${c.scale}))`,
  date: () => 'CAST(? AS DATE)',
  datetime: () => 'CAST(? AS DATETIME(6))',
  timestamp: () => 'CAST(? AS DATETIME(6))',
  time: () => 'CAST(? AS TIME(6))',
  char: () => '?',
  varchar: () => '?',
  binary: () => '?',
  varbinary: () => '?',
};

function integerParameter(c: MySQLColumn): string {
  // Integers arrive as text; a typed cast keeps 64-bit values exact in the comparison.
  return c.unsigned ? 'CAST(? AS UNSIGNED)' : 'CAST(? AS SIGNED)';
}

const ZERO_DATE = /^0000-00-00/;

/**
 * The key a paged read walks: its columns in order, each with the placeholder its last value
 * takes in the next page's predicate.
 *
 * @example
 * ```ts
 * const key: PageKey = { columns: [idColumn], parameters: ['CAST(? AS SIGNED)'] };
 * ```
 */
export interface PageKey {
  readonly columns: readonly MySQLColumn[];
  readonly parameters: readonly string[];
}

/** What {@link resolvePageKey} needs to know about the read. */
interface PageKeyRequest {
  readonly stepId: string;
  readonly table: string;
  /** Key columns the config names (`pageBy.columns`), if any. */
  readonly columns: readonly string[] | undefined;
  /** The config's `primaryKey`, the default key when `columns` is not given. */
  readonly primaryKey: readonly string[] | undefined;
  /** The incremental cursor, which leads the default key. */
  readonly cursor: string | undefined;
}

/**
 * Chooses and checks the key a paged read walks: the named columns, else `primaryKey`, else the
 * table's primary key (or first unique key on NOT NULL columns), with an incremental cursor put
 * first. The key must include every column of a primary or unique key, so no two rows share a
 * key value and no row is skipped at a page boundary.
 *
 * @example
 * ```ts
 * const key = await resolvePageKey(connection, { stepId: 'orders', table: 'orders', columns: undefined, primaryKey: undefined, cursor: undefined });
 * ```
 */
export async function resolvePageKey(
  connection: Connection,
  request: PageKeyRequest,
): Promise<PageKey> {
  const { stepId, table } = request;
  const [, fieldPackets] = await connection.query(
    `SELECT * FROM ${quoteMySQLName(table)} AS __sluice_t LIMIT 0`,
  );
  const tableColumns = (fieldPackets ?? []).map(columnOfField);
  const uniqueKeys = await uniqueKeysOf(connection, table);
  let names: readonly string[];
  if (request.columns !== undefined) names = request.columns;
  else {
    const key = request.primaryKey ?? defaultKey(uniqueKeys, tableColumns);
    if (key === undefined) {
      throw pagingProblem(
        stepId,
        'no-page-key',
        `pageBy needs key columns: ${table} has no primary key and no unique key on NOT NULL columns`,
        'name unique, non-NULL columns in pageBy.columns, add a primary key, or read without pageBy',
      );
    }
    const cursor = request.cursor;
    names =
      cursor === undefined
        ? key
        : [cursor, ...key.filter((k) => k.toLowerCase() !== cursor.toLowerCase())];
  }
  const columns = names.map((name) => {
    const column = tableColumns.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (column === undefined) {
      throw pagingProblem(
        stepId,
        'unknown-page-key',
        `pageBy column "${name}" is not a column of ${table} (it has ${tableColumns.map((c) => `"${c.name}"`).join(', ')})`,
        'name columns of the table in pageBy.columns',
      );
    }
    return column;
  });
  const parameters = columns.map((column) => {
    const parameter = KEY_PARAMETERS[column.typeName];
    if (parameter === undefined) {
      throw pagingProblem(
        stepId,
        'invalid-page-key',
        `pageBy column "${column.name}" is a ${column.typeName} column, which cannot be paged by`,
        'page by integer, decimal, date/time, char/varchar or binary/varbinary columns',
      );
    }
    return parameter(column);
  });
  const chosen = new Set(columns.map((c) => c.name.toLowerCase()));
  if (!uniqueKeys.some((key) => key.columns.every((c) => chosen.has(c.toLowerCase())))) {
    throw pagingProblem(
      stepId,
      'page-key-not-unique',
      `pageBy columns (${columns.map((c) => c.name).join(', ')}) do not include all columns of a primary or unique key of ${table}${
        uniqueKeys.length === 0
          ? ' (it has none)'
          : ` (it has ${uniqueKeys.map((k) => `${k.name} (${k.columns.join(', ')})`).join(', ')})`
      }, so rows sharing a key value could be skipped between pages`,
      'page by the primary key (leave out pageBy.columns), add a unique key, or read without pageBy',
    );
  }
  return { columns, parameters };
}

interface UniqueKey {
  readonly name: string;
  readonly columns: readonly string[];
  readonly nullable: boolean;
}

async function uniqueKeysOf(connection: Connection, table: string): Promise<UniqueKey[]> {
  const { schema, name } = splitMySQLTableName(table);
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT INDEX_NAME AS name, COLUMN_NAME AS column_name, NULLABLE AS nullable
     FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0
     ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX`,
    [schema ?? null, name],
  );
  const keys = new Map<string, { columns: string[]; nullable: boolean }>();
  for (const row of rows) {
    const index = String(row['name']);
    const key = keys.get(index) ?? { columns: [], nullable: false };
    key.columns.push(String(row['column_name']));
    key.nullable ||= String(row['nullable']) === 'YES';
    keys.set(index, key);
  }
  return [...keys].map(([keyName, key]) => ({ name: keyName, ...key }));
}

function defaultKey(
  uniqueKeys: readonly UniqueKey[],
  columns: readonly MySQLColumn[],
): readonly string[] | undefined {
  const pageable = (key: UniqueKey): boolean =>
    key.columns.every((name) => {
      const column = columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
      return column !== undefined && KEY_PARAMETERS[column.typeName] !== undefined;
    });
  return uniqueKeys.find((key) => !key.nullable && pageable(key))?.columns;
}

function pagingProblem(stepId: string, code: string, message: string, hint: string): ConfigError {
  return new ConfigError([{ code, stepId, message, hint }]);
}

/**
 * The predicate selecting rows after `last` in key order, nested so that MySQL and MariaDB scan
 * an index range (a row comparison `(a, b) > (?, ?)` makes MariaDB scan the index from its start):
 * `a > ? OR (a = ? AND b > ?)`.
 *
 * @example
 * ```ts
 * keysetPredicate(key, ['7', 'x']);
 * // { sql: '(`a` > CAST(? AS SIGNED) OR (`a` = CAST(? AS SIGNED) AND (`b` > ?)))', values: ['7', '7', 'x'] }
 * ```
 */
export function keysetPredicate(key: PageKey, last: readonly unknown[]): MySQLPredicate {
  const values: unknown[] = [];
  const after = (i: number): string => {
    const column = quoteMySQLIdentifier((key.columns[i] as MySQLColumn).name);
    const parameter = key.parameters[i] as string;
    values.push(last[i]);
    if (i === key.columns.length - 1) return `${column} > ${parameter}`;
    const greater = `${column} > ${parameter}`;
    values.push(last[i]);
    return `${greater} OR (${column} = ${parameter} AND (${after(i + 1)}))`;
  };
  const sql = `(${after(0)})`;
  return { sql, values };
}

/** The alias a key column is selected under in a page, beside the dataset's own columns. */
function keyAlias(i: number): string {
  return `__sluice_page_key_${i}`;
}

/**
 * What one paged read selects: the table, the dataset's columns and the predicates every page
 * shares (the `where`, an incremental cursor bound).
 *
 * @example
 * ```ts
 * const read: PagedRead = { table: 'orders', select: '*', predicates: [], size: 100_000, description: 'orders' };
 * ```
 */
export interface PagedRead {
  readonly table: string;
  /** The dataset's columns, as a SELECT list (`*` for all). */
  readonly select: string;
  readonly predicates: readonly MySQLPredicate[];
  readonly size: number;
  /** The table as messages name it. */
  readonly description: string;
}

/**
 * The statement and parameters of one page: the rows after `last` (or the first rows) in key
 * order, at most `size` of them, with the key columns also selected under aliases.
 *
 * @example
 * ```ts
 * const { sql, values } = pageQuery(read, key, undefined); // the first page
 * ```
 */
export function pageQuery(
  read: PagedRead,
  key: PageKey,
  last: readonly unknown[] | undefined,
): MySQLPredicate {
  const predicates =
    last === undefined ? read.predicates : [...read.predicates, keysetPredicate(key, last)];
  const names = key.columns.map((c) => quoteMySQLIdentifier(c.name));
  const sql = [
    `SELECT ${read.select}, ${names.map((n, i) => `${n} AS ${keyAlias(i)}`).join(', ')}`,
    `FROM ${quoteMySQLName(read.table)}`,
    predicates.length === 0 ? '' : `WHERE ${predicates.map((p) => p.sql).join(' AND ')}`,
    `ORDER BY ${names.join(', ')} LIMIT ${read.size}`,
  ]
    .filter((part) => part !== '')
    .join(' ');
  return { sql, values: predicates.flatMap((p) => p.values) };
}

/**
 * Reads a table page by page, each page one short statement that starts after the last key of
 * the page before, so no query or snapshot stays open for the whole read. A NULL (or zero-date)
 * key value stops the read with an error: such a row cannot be placed between pages.
 *
 * @example
 * ```ts
 * const run = (sql: string, values: readonly unknown[]) => streamRows(connection, sql, values, 10_000);
 * for await (const row of readPages(read, key, 'orders', run)) use(row);
 * ```
 */
export async function* readPages(
  read: PagedRead,
  key: PageKey,
  stepId: string,
  run: (sql: string, values: readonly unknown[]) => AsyncIterable<Record<string, unknown>>,
): AsyncGenerator<Record<string, unknown>> {
  let last: unknown[] | undefined;
  for (;;) {
    const page = pageQuery(read, key, last);
    let rows = 0;
    for await (const row of run(page.sql, page.values)) {
      rows++;
      last = key.columns.map((column, i) => {
        const value = row[keyAlias(i)];
        if (value === null || value === undefined)
          throw badKey(stepId, read, column, 'is NULL in a row');
        if (typeof value === 'string' && ZERO_DATE.test(value))
          throw badKey(stepId, read, column, `holds the zero date ${JSON.stringify(value)}`);
        return value;
      });
      yield row;
    }
    if (rows < read.size) return;
  }
}

function badKey(stepId: string, read: PagedRead, column: MySQLColumn, what: string): SourceError {
  return new SourceError(
    stepId,
    `cannot read ${read.description} in pages: key column "${column.name}" ${what}, so the row has no place in the key order`,
    {
      hint: 'page by NOT NULL columns such as the primary key (pageBy.columns), fix the rows, or read without pageBy',
    },
  );
}
