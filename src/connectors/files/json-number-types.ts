import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../engine/duckdb-session.js';

/** The types `json_structure` gives numbers. */
const NUMBER_TYPES = new Set(['UBIGINT', 'BIGINT', 'HUGEINT', 'UHUGEINT', 'DOUBLE']);
const JSON_NUMBER = String.raw`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`;
const JSON_INTEGER = String.raw`-?[0-9]+`;

/** A number leaf of a structure: where it is and the JSONPath of its values in a record. */
interface NumberLeaf {
  readonly at: readonly (string | number)[];
  readonly path: string;
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

/** Per number leaf: whether its values hold fractions, and how large its integers get. */
async function numberStats(
  connection: Pick<EngineConnection, 'rows'>,
  sample: string,
  leaves: readonly NumberLeaf[],
): Promise<Record<string, unknown>[]> {
  const values = leaves.map((leaf, i) =>
    leaf.path.includes('[*]')
      ? `SELECT ${i} AS leaf, unnest(json_extract(r, ${quoteLiteral(leaf.path)})) AS v FROM ${sample}`
      : `SELECT ${i} AS leaf, json_extract(r, ${quoteLiteral(leaf.path)}) AS v FROM ${sample}`,
  );
  const isInteger = `regexp_full_match(t, ${quoteLiteral(JSON_INTEGER)})`;
  return connection.rows(
    `SELECT leaf,
       coalesce(bool_or(NOT ${isInteger}), false) AS fractions,
       coalesce(bool_or(NOT ${isInteger} AND NOT coalesce(isfinite(TRY_CAST(t AS DOUBLE)), false)), false) AS beyond_double_range,
       coalesce(bool_or(${isInteger} AND TRY_CAST(t AS BIGINT) IS NULL), false) AS beyond_int64,
       coalesce(bool_or(${isInteger} AND length(ltrim(t, '-')) > 38), false) AS beyond_decimal,
       coalesce(bool_or(${isInteger} AND coalesce(abs(TRY_CAST(t AS HUGEINT)) > 9007199254740992, true)), false) AS beyond_2_53
     FROM (SELECT leaf, CAST(v AS VARCHAR) AS t FROM (${values.join(' UNION ALL ')}))
     WHERE regexp_full_match(t, ${quoteLiteral(JSON_NUMBER)})
     GROUP BY leaf`,
  );
}

function exactType(stats: Record<string, unknown>): string {
  if (stats['fractions'] !== true) {
    if (stats['beyond_int64'] !== true) return 'BIGINT';
    return stats['beyond_decimal'] === true ? 'JSON' : 'DECIMAL(38,0)';
  }
  return stats['beyond_2_53'] === true || stats['beyond_double_range'] === true ? 'JSON' : 'DOUBLE';
}

function numberLeaves(
  structure: unknown,
  at: readonly (string | number)[],
  path: string,
): NumberLeaf[] {
  if (typeof structure === 'string') return NUMBER_TYPES.has(structure) ? [{ at, path }] : [];
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
