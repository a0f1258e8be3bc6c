import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, sink, source, sql } from '../src/index.js';
import { runIn, stepOf, tempDir } from './helpers.js';
import { silentLogger } from '../src/core/logger.js';
import { filesStreamSink, filesStreamSource } from '../src/connectors/files/ndjson-stream.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Every non-blank line of an NDJSON file, parsed. */
async function ndjsonLines(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

const HANGING_PIPELINE = (
  srcIndex: string,
) => `import { pipeline, ref, sink, sql, transform, schema, t } from '${srcIndex}';
export default pipeline('killed', {
  steps: {
    rows: sql\`select range as n, 'g' || (range % 2) as grp from range(1000)\`,
    sales: sink.parquet({ input: ref('rows'), path: 'out/sales', partitionBy: ['grp'] }),
    stuck: transform({
      input: ref('rows'),
      schema: schema({ n: t.int64() }),
      map: () => new Promise((done) => setTimeout(done, 600_000)),
    }),
  },
});
`;

const RUNNER = (
  pipelineFile: string,
  srcIndex: string,
) => `import { runPipeline } from '${srcIndex}';
const mod = await import('${pipelineFile}');
await runPipeline(mod.default, { baseDir: process.argv[2], stateDir: process.argv[2] + '/.sluice' });
`;

/** Runs the hanging pipeline in a child process and SIGKILLs it once its staging holds a file. */
async function killMidRun(dir: string): Promise<void> {
  const srcIndex = join(ROOT, 'src/index.ts');
  await writeFile(join(dir, 'killed.ts'), HANGING_PIPELINE(srcIndex));
  await writeFile(join(dir, 'runner.ts'), RUNNER(join(dir, 'killed.ts'), srcIndex));
  const child = spawn(
    process.execPath,
    ['--import', 'jiti/register', join(dir, 'runner.ts'), dir],
    { cwd: ROOT, stdio: 'ignore' },
  );
  let running = true;
  const exited = new Promise<void>((done) =>
    child.on('exit', () => {
      running = false;
      done();
    }),
  );
  const stagedFile = (): boolean => {
    const out = join(dir, 'out');
    if (!existsSync(out)) return false;
    return readdirSync(out)
      .filter((e) => e.includes('sluice-staging'))
      .some((e) =>
        readdirSync(join(out, e), { recursive: true }).some((f) => String(f).endsWith('.parquet')),
      );
  };
  const deadline = Date.now() + 120_000;
  while (running && !stagedFile() && Date.now() < deadline) await sleep(20);
  expect(stagedFile()).toBe(true);
  child.kill('SIGKILL');
  await exited;
}

describe('staging left by a killed run', () => {
  it('is never read by file sources, and the next run of the sink clears it (and only it)', async () => {
    const dir = await tempDir();
    const sales = sql`select range as n, 'g' || (range % 2) as grp, 'published' as tag from range(10)`;
    const first = await runIn(
      dir,
      pipeline('killed', {
        steps: {
          rows: sales,
          sales: sink.parquet({ input: ref('rows'), path: 'out/sales', partitionBy: ['grp'] }),
        },
      }),
    );
    expect(first.status).toBe('success');
    // A user's own files that look alike must survive every cleanup.
    await writeFile(join(dir, 'out/.sales.notes'), 'mine');
    await mkdir(join(dir, 'out/_sales_backup/grp=g0'), { recursive: true });
    await writeFile(join(dir, 'out/_sales_backup/grp=g0/keep.txt'), 'mine');

    await killMidRun(dir);
    const leftovers = (await readdir(join(dir, 'out'))).filter((e) => e.includes('sluice-staging'));
    expect(leftovers.length).toBeGreaterThan(0);

    // A user's glob over the output folder reads the published files only.
    const read = await runIn(
      dir,
      pipeline('reader', {
        steps: {
          input: source.parquet({ path: 'out/*/grp=*/*.parquet' }),
          out: sink.ndjson({ input: ref('input'), path: 'read.ndjson' }),
        },
      }),
    );
    expect(read.status).toBe('success');
    expect(stepOf(read, 'input').rowsOut).toBe(10);
    expect(stepOf(read, 'input').inputs.every((f) => f.includes('/out/sales/grp='))).toBe(true);

    // The next run of the same sink clears the dead run's staging, however recent.
    const next = await runIn(
      dir,
      pipeline('killed', {
        steps: {
          rows: sales,
          sales: sink.parquet({ input: ref('rows'), path: 'out/sales', partitionBy: ['grp'] }),
        },
      }),
    );
    expect(next.status).toBe('success');
    expect((await readdir(join(dir, 'out'))).sort()).toEqual([
      '.sales.notes',
      '_sales_backup',
      'sales',
    ]);
    expect(await readFile(join(dir, 'out/_sales_backup/grp=g0/keep.txt'), 'utf8')).toBe('mine');
  }, 180_000);

  it('file sources skip hidden files and folders (leading . or _) that a glob matches', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in/_temporary'), { recursive: true });
    await mkdir(join(dir, 'in/.staging'), { recursive: true });
    await mkdir(join(dir, 'in/_explicit'), { recursive: true });
    await writeFile(join(dir, 'in/a.ndjson'), '{"n": 1}\n');
    await writeFile(join(dir, 'in/.b.ndjson'), '{"n": 2}\n');
    await writeFile(join(dir, 'in/_c.ndjson'), '{"n": 3}\n');
    await writeFile(join(dir, 'in/_temporary/d.ndjson'), '{"n": 4}\n');
    await writeFile(join(dir, 'in/.staging/e.ndjson'), '{"n": 5}\n');
    await writeFile(join(dir, 'in/_explicit/f.ndjson'), '{"n": 6}\n');
    const read = async (path: string | string[]): Promise<number[]> => {
      const report = await runIn(
        dir,
        pipeline('hidden', {
          steps: {
            input: source.ndjson({ path }),
            out: sink.ndjson({ input: ref('input'), path: 'read.ndjson' }),
          },
        }),
      );
      expect(report.status).toBe('success');
      return (await ndjsonLines(join(dir, 'read.ndjson')))
        .map((r) => (r as { n: number }).n)
        .sort();
    };
    expect(await read('in/**/*.ndjson')).toEqual([1]);
    expect(await read('in/*.ndjson')).toEqual([1]);
    // Named on purpose: a literal hidden segment, or a pattern starting with . or _.
    expect(await read('in/_explicit/*.ndjson')).toEqual([6]);
    expect(await read('in/.b.ndjson')).toEqual([2]);
    expect(await read('in/_*.ndjson')).toEqual([3]);
  });
});

