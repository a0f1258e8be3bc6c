import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../contracts/engine-connection.js';

/** The types `json_structure` gives numbers. */
const NUMBER_TYPES = new Set(['UBIGINT', 'BIGINT', 'HUGEINT', 'UHUGEINT', 'DOUBLE']);

/** A number leaf of a structure: where it is and the JSONPath of its values in a record. */
interface NumberLeaf {
  readonly at: readonly (string | number)[];
  readonly path: string;
  /** Whether the path goes through an array (`[*]`), so it gives a list of values. */
  readonly inArray: boolean;
}

let sampleCounter = 0;

/**
 * The structure of the sampled JSON records (as `json_group_structure` gives it, parsed), with
 * every number typed so that it holds all the sampled values exactly: `BIGINT` for integers
 * that fit int64, `DECIMAL(38,0)` for larger integers of up to 38 digits, `DOUBLE` for fractions
 * (read as doubles, as JSON parsers do) next to integers no larger than 2^53, and `JSON` (the
 * value's own text) for anything else: an integer of more digits, integers above 2^53 next to
 * fractions, or a literal beyond the range of a double (`1e400`). DuckDB alone types them all
 * `DOUBLE` or `UBIGINT` and so rounds or refuses them. Undefined when there is no record.
 *
 * `records` is a relation of the sampled records in a JSON (or text) column `__sluice_record`.
 *
 * @example
 * ```ts
 * await exactJSONStructure(connection, '(SELECT line AS __sluice_record FROM t LIMIT 10000)');
 * // { id: 'JSON' } when one id is 9007199254740993 and another 1.5
 * ```
 */
export async function exactJSONStructure(
  connection: Pick<EngineConnection, 'rows' | 'run'>,
  records: string,
): Promise<unknown> {
  const sample = quoteIdentifier(`__sluice_json_sample_${++sampleCounter}`);
  await connection.run(
    `CREATE TEMP TABLE ${sample} AS SELECT CAST(__sluice_record AS JSON) AS r FROM ${records}`,
  );
  try {
    const [row] = await connection.rows(
      `SELECT CAST(json_group_structure(r) AS VARCHAR) AS structure FROM ${sample}`,
    );
    const text = row?.['structure'];
    if (typeof text !== 'string') return undefined;
    const structure = JSON.parse(text) as unknown;
    const leaves = numberLeaves(structure, [], '$');
    if (leaves.length === 0) return structure;
    let exact = structure;
    for (const stats of await numberStats(connection, sample, leaves)) {
      const leaf = leaves[Number(stats['leaf'])] as NumberLeaf;
      exact = replaceAt(exact, leaf.at, exactType(stats));
    }
    return exact;
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${sample}`);
  }
}

/**
 * Per number leaf: whether its values hold fractions, and how large its integers get. Leaves
 * outside arrays are read with one multi-path extract per record (one parse); each leaf inside
 * an array needs its own wildcard extract.
 */
async function numberStats(
  connection: Pick<EngineConnection, 'rows'>,
  sample: string,
  leaves: readonly NumberLeaf[],
): Promise<Record<string, unknown>[]> {
  const plain = leaves.flatMap((leaf, i) => (leaf.inArray ? [] : [{ leaf, i }]));
  const selects = leaves.flatMap((leaf, i) =>
    leaf.inArray
      ? [
          `SELECT ${i} AS leaf, unnest(json_extract(r, ${quoteLiteral(leaf.path)})) AS v FROM ${sample}`,
        ]
      : [],
  );
  if (plain.length > 0) {
    selects.push(
      `SELECT unnest([${plain.map((p) => p.i).join(', ')}]) AS leaf,
         unnest(json_extract(r, [${plain.map((p) => quoteLiteral(p.leaf.path)).join(', ')}])) AS v
       FROM ${sample}`,
    );
  }
  // json_extract gives a number as its text: a double always with `.` or an exponent, an
  // integer (of any size) as digits only.
  return connection.rows(
    `SELECT leaf,
       bool_or(NOT is_int) AS fractions,
       coalesce(bool_or(NOT isfinite(TRY_CAST(t AS DOUBLE)))
         FILTER (WHERE NOT is_int AND (contains(t, 'e') OR contains(t, 'E') OR length(t) > 300)), false) AS beyond_double_range,
       max(length(t) - CASE WHEN starts_with(t, '-') THEN 1 ELSE 0 END) FILTER (WHERE is_int) AS int_digits,
       max(abs(TRY_CAST(t AS HUGEINT))) FILTER (WHERE is_int) AS int_max
     FROM (
       SELECT leaf, t, NOT (contains(t, '.') OR contains(t, 'e') OR contains(t, 'E')) AS is_int
       FROM (
         SELECT leaf, CAST(v AS VARCHAR) AS t
         FROM (${selects.join(' UNION ALL ')}))
       WHERE left(t, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'))
     GROUP BY leaf`,
  );
}

const INT64_MAX = 2n ** 63n - 1n;
const DOUBLE_EXACT_MAX = 2n ** 53n;

function exactType(stats: Record<string, unknown>): string {
  const digits = Number(stats['int_digits'] ?? 0);
  const max = typeof stats['int_max'] === 'bigint' ? stats['int_max'] : 0n;
  if (stats['fractions'] !== true) {
    if (digits > 38) return 'JSON';
    return max > INT64_MAX ? 'DECIMAL(38,0)' : 'BIGINT';
  }
  const exactInDouble = digits <= 38 && max <= DOUBLE_EXACT_MAX;
  return exactInDouble && stats['beyond_double_range'] !== true ? 'DOUBLE' : 'JSON';
}

function numberLeaves(
  structure: unknown,
  at: readonly (string | number)[],
  path: string,
): NumberLeaf[] {
  if (typeof structure === 'string')
    return NUMBER_TYPES.has(structure)
      ? [{ at, path, inArray: at.some((k) => typeof k === 'number') }]
      : [];
  if (Array.isArray(structure)) {
    return structure.length === 0 ? [] : numberLeaves(structure[0], [...at, 0], `${path}[*]`);
  }
  if (typeof structure === 'object' && structure !== null) {
    return Object.entries(structure).flatMap(([key, value]) =>
      numberLeaves(
        value,
        [...at, key],
        `${path}."${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`,
      ),
    );
  }
  return [];
}

function replaceAt(structure: unknown, at: readonly (string | number)[], type: string): unknown {
  if (at.length === 0) return type;
  const [head, ...rest] = at;
  if (Array.isArray(structure)) return [replaceAt(structure[0], rest, type)];
  const object = structure as Record<string, unknown>;
  return { ...object, [head as string]: replaceAt(object[head as string], rest, type) };
}
