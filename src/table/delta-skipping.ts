import type { Field } from '../core/types.js';
import { quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { AddAction } from './delta-actions.js';
import { fileStats } from './delta-actions.js';
import type { DeltaSnapshot } from './delta-log.js';

/** One `column op constant` conjunct of a predicate, the constant as SQL text. */
interface Bound {
  readonly column: Field;
  readonly test: (min: string, max: string) => string;
}

interface AstNode {
  readonly class?: string;
  readonly type?: string;
  readonly children?: readonly AstNode[];
  readonly left?: AstNode;
  readonly right?: AstNode;
  readonly input?: AstNode;
  readonly lower?: AstNode;
  readonly upper?: AstNode;
  readonly child?: AstNode;
  readonly column_names?: readonly string[];
  readonly value?: { readonly value?: unknown };
}

/** Types whose Delta min/max stats are exact bounds (timestamps are truncated to milliseconds). */
const SKIPPABLE = new Set(['int8', 'int16', 'int32', 'int64', 'decimal', 'string', 'date', 'bool']);

const FLIPPED: Readonly<Record<string, string>> = {
  COMPARE_EQUAL: 'COMPARE_EQUAL',
  COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
  COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
  COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
  COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
};

/**
 * Data skipping: the snapshot with only the files that may hold a row matching the predicate,
 * judged from partition values and file stats (min/max). Only top-level `AND`s of
 * `column =|<|<=|>|>= constant`, `BETWEEN` and `IN (constants)` are used; anything else keeps
 * every file, so the result is always a superset of the files that match. Filter the rows with
 * the predicate as usual afterwards.
 *
 * @example
 * ```ts
 * const pruned = await skipFiles(connection, snapshot, "order_date = DATE '2026-03-01'");
 * await connection.rows(`SELECT * FROM ${deltaScanSQL(pruned)} WHERE order_date = DATE '2026-03-01'`);
 * ```
 */
export async function skipFiles(
  connection: EngineConnection,
  snapshot: DeltaSnapshot,
  predicate: string,
): Promise<DeltaSnapshot> {
  if (snapshot.files.length === 0) return snapshot;
  const where = await parseWhere(connection, predicate);
  if (where === undefined) return snapshot;
  const bounds: Bound[] = [];
  for (const conjunct of conjuncts(where)) {
    const bound = await boundOf(connection, snapshot, conjunct);
    if (bound !== undefined) bounds.push(bound);
  }
  if (bounds.length === 0) return snapshot;
  const columns = [...new Set(bounds.map((b) => b.column))];
  const rows = snapshot.files.map(
    (file, i) =>
      `(${[String(i), ...columns.flatMap((c) => fileBounds(snapshot, file, c))].join(', ')})`,
  );
  const names = [
    '__file',
    ...columns.flatMap((_, i) => [`__min_${String(i)}`, `__max_${String(i)}`]),
  ];
  const tests = bounds.map((b) => {
    const i = columns.indexOf(b.column);
    return `(${b.test(`__min_${String(i)}`, `__max_${String(i)}`)})`;
  });
  const kept = await connection.rows(
    `SELECT __file FROM (VALUES ${rows.join(', ')}) AS stats(${names.join(', ')})
     WHERE (${tests.join(' AND ')}) IS NOT FALSE`,
  );
  const keep = new Set(kept.map((r) => Number(r['__file'])));
  return { ...snapshot, files: snapshot.files.filter((_, i) => keep.has(i)) };
}

async function parseWhere(
  connection: EngineConnection,
  predicate: string,
): Promise<AstNode | undefined> {
  try {
    const [row] = await connection.rows(`SELECT json_serialize_sql($sql::VARCHAR) AS ast`, {
      sql: `SELECT * FROM t WHERE ${predicate}`,
    });
    const ast = JSON.parse(String(row?.['ast'])) as {
      error?: boolean;
      statements?: { node?: { where_clause?: AstNode } }[];
    };
    return ast.error === true ? undefined : ast.statements?.[0]?.node?.where_clause;
  } catch {
    return undefined;
  }
}

function conjuncts(node: AstNode): readonly AstNode[] {
  return node.type === 'CONJUNCTION_AND' ? (node.children ?? []).flatMap(conjuncts) : [node];
}

async function boundOf(
  connection: EngineConnection,
  snapshot: DeltaSnapshot,
  node: AstNode,
): Promise<Bound | undefined> {
  const column = (n: AstNode | undefined): Field | undefined => {
    const name = n?.class === 'COLUMN_REF' ? n.column_names?.at(-1) : undefined;
    const field =
      name === undefined
        ? undefined
        : snapshot.fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    return field !== undefined && SKIPPABLE.has(field.type.kind) ? field : undefined;
  };
  if (node.class === 'COMPARISON' && node.type !== undefined && node.type in FLIPPED) {
    const [field, other, op] =
      column(node.left) !== undefined
        ? [column(node.left), node.right, node.type]
        : [column(node.right), node.left, FLIPPED[node.type] as string];
    const value = await constantSQL(connection, other);
    if (field === undefined || value === undefined) return undefined;
    return { column: field, test: comparison(op, value) };
  }
  if (node.class === 'BETWEEN') {
    const field = column(node.input);
    const low = await constantSQL(connection, node.lower);
    const high = await constantSQL(connection, node.upper);
    if (field === undefined || low === undefined || high === undefined) return undefined;
    return { column: field, test: (min, max) => `${max} >= ${low} AND ${min} <= ${high}` };
  }
  if (node.type === 'COMPARE_IN') {
    const [first, ...rest] = node.children ?? [];
    const field = column(first);
    const values = await Promise.all(rest.map((n) => constantSQL(connection, n)));
    if (field === undefined || values.length === 0 || values.some((v) => v === undefined))
      return undefined;
    return {
      column: field,
      test: (min, max) => values.map((v) => `(${min} <= ${v} AND ${max} >= ${v})`).join(' OR '),
    };
  }
  return undefined;
}

function comparison(op: string, value: string): Bound['test'] {
  switch (op) {
    case 'COMPARE_EQUAL':
      return (min, max) => `${min} <= ${value} AND ${max} >= ${value}`;
    case 'COMPARE_LESSTHAN':
      return (min) => `${min} < ${value}`;
    case 'COMPARE_LESSTHANOREQUALTO':
      return (min) => `${min} <= ${value}`;
    case 'COMPARE_GREATERTHAN':
      return (_min, max) => `${max} > ${value}`;
    default:
      return (_min, max) => `${max} >= ${value}`;
  }
}

/** The serialized AST of `SELECT 1`, the statement a constant is put in to turn it back into SQL. */
let selectTemplate: string | undefined;

/** A constant (or a cast of one) back as SQL text, through DuckDB's own deserializer. */
async function constantSQL(
  connection: EngineConnection,
  node: AstNode | undefined,
): Promise<string | undefined> {
  // Numbers beyond 2^53 lost precision in JSON.parse: such a constant is not used.
  const isConstant = (n: AstNode | undefined): boolean =>
    (n?.class === 'CONSTANT' &&
      !(typeof n.value?.value === 'number' && !Number.isSafeInteger(n.value.value))) ||
    (n?.class === 'CAST' && isConstant(n.child));
  if (!isConstant(node)) return undefined;
  if (selectTemplate === undefined) {
    const [row] = await connection.rows(`SELECT json_serialize_sql('SELECT 1'::VARCHAR) AS ast`);
    selectTemplate = String(row?.['ast']);
  }
  const ast = JSON.parse(selectTemplate) as {
    statements: { node: { select_list: unknown[] } }[];
  };
  (ast.statements[0] as { node: { select_list: unknown[] } }).node.select_list = [node];
  const [sql] = await connection.rows(`SELECT json_deserialize_sql($ast::JSON) AS sql`, {
    ast: JSON.stringify(ast, (key, value: unknown) => (key === 'query_location' ? 0 : value)),
  });
  const text = String(sql?.['sql'] ?? '');
  return text.startsWith('SELECT ') ? `(${text.slice('SELECT '.length)})` : undefined;
}

/** The min and max of a column in a file as typed SQL, NULL when unknown. */
function fileBounds(snapshot: DeltaSnapshot, file: AddAction, field: Field): [string, string] {
  const type = toDuckDBType(field.type);
  // Integers beyond 2^53 lost precision in JSON.parse: treat them as unknown.
  const typed = (value: unknown): string =>
    value === undefined ||
    value === null ||
    (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value))
      ? `CAST(NULL AS ${type})`
      : `TRY_CAST(${quoteLiteral(String(value))} AS ${type})`;
  if (snapshot.partitionColumns.includes(field.name)) {
    const value = file.partitionValues[field.name];
    return [typed(value), typed(value)];
  }
  const stats = fileStats(file);
  return [typed(stats?.minValues?.[field.name]), typed(stats?.maxValues?.[field.name])];
}
