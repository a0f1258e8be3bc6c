import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ColumnProfile, FileProfile, SuggestedSuite } from '../src/quality/index.js';
import { suiteFromGX, validateDataFile } from '../src/quality/index.js';
import { ROOT, query, sluice, tempDir } from './helpers.js';

const CSV = 'examples/quickstart/data/orders.csv';
const NDJSON = 'examples/quickstart/data/orders-2026-03.ndjson';

function column(profile: FileProfile, name: string): ColumnProfile {
  const found = profile.columns.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no column ${name}`);
  return found;
}

function expectationsOf(suite: SuggestedSuite, column: string): string[] {
  return suite.expectations
    .filter((e) => e.kwargs['column'] === column)
    .map((e) => e.expectation_type);
}

describe('sluice profile', () => {
  it('prints a per-column table of the quickstart CSV, with the line the reader set aside', () => {
    const run = sluice(['profile', CSV]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const out = run.stdout;
    expect(out).toMatch(
      /^Profile of examples\/quickstart\/data\/orders\.csv \(csv\): 31 rows, 7 columns \(exact, /,
    );
    expect(out).toContain(
      'Quarantined 1 of 32 record(s) the reader could not use; they are not profiled:',
    );
    expect(out).toContain('line 23: TOO MANY COLUMNS: Expected Number of Columns: 7 Found: 8');
    expect(out).toContain('record: 1904,c-002,NL,10.00,EUR,paid,2026-03-03 09:00:00,extra');
    expect(out).toMatch(/^column\s+type\s+nulls\s+distinct\s+min\s+max\s+mean\s+stdev$/m);
    expect(out).toMatch(
      /^order_id\s+int64\s+0\s+31 \(unique\)\s+1001\s+1903\s+1100\.39\s+266\.84$/m,
    );
    expect(out).toMatch(/^customer_id\s+string\s+1 \(3\.22%\)\s+12\s+c-001\s+c-012$/m);
    expect(out).toMatch(/^ {2}order_id\s+1008\.5 \/ 1016 \/ 1023\.5$/m);
    expect(out).toMatch(/^ {2}status\s+4 \/ 4\.9 \/ 8$/m);
    expect(out).toMatch(/^ {2}ordered_at\s+iso_datetime 96\.7% \(30 of 31\)$/m);
    expect(out).toMatch(/^ {2}country\s+GB \(11\), US \(6\), DE \(5\), NL \(5\), FR \(4\)$/m);
    expect(out).toMatch(/^ {2}order_id\s+every value is distinct$/m);
  });

  it('prints the profile as JSON with real figures', () => {
    const run = sluice(['profile', CSV, '--json']);
    expect(run.code).toBe(0);
    const profile = JSON.parse(run.stdout) as FileProfile;
    expect(profile).toMatchObject({
      rowCount: 31,
      columnCount: 7,
      approximate: false,
      source: { path: CSV, format: 'csv', rowsRead: 32, rowsQuarantined: 1 },
    });
    expect(profile.source.quarantined).toEqual([
      {
        line: 23,
        column: null,
        reason: 'TOO MANY COLUMNS: Expected Number of Columns: 7 Found: 8',
        record: '1904,c-002,NL,10.00,EUR,paid,2026-03-03 09:00:00,extra',
      },
    ]);
    expect(column(profile, 'order_id')).toMatchObject({
      type: 'int64',
      nullCount: 0,
      distinctCount: 31,
      min: 1001,
      max: 1903,
      quantiles: { p25: 1008.5, p50: 1016, p75: 1023.5 },
    });
    expect(column(profile, 'order_id').mean).toBeCloseTo(34112 / 31, 10);
    expect(column(profile, 'customer_id')).toMatchObject({
      nullCount: 1,
      distinctCount: 12,
      topValues: [
        { value: 'c-002', count: 5 },
        { value: 'c-003', count: 5 },
        { value: 'c-007', count: 5 },
        { value: 'c-006', count: 3 },
        { value: 'c-001', count: 2 },
        { value: 'c-010', count: 2 },
        { value: 'c-011', count: 2 },
        { value: 'c-012', count: 2 },
        { value: 'c-004', count: 1 },
        { value: 'c-005', count: 1 },
      ],
    });
    expect(column(profile, 'status')).toMatchObject({
      distinctValues: ['canceled', 'paid', 'shipped'],
      length: { min: 4, max: 8 },
    });
    // "twelve" in one row makes amount text; "25:00:00" keeps one timestamp from being ISO.
    expect(column(profile, 'amount')).toMatchObject({ type: 'string', max: 'twelve' });
    expect(column(profile, 'ordered_at').semanticKinds).toEqual([
      { kind: 'iso_datetime', share: 30 / 31, matches: 30 },
    ]);
  });

  it('profiles the quickstart NDJSON and counts its invalid line', async () => {
    const run = sluice(['profile', NDJSON, '--json']);
    expect(run.code).toBe(0);
    const profile = JSON.parse(run.stdout) as FileProfile;
    // The same figures computed independently by DuckDB's own NDJSON reader (which reads the
    // one invalid line as a row of nulls).
    const [truth] = await query(
      `SELECT count(*) AS n, min(amount) AS min, max(amount) AS max, avg(amount) AS mean,
              stddev_samp(amount) AS stdev, list(DISTINCT country ORDER BY country) AS countries,
              count(*) FILTER (WHERE status = 'paid') AS paid
       FROM read_ndjson('${join(ROOT, NDJSON)}', ignore_errors = true) WHERE country IS NOT NULL`,
    );
    const rows = Number(truth?.['n']);
    expect(rows).toBeGreaterThan(10);
    expect(profile).toMatchObject({
      rowCount: rows,
      source: { format: 'ndjson', rowsRead: rows + 1, rowsQuarantined: 1 },
    });
    expect(profile.source.quarantined[0]?.reason).toBe('not a valid JSON object');
    const amount = column(profile, 'amount');
    expect(amount).toMatchObject({
      type: 'float64',
      min: truth?.['min'],
      max: truth?.['max'],
      nanCount: 0,
    });
    expect(amount.mean).toBeCloseTo(Number(truth?.['mean']), 10);
    expect(amount.stdev).toBeCloseTo(Number(truth?.['stdev']), 10);
    expect(column(profile, 'country').distinctValues).toEqual(truth?.['countries']);
    expect(column(profile, 'status').topValues?.[0]).toEqual({
      value: 'paid',
      count: Number(truth?.['paid']),
    });

    const text = sluice(['profile', NDJSON]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`(ndjson): ${rows} rows, 7 columns`);
    expect(text.stdout).toMatch(/^amount\s+float64\s+0\s+\d+ \(unique\)\s+12\.5\s+338\.95\s/m);
  });

  it('suggests a GX suite with sensible expectations, which passes on the same data', async () => {
    const run = sluice(['profile', CSV, '--suggest']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      'note: 1 record(s) of examples/quickstart/data/orders.csv could not be read',
    );
    const suite = JSON.parse(run.stdout) as SuggestedSuite;
    expect(suite.expectation_suite_name).toBe('orders');
    const [rowCount, columnSet] = suite.expectations;
    expect(rowCount).toEqual({
      expectation_type: 'expect_table_row_count_to_be_between',
      kwargs: { min_value: 27, max_value: 35 },
      meta: {},
    });
    expect(columnSet?.kwargs['column_set']).toEqual([
      'order_id',
      'customer_id',
      'country',
      'amount',
      'currency',
      'status',
      'ordered_at',
    ]);
    expect(expectationsOf(suite, 'order_id')).toEqual([
      'expect_column_values_to_not_be_null',
      'expect_column_values_to_be_unique',
      'expect_column_values_to_be_between',
    ]);
    expect(expectationsOf(suite, 'status')).toEqual([
      'expect_column_values_to_not_be_null',
      'expect_column_values_to_be_in_set',
      'expect_column_value_lengths_to_be_between',
    ]);
    const kwargs = (type: string, c: string) =>
      suite.expectations.find((e) => e.expectation_type === type && e.kwargs['column'] === c)
        ?.kwargs;
    expect(kwargs('expect_column_values_to_be_between', 'order_id')).toEqual({
      column: 'order_id',
      min_value: 1001,
      max_value: 1903,
    });
    expect(kwargs('expect_column_values_to_not_be_null', 'customer_id')).toEqual({
      column: 'customer_id',
      mostly: 0.96,
    });
    expect(kwargs('expect_column_values_to_be_in_set', 'currency')).toEqual({
      column: 'currency',
      value_set: ['EUR', 'GBP', 'USD'],
    });
    expect(kwargs('expect_column_values_to_match_regex', 'ordered_at')).toMatchObject({
      column: 'ordered_at',
      mostly: 0.96,
    });

    // The suggestion holds on the data it came from, through the same reader `validate` uses.
    for (const file of [CSV, NDJSON]) {
      const suggested = JSON.parse(sluice(['profile', file, '--suggest']).stdout) as unknown;
      const { result } = await validateDataFile(join(ROOT, file), suiteFromGX(suggested), {
        stateDir: await tempDir(),
      });
      expect(
        result.results.filter((r) => !r.success).map((r) => r.expectation_config),
        file,
      ).toEqual([]);
    }
  });

  it('renders the suggested suite as TypeScript with --suggest-format ts', () => {
    const run = sluice([
      'profile',
      NDJSON,
      '--suggest',
      '--suggest-format',
      'ts',
      '--suite-name',
      'march',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`import { expect, suite } from 'sluice';`);
    expect(run.stdout).toContain(`export default suite('march', [`);
    expect(run.stdout).toContain(`  expect.inSet('currency', ['CHF', 'EUR', 'GBP', 'USD']),`);
    expect(run.stdout).toContain(`  expect.between('amount', { min: 12.5, max: 338.95 }),`);
    expect(run.stdout).toContain(`  expect.notNull('customer_id'),`);
  });

  it('reads compressed files by their extension', async () => {
    const dir = await tempDir();
    const file = join(dir, 'orders.csv.gz');
    await writeFile(file, gzipSync(readFileSync(join(ROOT, CSV))));
    const run = sluice(['profile', file, '--json']);
    expect(run.code).toBe(0);
    const profile = JSON.parse(run.stdout) as FileProfile;
    expect(profile).toMatchObject({
      rowCount: 31,
      source: { format: 'csv.gz', rowsQuarantined: 1 },
    });
  });

  it('exits 2 with a clear message for missing, unknown or unreadable input and bad usage', async () => {
    const missing = sluice(['profile', 'no/such/orders.csv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('file not found:');
    expect(missing.stderr).toContain('no/such/orders.csv');

    const unknown = sluice(['profile', 'README.md']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('cannot tell the format of README.md from its extension');

    const dir = await tempDir();
    const broken = join(dir, 'broken.parquet');
    await writeFile(broken, 'not parquet at all');
    const unreadable = sluice(['profile', broken, '--json']);
    expect(unreadable.code).toBe(2);
    expect(JSON.parse(unreadable.stdout)).toMatchObject({
      status: 'error',
      error: {
        code: 'SOURCE_FAILED',
        message: expect.stringContaining('cannot read Parquet') as unknown,
      },
    });

    const conflicting = sluice(['profile', CSV, '--exact', '--approximate']);
    expect(conflicting.code).toBe(2);
    expect(conflicting.stderr).toContain('--exact and --approximate exclude each other');
    const format = sluice(['profile', CSV, '--suggest', '--suggest-format', 'yaml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--suggest-format must be json or ts, got "yaml"');
    expect(sluice(['profile']).code).toBe(2);
  });
});
