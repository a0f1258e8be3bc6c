import { describe, expect, it } from 'vitest';
import type { DatasetRef, Pipeline, RunReport, SinkStep, SourceStep } from '../../src/index.js';
import { incrementalWatermark } from '../../src/engine/incremental.js';
import { pipeline, ref, sink, sql } from '../../src/index.js';
import { readNDJSON, runIn, sqlFromText, tempDir } from '../helpers.js';
import { join } from 'node:path';

/** A row of the conformance data set, in plain JS values. */
export interface ConformanceRow {
  readonly id: number;
  readonly name: string | null;
  readonly amount: string | null;
  readonly active: boolean | null;
  readonly created: string | null;
  readonly day: string | null;
}

/**
 * What a connector gives the conformance suite: how to put rows where its source reads them,
 * how to read back what its sink wrote, and its steps. A connector without a source (or sink)
 * leaves those out and the suite runs only what applies.
 */
export interface ConformanceTarget {
  readonly name: string;
  /** A new place (table, file, endpoint) holding `rows`, for the source. */
  seed?(rows: readonly ConformanceRow[]): Promise<string>;
  /** Adds rows to a seeded place (for incremental reads). */
  append?(location: string, rows: readonly ConformanceRow[]): Promise<void>;
  source?(location: string, options?: { incremental?: boolean }): SourceStep;
  /** A new, empty place for the sink. */
  freshTarget?(): Promise<string>;
  sink?(input: DatasetRef, location: string): SinkStep;
  /** What the sink wrote, as conformance rows. */
  readBack?(location: string): Promise<ConformanceRow[]>;
  /** A source step whose credentials are wrong, and the secret that must not be printed. */
  badCredentials?(): { readonly step: SourceStep | SinkStep; readonly secret: string };
}

const UNICODE = 'Grüße 👋 "quoted", comma; new\nline';

/** `count` rows with every value kind, the first with awkward text, every fifth with nulls. */
export function conformanceRows(count: number, from = 1): ConformanceRow[] {
  return Array.from({ length: count }, (_, i) => {
    const id = from + i;
    const nulls = id % 5 === 0;
    return {
      id,
      name: nulls ? null : id === 1 ? UNICODE : `name ${id}`,
      amount: nulls ? null : `${id}.${String(id % 100).padStart(2, '0')}`,
      active: nulls ? null : id % 2 === 0,
      created: nulls
        ? null
        : new Date(Date.UTC(2024, 0, 1, 0, 0, id % 86_400)).toISOString().replace('.000Z', 'Z'),
      day: nulls ? null : `2024-02-${String((id % 28) + 1).padStart(2, '0')}`,
    };
  });
}

/** A row of a report's NDJSON output, as a conformance row (values normalised for comparison). */
export function asConformanceRow(row: Readonly<Record<string, unknown>>): ConformanceRow {
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const amount = row['amount'];
  const created = row['created'];
  return {
    id: Number(row['id']),
    name: text(row['name']),
    amount: amount === null || amount === undefined ? null : Number(amount).toFixed(2),
    active: row['active'] === null || row['active'] === undefined ? null : Boolean(row['active']),
    created:
      created === null || created === undefined
        ? null
        : new Date(
            created instanceof Date
              ? created
              : String(created)
                  .replace(' ', 'T')
                  .replace(/([+-]\d{2})$/, '$1:00'),
          )
            .toISOString()
            .replace('.000Z', 'Z'),
    day:
      row['day'] === null || row['day'] === undefined
        ? null
        : row['day'] instanceof Date
          ? row['day'].toISOString().slice(0, 10)
          : String(row['day']).slice(0, 10),
  };
}

