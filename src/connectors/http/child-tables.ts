import { SourceError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../contracts/engine-connection.js';
import { typedFromJSON } from '../../contracts/schema-enforcement.js';
import type { RecordColumn } from './record-columns.js';
import { jsonPathLiteral, jsonPathText, recordColumns, scalarType } from './record-columns.js';
import { exactJSONStructure } from '../shared/json-number-types.js';

/** One array of the records that becomes a child dataset. */
export interface ChildTable {
  /** As declared: `items.discounts`. */
  readonly path: string;
  /** The dataset is `<stepId>__<suffix>`: `items__discounts`. */
  readonly suffix: string;
  /** The suffix of the child table whose rows hold the array; undefined for the records. */
  readonly parent: string | undefined;
  /** Keys from a row of the parent to the array (`['discounts']`). */
  readonly keys: readonly string[];
}

/** A primary key column of the records, carried by child rows as `_sluice_root_<name>`. */
export interface RecordKey {
  readonly field: Field;
  /** Keys from the record to the value. */
  readonly keys: readonly string[];
}

/** Columns every child row has, after its data columns. */
const PARENT_ID = '_sluice_parent_id';
const LIST_INDEX = '_sluice_list_idx';
/** The id column of every row of the step's dataset and of its child datasets. */
export const ROW_ID = '_sluice_id';
const RESERVED = '_sluice_';

/**
 * The child tables of declared dotted paths, parents before their children. A path's parent is
 * the longest other declared path it starts with (`items` for `items.discounts`); the keys
 * after it may cross nested objects (`customer.addresses` reads `addresses` in `customer`).
 *
 * @example
 * ```ts
 * planChildTables(['items', 'items.discounts']);
 * // [{ path: 'items', suffix: 'items', parent: undefined, keys: ['items'] },
 * //  { path: 'items.discounts', suffix: 'items__discounts', parent: 'items', keys: ['discounts'] }]
 * ```
 */
export function planChildTables(paths: readonly string[]): ChildTable[] {
  const depth = (path: string): number => path.split('.').length;
  return [...paths]
    .sort((a, b) => depth(a) - depth(b))
    .map((path) => {
      const segments = path.split('.');
      for (let length = segments.length - 1; length > 0; length--) {
        const prefix = segments.slice(0, length).join('.');
        if (paths.includes(prefix))
          return {
            path,
            suffix: segments.join('__'),
            parent: prefix.replaceAll('.', '__'),
            keys: segments.slice(length),
          };
      }
      return { path, suffix: segments.join('__'), parent: undefined, keys: segments };
    });
}

/**
 * The dataset suffixes declared child-table paths produce (`items.discounts` ->
 * `items__discounts`).
 *
 * @example
 * ```ts
 * childTableSuffixes(['items', 'items.discounts']); // ['items', 'items__discounts']
 * ```
 */
export function childTableSuffixes(paths: readonly string[]): string[] {
  return paths.map((path) => path.replaceAll('.', '__'));
}

/**
 * SQL of a record's `_sluice_id`: its primary key values as a JSON list (`[1]`, the same in
 * every run) when there is a key, else `<runId>:<n>` with `n` its position among the records the
 * run read. Child rows append their list index to their parent's id (`run_x:7.0.2`), so ids are
 * unique in each dataset by construction, cheap to build, and compress well.
 *
 * @example
 * ```ts
 * recordIdSQL({ runId: 'run_1', record: 'rowid', keyValues: undefined });
 * // "'run_1:' || rowid"
 * ```
 */
export function recordIdSQL(options: {
  readonly runId: string;
  /** SQL of the record's position in the staging table. */
  readonly record: string;
  /** SQL of each key value as JSON, in key order; undefined without a primary key. */
  readonly keyValues: readonly string[] | undefined;
}): string {
  return options.keyValues === undefined
    ? `${quoteLiteral(`${options.runId}:`)} || ${options.record}`
    : `CAST([${options.keyValues.join(', ')}] AS VARCHAR)`;
}

/** What {@link stageChildTables} needs. */
export interface StageChildTablesOptions {
  readonly connection: EngineConnection;
  readonly stepId: string;
  readonly runId: string;
  /** The quoted staging table of the records (`__sluice_line`, `__sluice_url`). */
  readonly stage: string;
  /** The merged shape of the records (`json_group_structure`). */
  readonly structure: unknown;
  readonly tables: readonly ChildTable[];
  readonly primaryKey: readonly RecordKey[];
}

/** A typed child table, not yet visible under its dataset name. */
export interface StagedChildTable {
  /** The dataset name, `<stepId>__<suffix>`. */
  readonly name: string;
  /** The quoted table holding its typed rows and bookkeeping columns. */
  readonly typed: string;
  readonly fields: readonly Field[];
  readonly rows: number;
}

/** Child tables typed in DuckDB, and the records they found at fault. */
export interface StagedChildTables {
  readonly tables: readonly StagedChildTable[];
  /**
   * The quoted temporary table of records to quarantine (`__sluice_record`, `reason`): a
   * declared array that holds something else, or an element value that does not convert.
   * Undefined when there are none.
   */
  readonly badRecords: string | undefined;
}

/** Where the shape of the values at a child table's path says they are. */
type ArrayAt =
  | { readonly kind: 'array'; readonly element: unknown }
  | { readonly kind: 'absent' }
  | { readonly kind: 'mixed' };

/**
 * Unnests the declared arrays of the staged records into typed child tables, level by level,
 * all in SQL: each level lists its arrays' elements with one `json_extract(..., '$.path[*]')`
 * per row of its parent, `unnest` makes them rows, and one vectorised `json_extract` types their
 * columns (inferred from the records' merged shape, nested objects flattened to `a__b`).
 * Every row gets `_sluice_id` (its parent's id and its list index, see {@link recordIdSQL}),
 * `_sluice_parent_id` and `_sluice_list_idx`, plus the record's primary key as
 * `_sluice_root_<column>`.
 *
 * @example
 * ```ts
 * const staged = await stageChildTables({ connection, stepId: 'orders', runId, stage, structure, tables: planChildTables(['items']), primaryKey: [] });
 * ```
 */
export async function stageChildTables(
  options: StageChildTablesOptions,
): Promise<StagedChildTables> {
  const { connection, stepId } = options;
  const bad = quoteIdentifier(`__sluice_rest_bad_${stepId}`);
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${bad} (__sluice_record BIGINT, reason VARCHAR)`,
  );
  const rowShapes = new Map<string | undefined, unknown>([[undefined, options.structure]]);
  const nodeRelations = new Map<string | undefined, string>([[undefined, options.stage]]);
  const temporary: string[] = [];
  const staged: StagedChildTable[] = [];
  let badRows = 0;
  try {
    for (const table of options.tables) {
      const name = `${stepId}__${table.suffix}`;
      const parentRows = nodeRelations.get(table.parent) as string;
      const parentJSON = table.parent === undefined ? '__sluice_line' : '__sluice_json';
      const parentRecord = table.parent === undefined ? 'rowid' : '__sluice_record';
      const at = arrayAt(rowShapes.get(table.parent), table, stepId);
      if (at.kind === 'mixed') {
        const path = jsonPathLiteral(table.keys);
        badRows += await connection.run(
          `INSERT INTO ${bad}
           SELECT ${parentRecord}, ${quoteLiteral(`child table "${name}": "${table.keys.join('.')}" holds `)} || json_type(${parentJSON}, ${path}) || ', not an array'
           FROM ${parentRows}
           WHERE json_type(${parentJSON}, ${path}) NOT IN ('ARRAY', 'NULL')`,
        );
      }
      const nodesSQL = nodesQuery(options, table, parentRows);
      let nodes = `(${nodesSQL})`;
      if (options.tables.some((t) => t.parent === table.suffix)) {
        nodes = quoteIdentifier(`__sluice_rest_nodes_${name}`);
        await connection.run(`CREATE OR REPLACE TEMP TABLE ${nodes} AS ${nodesSQL}`);
        temporary.push(nodes);
      }
      const shape =
        at.kind === 'array'
          ? at.element
          : at.kind === 'mixed'
            ? await elementShape(connection, nodes)
            : undefined;
      rowShapes.set(table.suffix, shape);
      nodeRelations.set(table.suffix, nodes);
      const exclude = options.tables.filter((t) => t.parent === table.suffix).map((t) => t.keys);
      const columns = elementColumns(shape, exclude);
      const reserved = columns.find((c) => c.name.toLowerCase().startsWith(RESERVED));
      if (reserved !== undefined)
        throw new SourceError(
          stepId,
          `child table "${name}" has a column "${reserved.name}"; names starting with ${RESERVED} are reserved for row keys`,
          { hint: 'rename the key in the API response, or keep this array as JSON' },
        );
      const typed = await createTypedTable(options, name, columns, nodes);
      if (typed.checked) {
        badRows += await connection.run(
          `INSERT INTO ${bad} SELECT __sluice_record, __sluice_problem FROM ${typed.table} WHERE __sluice_problem IS NOT NULL`,
        );
      }
      staged.push({ name, typed: typed.table, fields: typed.fields, rows: typed.rows });
    }
  } finally {
    for (const table of temporary) await connection.run(`DROP TABLE IF EXISTS ${table}`);
  }
  if (badRows === 0) await connection.run(`DROP TABLE ${bad}`);
  return { tables: staged, badRecords: badRows === 0 ? undefined : bad };
}

/**
 * Makes the staged child tables visible under their dataset names. When some records did not
 * make it into the step's dataset (quarantined, or left out by the watermark), only child rows
 * of records that did are kept, so no child row points at a missing parent.
 *
 * @example
 * ```ts
 * const children = await publishChildTables(connection, 'orders', staged, { recordsLeftOut: true });
 * ```
 */
export async function publishChildTables(
  connection: EngineConnection,
  stepId: string,
  staged: StagedChildTables,
  options: { readonly recordsLeftOut: boolean },
): Promise<{ name: string; fields: readonly Field[]; rowsRead: number }[]> {
  const published: { name: string; fields: readonly Field[]; rowsRead: number }[] = [];
  for (const table of staged.tables) {
    const columns = table.fields.map((f) => quoteIdentifier(f.name)).join(', ');
    const name = quoteIdentifier(table.name);
    await dropRelation(connection, table.name);
    let rows = table.rows;
    if (options.recordsLeftOut) {
      rows = await connection.run(
        `CREATE TABLE ${name} AS SELECT ${columns} FROM ${table.typed}
         WHERE __sluice_root_id IN (SELECT ${ROW_ID} FROM ${quoteIdentifier(stepId)})`,
      );
      await connection.run(`DROP TABLE ${table.typed}`);
    } else {
      await connection.run(`CREATE VIEW ${name} AS SELECT ${columns} FROM ${table.typed}`);
    }
    published.push({ name: table.name, fields: table.fields, rowsRead: rows });
  }
  return published;
}

/**
 * The shape of the values at `table.keys` in rows of shape `shape`. Fails when the path crosses
 * an array that is not itself a child table.
 */
function arrayAt(shape: unknown, table: ChildTable, stepId: string): ArrayAt {
  let current = shape;
  for (const [index, key] of table.keys.entries()) {
    if (Array.isArray(current) && index === 0) return { kind: 'absent' };
    if (Array.isArray(current)) {
      const crossed = table.path
        .split('.')
        .slice(0, table.path.split('.').length - table.keys.length + index)
        .join('.');
      throw new SourceError(
        stepId,
        `childTables "${table.path}" goes through "${crossed}", which is an array but not a child table`,
        {
          hint: `list "${crossed}" in childTables too, so its elements become rows that "${table.path}" can be read from`,
        },
      );
    }
    if (typeof current !== 'object' || current === null) {
      return current === 'JSON' ? { kind: 'mixed' } : { kind: 'absent' };
    }
    current = (current as Readonly<Record<string, unknown>>)[key];
  }
  if (current === undefined || current === 'NULL') return { kind: 'absent' };
  return Array.isArray(current) ? { kind: 'array', element: current[0] } : { kind: 'mixed' };
}

/** The columns of a child table whose elements have shape `shape`. */
function elementColumns(shape: unknown, exclude: readonly (readonly string[])[]): RecordColumn[] {
  if (shape === undefined) return [];
  if (typeof shape === 'object' && shape !== null && !Array.isArray(shape))
    return recordColumns(shape, 'child_tables', exclude);
  return [{ name: 'value', keys: [], type: scalarType(shape) }];
}

/** The merged shape of a child table's elements, numbers typed to hold every value exactly. */
async function elementShape(connection: EngineConnection, nodes: string): Promise<unknown> {
  return exactJSONStructure(connection, `(SELECT __sluice_json AS __sluice_record FROM ${nodes})`);
}

function rootKeyName(key: RecordKey): string {
  return `_sluice_root_${key.field.name}`;
}

/**
 * SQL listing the elements of `table`'s arrays, one row each, with their ids and the record's
 * key: `unnest` with `generate_subscripts` in one projection (far faster than a lateral join).
 */
function nodesQuery(
  options: StageChildTablesOptions,
  table: ChildTable,
  parentRows: string,
): string {
  const keys = options.primaryKey.map((k) => quoteIdentifier(rootKeyName(k)));
  const list = `json_extract(${table.parent === undefined ? '__sluice_line' : '__sluice_json'}, ${quoteLiteral(`${jsonPathText(table.keys)}[*]`)}) AS __sluice_list`;
  let parents: string;
  if (table.parent === undefined) {
    const withKeys = options.primaryKey.length > 0;
    const rootId = recordIdSQL({
      runId: options.runId,
      record: '__sluice_record',
      keyValues: withKeys
        ? options.primaryKey.map((_k, i) => `__sluice_values[${i + 1}]`)
        : undefined,
    });
    const typedKeys = options.primaryKey.map(
      (k, i) => `${typedFromJSON(k.field, i + 1).typed} AS ${quoteIdentifier(rootKeyName(k))}`,
    );
    const values = withKeys
      ? `, json_extract(__sluice_line, [${options.primaryKey.map((k) => jsonPathLiteral(k.keys)).join(', ')}]) AS __sluice_values`
      : '';
    parents = `SELECT *, __sluice_root_id AS __sluice_parent FROM (
        SELECT __sluice_record, ${rootId} AS __sluice_root_id, ${[...typedKeys, list].join(', ')}
        FROM (SELECT rowid AS __sluice_record, __sluice_line${values} FROM ${parentRows}))`;
  } else {
    parents = `SELECT __sluice_record, __sluice_root_id, ${ROW_ID} AS __sluice_parent, ${[...keys, list].join(', ')}
      FROM ${parentRows}`;
  }
  const carried = ['__sluice_record', '__sluice_root_id', '__sluice_parent', ...keys].join(', ');
  return `SELECT __sluice_record, __sluice_root_id, __sluice_parent AS ${PARENT_ID},
      __sluice_parent || '.' || (__sluice_position - 1) AS ${ROW_ID},
      CAST(__sluice_position - 1 AS BIGINT) AS ${LIST_INDEX}, ${[...keys, '__sluice_json'].join(', ')}
    FROM (
      SELECT ${carried}, unnest(__sluice_list) AS __sluice_json,
        generate_subscripts(__sluice_list, 1) AS __sluice_position
      FROM (${parents}))`;
}

/**
 * Creates the typed table of one child table: its data columns typed from each element, the
 * key columns, and `__sluice_problem` naming a value that does not convert.
 */
async function createTypedTable(
  options: StageChildTablesOptions,
  name: string,
  columns: readonly RecordColumn[],
  nodes: string,
): Promise<{ table: string; fields: Field[]; rows: number; checked: boolean }> {
  const table = quoteIdentifier(`__sluice_typed_${name}`);
  const enforced = columns.map((c, i) =>
    typedFromJSON({ name: c.name, type: c.type, nullable: true }, i + 1),
  );
  const names = columns.map((c) => quoteIdentifier(c.name));
  const rawName = (i: number): string => quoteIdentifier(`__sluice_raw_${i}`);
  const keyFields: Field[] = options.primaryKey.map((k) => ({
    name: rootKeyName(k),
    type: k.field.type,
    nullable: false,
  }));
  const keyColumns = [
    ...keyFields.map((f) => quoteIdentifier(f.name)),
    PARENT_ID,
    LIST_INDEX,
    ROW_ID,
  ];
  const problems = enforced.flatMap((column, i) =>
    column.raw === undefined
      ? []
      : [
          `WHEN ${rawName(i)} IS NOT NULL AND ${names[i]} IS NULL THEN ${quoteLiteral(`child table "${name}": column "${column.field.name}": cannot convert `)} || left(CAST(${rawName(i)} AS VARCHAR), 200) || ${quoteLiteral(` to ${formatType(column.field.type)}`)}`,
        ],
  );
  const values =
    columns.length === 0
      ? ''
      : `, json_extract(__sluice_json, [${columns.map((c) => jsonPathLiteral(c.keys)).join(', ')}]) AS __sluice_values`;
  const rows = await options.connection.run(
    `CREATE OR REPLACE TABLE ${table} AS
     SELECT ${[...names, ...keyColumns].join(', ')}, __sluice_root_id, __sluice_record,
       ${problems.length === 0 ? 'CAST(NULL AS VARCHAR)' : `CASE ${problems.join(' ')} END`} AS __sluice_problem
     FROM (
       SELECT ${[
         ...enforced.map((c, i) =>
           c.raw === undefined
             ? `${c.typed} AS ${names[i]}`
             : `${c.typed} AS ${names[i]}, ${c.raw} AS ${rawName(i)}`,
         ),
         ...keyColumns,
         '__sluice_root_id',
         '__sluice_record',
       ].join(', ')}
       FROM (SELECT *${values} FROM ${nodes}))`,
  );
  const fields: Field[] = [
    ...enforced.map((c) => c.field),
    ...keyFields,
    { name: PARENT_ID, type: { kind: 'string' }, nullable: false },
    { name: LIST_INDEX, type: { kind: 'int64' }, nullable: false },
    { name: ROW_ID, type: { kind: 'string' }, nullable: false },
  ];
  return { table, fields, rows, checked: problems.length > 0 };
}

/** Drops a table or view named `name` left by an earlier attempt. */
async function dropRelation(connection: EngineConnection, name: string): Promise<void> {
  const [found] = await connection.rows(
    `SELECT table_type FROM information_schema.tables WHERE table_name = ${quoteLiteral(name)}`,
  );
  if (found === undefined) return;
  await connection.run(
    `DROP ${found['table_type'] === 'VIEW' ? 'VIEW' : 'TABLE'} ${quoteIdentifier(name)}`,
  );
}
