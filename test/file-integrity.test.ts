import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, sink, sql } from '../src/index.js';
import type { Logger } from '../src/core/logger.js';
import { filesStreamSink } from '../src/connectors/files/ndjson-stream.js';
import { query, runIn, stepOf, tempDir } from './helpers.js';

/** A logger keeping every warning with its fields (and its step, from the child bindings). */
function recordingLogger(): Logger & { warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const make = (bindings: Record<string, unknown>): Logger => ({
    debug: () => undefined,
    info: () => undefined,
    error: () => undefined,
    warn: (fields, message) => warnings.push({ ...bindings, ...fields, message }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return Object.assign(make({}), { warnings });
}

/** Every non-blank line of a file, each parsed strictly as JSON (throws on NaN, Infinity). */
async function strictNDJSONLines(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

describe('JSON outputs are always valid JSON', () => {
  it('sink.ndjson writes NaN and infinities (top level and nested) as null and warns how many', async () => {
    const dir = await tempDir();
    const logger = recordingLogger();
    const report = await runIn(
      dir,
      pipeline('floats', {
        steps: {
          rows: sql`select i,
              case when i = 0 then 'nan'::double when i = 1 then 'inf'::double else 1.5 end as d,
              case when i = 2 then '-inf'::float else 2.5::float end as f,
              [1.0, case when i = 0 then 'nan'::double else 3.0 end] as l,
              {'x': case when i = 1 then '-inf'::double else 4.0 end, 'y': 'ok'} as s,
              0.25 as exact
            from range(4) t(i) order by i`,
          out: sink.ndjson({ input: ref('rows'), path: 'out/floats.ndjson' }),
        },
      }),
      { logger },
    );
    expect(report.status).toBe('success');
    const rows = await strictNDJSONLines(join(dir, 'out/floats.ndjson'));
    expect(rows).toEqual([
      { i: 0, d: null, f: 2.5, l: [1, null], s: { x: 4, y: 'ok' }, exact: 0.25 },
      { i: 1, d: null, f: 2.5, l: [1, 3], s: { x: null, y: 'ok' }, exact: 0.25 },
      { i: 2, d: 1.5, f: null, l: [1, 3], s: { x: 4, y: 'ok' }, exact: 0.25 },
      { i: 3, d: 1.5, f: 2.5, l: [1, 3], s: { x: 4, y: 'ok' }, exact: 0.25 },
    ]);
    expect(stepOf(report, 'out')).toMatchObject({ rowsOut: 4, valuesDiscarded: 5 });
    // d in rows 0 and 1, f in row 2, l in row 0, s in row 1.
    expect(logger.warnings.filter((w) => w['stepId'] === 'out')).toEqual([
      expect.objectContaining({
        valuesDiscarded: 5,
        columns: { d: 2, f: 1, l: 1, s: 1 },
        message: expect.stringMatching(/NaN and infinite values written as null/),
      }),
    ]);
  });

  it('sink.ndjson of finite floats warns of nothing', async () => {
    const dir = await tempDir();
    const logger = recordingLogger();
    const report = await runIn(
      dir,
      pipeline('finite', {
        steps: {
          rows: sql`select 1.5::double as d, [2.5::float] as l`,
          out: sink.ndjson({ input: ref('rows'), path: 'out/finite.ndjson' }),
        },
      }),
      { logger },
    );
    expect(report.status).toBe('success');
    expect(await strictNDJSONLines(join(dir, 'out/finite.ndjson'))).toEqual([{ d: 1.5, l: [2.5] }]);
    expect(logger.warnings).toEqual([]);
    expect(stepOf(report, 'out').valuesDiscarded).toBeUndefined();
  });
});

describe('the files stream sink writes valid JSON', () => {
  it('writes bigints exactly and NaN and infinities as null, warning how many', async () => {
    const dir = await tempDir();
    const logger = recordingLogger();
    const sink = await filesStreamSink.open(
      { path: join(dir, 'stream-out') },
      { stepId: 'out', streamName: 'clicks', logger, signal: new AbortController().signal },
    );
    await sink.write([
      { id: 12n, big: 2n ** 64n, score: Number.NaN, scores: [1.5, Infinity], at: new Date(0) },
      { id: 13n, big: 1n, score: -Infinity, scores: [], at: null },
    ]);
    await sink.commit({ checkpointId: 1, snapshot: { positions: {} } });
    expect(await strictNDJSONLines(join(dir, 'stream-out/part-0000000001.ndjson'))).toEqual([
      {
        id: 12,
        big: '18446744073709551616',
        score: null,
        scores: [1.5, null],
        at: '1970-01-01T00:00:00.000Z',
      },
      { id: 13, big: 1, score: null, scores: [], at: null },
    ]);
    expect(logger.warnings).toEqual([
      expect.objectContaining({ valuesDiscarded: 3, checkpointId: 1 }),
    ]);
    await sink.close();
  });
});

describe('sink.parquet to a folder', () => {
  const rows = sql`select range as n, 'row ' || range as label from range(100)`;

  it('writes into the folder a path without .parquet, with a trailing slash, or of an existing folder names', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'out/existing.parquet'), { recursive: true });
    const paths = ['out/plain', 'out/slashed.parquet/', 'out/existing.parquet'];
    for (const path of paths) {
      for (let run = 0; run < 2; run++) {
        const report = await runIn(
          dir,
          pipeline('folder', {
            steps: { rows, out: sink.parquet({ input: ref('rows'), path }) },
          }),
        );
        expect(report.status, path).toBe('success');
        const folder = join(dir, path);
        const files = await readdir(folder);
        expect(files, path).toEqual([`part-0-${report.runId}.parquet`]);
        expect(await query(`SELECT count(*) AS n FROM '${folder}/*.parquet'`)).toEqual([
          { n: 100n },
        ]);
      }
    }
    const outs = await readdir(join(dir, 'out'));
    expect(outs.sort()).toEqual(['existing.parquet', 'plain', 'slashed.parquet']);
  });

  it("refuses a folder path that holds the pipeline's folder, leaving it untouched", async () => {
    const dir = await tempDir();
    const project = join(dir, 'project');
    await mkdir(project);
    await writeFile(join(project, 'pipeline.ts'), '// mine');
    for (const config of [{ path: '.' }, { path: './' }, { path: '..', partitionBy: ['label'] }]) {
      const report = await runIn(
        project,
        pipeline('unsafe', {
          steps: { rows, out: sink.parquet({ input: ref('rows'), ...config }) },
        }),
      );
      expect(report.status, config.path).toBe('failed');
      expect(report.error?.message).toMatch(/holds the pipeline's folder/);
      expect(await readFile(join(project, 'pipeline.ts'), 'utf8')).toBe('// mine');
    }
  });

  it('still writes one file for a path ending in .parquet', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('file', {
        steps: { rows, out: sink.parquet({ input: ref('rows'), path: 'out/one.parquet' }) },
      }),
    );
    expect(report.status).toBe('success');
    expect(await query(`SELECT count(*) AS n FROM '${join(dir, 'out/one.parquet')}'`)).toEqual([
      { n: 100n },
    ]);
  });
});