/** The SQL that produces `rows` with the conformance types, for sink tests. */
function rowsSQL(rows: readonly ConformanceRow[]): string {
  const literal = (v: string | null): string =>
    v === null ? 'NULL' : `'${v.replaceAll("'", "''")}'`;
  const values = rows.map(
    (r) =>
      `(${r.id}, ${literal(r.name)}, CAST(${literal(r.amount)} AS DECIMAL(12,2)), ${r.active === null ? 'NULL' : String(r.active)}, CAST(${literal(r.created)} AS TIMESTAMPTZ), CAST(${literal(r.day)} AS DATE))`,
  );
  const typed =
    'SELECT CAST(id AS BIGINT) AS id, CAST(name AS VARCHAR) AS name, amount, CAST(active AS BOOLEAN) AS active, created, day FROM';
  return rows.length === 0
    ? `${typed} (SELECT 1 AS id, NULL AS name, CAST(NULL AS DECIMAL(12,2)) AS amount, NULL AS active, CAST(NULL AS TIMESTAMPTZ) AS created, CAST(NULL AS DATE) AS day) WHERE false`
    : `${typed} (VALUES ${values.join(', ')}) AS t(id, name, amount, active, created, day)`;
}

/** `count` generated rows (ids from 1), for large inputs. */
function largeRowsSQL(count: number): string {
  return `SELECT CAST(range AS BIGINT) AS id, 'name ' || range AS name, CAST(range % 1000 AS DECIMAL(12,2)) AS amount, range % 2 = 0 AS active, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(range % 86400) AS created, DATE '2024-02-01' + CAST(range % 28 AS INTEGER) AS day FROM range(1, ${count + 1})`;
}

/** Run options that cancel the run as soon as `stepId` starts. */
function cancelAt(stepId: string | undefined): Parameters<typeof runIn>[2] {
  if (stepId === undefined) return {};
  const abort = new AbortController();
  return {
    signal: abort.signal,
    onEvent: (event) => {
      if (event.type === 'step-started' && event.stepId === stepId)
        abort.abort(new Error('canceled by the test'));
    },
  };
}

const byId = (a: ConformanceRow, b: ConformanceRow): number => a.id - b.id;

/**
 * Registers the conformance suite for one connector: the same checks for every connector, so
 * each behaves the same way on empty input, nulls, unicode, large batches, cancellation,
 * incremental resume and bad credentials.
 *
 * @example
 * ```ts
 * describeConformance(postgresTarget);
 * ```
 */