describe('the files stream connectors and hidden files', () => {
  it('the source tails no hidden file, and the sink writes its parts under hidden names until committed', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.ndjson'), '{"n": 1}\n');
    await writeFile(join(dir, '.part-0000000001.ndjson'), '{"n": 2}\n');
    await writeFile(join(dir, '_staging.ndjson'), '{"n": 3}\n');
    await writeFile(join(dir, 'p=1.ndjson'), '{"n": 4}\n');
    const reader = await filesStreamSource.open(
      { path: dir, suffix: '.ndjson' },
      {
        stepId: 'in',
        streamName: 'hidden',
        consumer: 'hidden',
        worker: 'w1',
        start: { kind: 'beginning' },
        logger: silentLogger,
        signal: new AbortController().signal,
      },
    );
    const records = await reader.pull(100, 0);
    expect(records.map((r) => r.value)).toEqual([{ n: 1 }, { n: 4 }]);
    await reader.close();

    const out = join(dir, 'out');
    const sink = await filesStreamSink.open(
      { path: out },
      {
        stepId: 'out',
        streamName: 'hidden',
        logger: silentLogger,
        signal: new AbortController().signal,
      },
    );
    await sink.write([{ n: 1 }]);
    await sink.commit({ checkpointId: 1, snapshot: {} });
    expect((await readdir(out)).sort()).toEqual(['_checkpoints', 'part-0000000001.ndjson']);
    expect(await readdir(join(out, '_checkpoints'))).toEqual(['0000000001.json']);
    await sink.close();

    // A checkpoint that died before its renames leaves hidden temporary files: the next open
    // recovers from the last committed checkpoint and removes them.
    await writeFile(join(out, '.part-0000000002.ndjson.tmp'), '{"n": 2}\n');
    await writeFile(join(out, '_checkpoints/.0000000002.json.tmp'), '{}');
    const reopened = await filesStreamSink.open(
      { path: out },
      {
        stepId: 'out',
        streamName: 'hidden',
        logger: silentLogger,
        signal: new AbortController().signal,
      },
    );
    expect(await reopened.recover?.()).toEqual({ checkpointId: 1, snapshot: {} });
    expect((await readdir(out)).sort()).toEqual(['_checkpoints', 'part-0000000001.ndjson']);
    expect(await readdir(join(out, '_checkpoints'))).toEqual(['0000000001.json']);
    await reopened.close();
  });
});
