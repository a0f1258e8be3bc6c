import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, sink, source } from '../src/index.js';
import { fixtureFolder } from './fixtures.js';
import { query, runIn, stepOf, tempDir } from './helpers.js';

interface Expected {
  readonly columns: readonly { name: string; duckdb_type?: string }[];
  readonly num_rows: number;
  /** Absent when the file's rows are checked another way (a CSV beside it, or not at all). */
  readonly rows?: readonly Record<string, unknown>[];
  readonly rows_source?: string;
}

const folder = fixtureFolder('parquet-testing');
const expectations =
  folder === undefined
    ? []
    : readdirSync(join(folder, 'expected')).filter((f) => f.endsWith('.json'));
const readable = (e: Expected) =>
  e.rows_source === undefined && e.columns.every((c) => c.duckdb_type !== undefined);

/** Renders a value the way the fixture's expected files do (see their README). */
function render(name: string, type: string): string {
  const column = `"${name.replaceAll('"', '""')}"`;
  if (
    /^(BIGINT|UBIGINT|HUGEINT)$/.test(type) ||
    type.startsWith('DECIMAL') ||
    type === 'BLOB' ||
    type.startsWith('TIMESTAMP')
  ) {
    return `CAST(${column} AS VARCHAR) AS ${column}`;
  }
  if (type === 'FLOAT') return `CAST(${column} AS DOUBLE) AS ${column}`;
  return column;
}

function isNested(type: string): boolean {
  return /[[(]/.test(type) && !type.startsWith('DECIMAL');
}

/**
 * The expected files render nested 64-bit integers as strings and a backslash in bytes as
 * itself; compare nested values and bytes as text.
 */
function normalize(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) {
    const pad = (n: number) => String(n).padStart(2, '0');
    const ms = value.getUTCMilliseconds();
    return (
      `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())} ` +
      `${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())}:${pad(value.getUTCSeconds())}` +
      (ms === 0 ? '' : `.${String(ms).padStart(3, '0')}`)
    );
  }
  if (typeof value === 'string') return value.replaceAll('\\x5C', '\\');
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

function close(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'number' && typeof expected === 'number')
    return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  if (Array.isArray(actual) && Array.isArray(expected))
    return actual.length === expected.length && actual.every((a, i) => close(a, expected[i]));
  if (
    actual !== null &&
    expected !== null &&
    typeof actual === 'object' &&
    typeof expected === 'object'
  ) {
    const keys = Object.keys(expected);
    return (
      keys.length === Object.keys(actual).length &&
      keys.every((k) =>
        close((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k]),
      )
    );
  }
  return actual === expected;
}

describe.skipIf(folder === undefined)(
  'parquet-testing files through the parquet source and sink',
  () => {
    it.each(expectations)(
      '%s round-trips with the expected rows, or fails clearly',
      async (name) => {
        const expected = JSON.parse(
          readFileSync(join(folder as string, 'expected', name), 'utf8'),
        ) as Expected;
        const file = join(folder as string, 'data', name.replace(/\.json$/, '.parquet'));
        const dir = await tempDir();
        const report = await runIn(
          dir,
          pipeline('roundtrip', {
            steps: {
              input: source.parquet({ path: file }),
              out: sink.parquet({ input: ref('input'), path: 'out.parquet' }),
            },
          }),
        );
        if (name === 'int96_from_spark.json') {
          // DuckDB reads INT96 as nanoseconds and wraps the year-290000 value; the five values that fit
          // must match the upstream microseconds exactly (see the fixture's README).
          expect(report.status).toBe('success');
          const micros = await query(
            `SELECT epoch_us(a) AS us FROM read_parquet('${join(dir, 'out.parquet')}')`,
          );
          const want = (expected.rows ?? []).map((r) => r['a_micros_utc'] as number | null);
          expect(
            micros.slice(0, 5).map((r) => (r['us'] === null ? null : Number(r['us']))),
          ).toEqual(want.slice(0, 5));
          return;
        }
        if (!readable(expected)) {
          // Legacy LZ4, maps without values: the reader must refuse with the file's name, not guess.
          expect(report.status).toBe('failed');
          expect(report.error?.stepId).toBe('input');
          expect(report.error?.message).toContain(file);
          return;
        }
        expect(report.status).toBe('success');
        expect(stepOf(report, 'input')).toMatchObject({
          rowsIn: expected.num_rows,
          rowsOut: expected.num_rows,
          rowsQuarantined: 0,
        });
        const out = join(dir, 'out.parquet');
        const csv = file.replace(/\.parquet$/, '_expect.csv');
        if (existsSync(csv)) {
          const differences = await query(
            `SELECT count(*) AS n FROM ((SELECT * FROM read_parquet('${out}') EXCEPT ALL SELECT * FROM read_csv('${csv}'))
          UNION ALL (SELECT * FROM read_csv('${csv}') EXCEPT ALL SELECT * FROM read_parquet('${out}')))`,
          );
          expect(differences).toEqual([{ n: 0n }]);
        }
        if (expected.rows === undefined) return;
        const columns = expected.columns
          .map((c) => render(c.name, c.duckdb_type as string))
          .join(', ');
        const rows = await query(`SELECT ${columns} FROM read_parquet('${out}')`);
        expect(rows).toHaveLength(expected.rows.length);
        rows.forEach((row, i) => {
          const want = expected.rows?.[i] as Record<string, unknown>;
          for (const column of expected.columns) {
            const type = column.duckdb_type as string;
            const value = row[column.name];
            const nested = isNested(type);
            const asText = nested || type === 'BLOB';
            const actual = asText ? normalize(value) : value;
            const wanted = asText ? normalize(want[column.name]) : want[column.name];
            const plainActual = typeof actual === 'bigint' ? Number(actual) : actual;
            if (!close(plainActual, wanted))
              expect({ row: i, [column.name]: plainActual }).toEqual({
                row: i,
                [column.name]: wanted,
              });
          }
        });
      },
    );
  },
);