export function describeConformance(
  target: ConformanceTarget,
  unavailable: string | undefined,
): void {
  describe(`conformance: ${target.name}`, () => {
    if (unavailable !== undefined)
      console.warn(`${target.name} conformance skipped: ${unavailable}`);
    const run = unavailable === undefined ? it : it.skip;

    const readThrough = async (location: string, extra: Parameters<typeof runIn>[2] = {}) => {
      const dir = await tempDir();
      const report = await runIn(
        dir,
        pipeline('conformance_read', {
          steps: {
            rows: target.source!(
              location,
              extra.watermarks === undefined ? {} : { incremental: true },
            ),
            out: sink.ndjson({ input: ref('rows'), path: 'out.ndjson' }),
          },
        }),
        extra,
      );
      const rows = report.status === 'success' ? await readNDJSON(join(dir, 'out.ndjson')) : [];
      return { report, rows: rows.map(asConformanceRow).sort(byId) };
    };

    const writeThrough = async (
      rows: readonly ConformanceRow[] | number,
      location: string,
      options: { cancelAt?: string } = {},
    ): Promise<RunReport> => {
      const p: Pipeline = pipeline('conformance_write', {
        steps: {
          rows: sqlFromText(typeof rows === 'number' ? largeRowsSQL(rows) : rowsSQL(rows)),
          out: target.sink!(ref('rows'), location),
        },
      });
      return runIn(await tempDir(), p, cancelAt(options.cancelAt));
    };

    if (target.source !== undefined && target.seed !== undefined) {
      run('source: reads every value kind, unicode and nulls exactly', async () => {
        const rows = conformanceRows(12);
        const { report, rows: read } = await readThrough(await target.seed!(rows));
        expect(report.error).toBeUndefined();
        expect(read).toEqual(rows);
      });

      run('source: reads an empty input as zero rows', async () => {
        const { report, rows } = await readThrough(await target.seed!([]));
        expect(report.error).toBeUndefined();
        expect(report.steps[0]?.rowsOut).toBe(0);
        expect(rows).toEqual([]);
      });

      run('source: reads a large input without losing a row', async () => {
        const rows = conformanceRows(50_000);
        const { report, rows: read } = await readThrough(await target.seed!(rows));
        expect(report.error).toBeUndefined();
        expect(read.length).toBe(50_000);
        expect(read[49_999]).toEqual(rows[49_999]);
      });

      run('source: a run canceled while reading stops and writes nothing', async () => {
        const location = await target.seed!(conformanceRows(20_000));
        const { report, rows } = await readThrough(location, cancelAt('rows'));
        expect(report.status).toBe('canceled');
        expect(rows).toEqual([]);
      });

      if (target.append !== undefined)
        run('source: resumes from its watermark, reading only new rows', async () => {
          const location = await target.seed!(conformanceRows(10));
          const first = await readThrough(location, { watermarks: {} });
          expect(first.rows.length).toBe(10);
          expect(incrementalWatermark(first.report.watermarks?.['rows'])).toBe('10');
          await target.append!(location, conformanceRows(5, 11));
          const second = await readThrough(location, { watermarks: first.report.watermarks ?? {} });
          expect(second.rows.map((r) => r.id)).toEqual([11, 12, 13, 14, 15]);
          expect(incrementalWatermark(second.report.watermarks?.['rows'])).toBe('15');
        });
    }

    if (
      target.sink !== undefined &&
      target.freshTarget !== undefined &&
      target.readBack !== undefined
    ) {
      run('sink: writes every value kind, unicode and nulls exactly', async () => {
        const rows = conformanceRows(12);
        const location = await target.freshTarget!();
        const report = await writeThrough(rows, location);
        expect(report.error).toBeUndefined();
        expect((await target.readBack!(location)).sort(byId)).toEqual(rows);
      });

      run('sink: writes an empty input as an empty output', async () => {
        const location = await target.freshTarget!();
        const report = await writeThrough([], location);
        expect(report.error).toBeUndefined();
        expect(await target.readBack!(location)).toEqual([]);
      });

      run('sink: writes a large input in full', async () => {
        const location = await target.freshTarget!();
        const report = await writeThrough(50_000, location);
        expect(report.error).toBeUndefined();
        expect((await target.readBack!(location)).length).toBe(50_000);
      });

      run('sink: a run canceled while writing publishes nothing', async () => {
        const location = await target.freshTarget!();
        await writeThrough(conformanceRows(3), location);
        const report = await writeThrough(20_000, location, { cancelAt: 'out' });
        expect(report.status).toBe('canceled');
        expect((await target.readBack!(location)).map((r) => r.id).sort((a, b) => a - b)).toEqual([
          1, 2, 3,
        ]);
      });
    }

    if (target.badCredentials !== undefined)
      run('bad credentials fail with a clear error that does not print the secret', async () => {
        const { step, secret } = target.badCredentials!();
        const steps: Record<string, SourceStep | SinkStep | ReturnType<typeof sql>> =
          step.kind === 'source'
            ? { rows: step, out: sink.ndjson({ input: ref('rows'), path: 'out.ndjson' }) }
            : { rows: sql`SELECT 1 AS id`, out: step };
        const report = await runIn(await tempDir(), pipeline('conformance_auth', { steps }));
        expect(report.status).toBe('failed');
        expect(report.error?.code).toMatch(/^(SOURCE|SINK)_FAILED$/);
        expect(report.error?.message.length).toBeGreaterThan(20);
        expect(JSON.stringify(report)).not.toContain(secret);
      });
  });
}
