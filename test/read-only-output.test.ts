import { spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';

/**
 * Root ignores file modes, so as root the command runs as the unprivileged user `nobody`
 * (uid 65534), which respects them; without a uid to switch to (not POSIX) the tests skip.
 */
const NOBODY = 65_534;
const uid = process.getuid?.();
const skip = uid === undefined ? 'file modes need a POSIX system with process.getuid()' : undefined;

/** Runs the built CLI in `cwd`, as `nobody` when this process is root. */
function sluiceAs(args: readonly string[], cwd: string): { code: number | null; out: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, HOME: cwd, SLUICE_DEBUG: '' },
    ...(uid === 0 ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/** A project folder anyone may write, with `out/` read-only. */
async function project(sinks: string): Promise<string> {
  const dir = await tempDir('sluice-readonly-');
  await chmod(dir, 0o777);
  await writeFile(
    join(dir, 'pipeline.ts'),
    `import { pipeline, ref, sink, sql } from 'sluice';
export default pipeline('readonly', { steps: { rows: sql\`select 1 as a, 'x' as b\`, ${sinks} } });
`,
  );
  await chmod(join(dir, 'pipeline.ts'), 0o666);
  await mkdir(join(dir, 'out'));
  await chmod(join(dir, 'out'), 0o555);
  return dir;
}

const SINKS: Readonly<Record<string, string>> = {
  csv: `s: sink.csv({ input: ref('rows'), path: 'out/a.csv' })`,
  'parquet folder': `s: sink.parquet({ input: ref('rows'), path: 'out/pq', partitionBy: ['b'] })`,
  'ndjson in a new sub-folder': `s: sink.ndjson({ input: ref('rows'), path: 'out/new/deeper/a.ndjson' })`,
  avro: `s: sink.avro({ input: ref('rows'), path: 'out/a.avro' })`,
  delta: `s: sink.delta({ input: ref('rows'), path: 'out/table' })`,
  duckdb: `s: sink.duckdb({ input: ref('rows'), path: 'out/a.duckdb', table: 't' })`,
};

describe.skipIf(skip !== undefined)('a read-only output folder', () => {
  for (const [name, sinkStep] of Object.entries(SINKS))
    it(`is named with what to do, for the ${name} sink`, async () => {
      const dir = await project(sinkStep);
      const run = sluiceAs(['run', 'pipeline.ts'], dir);
      expect(run.code, run.out).toBe(1);
      expect(run.out).toContain(
        `cannot write to ${join(dir, 'out')}: permission denied\n  hint: make it writable or choose another path`,
      );
      expect(run.out).not.toMatch(/ENOENT|EACCES|INTERNAL/);
    }, 60_000);

  it('a project folder where the run store cannot be created is named too', async () => {
    const dir = await project(`s: sink.csv({ input: ref('rows'), path: 'out/a.csv' })`);
    await chmod(dir, 0o555);
    try {
      const run = sluiceAs(['run', 'pipeline.ts'], dir);
      expect(run.code, run.out).toBe(1);
      expect(run.out).toContain(`cannot write to ${dir}: permission denied`);
      expect(run.out).toMatch(/hint: make it writable or choose another path/);
      expect(run.out).not.toMatch(/ENOENT|EACCES|INTERNAL/);
    } finally {
      await chmod(dir, 0o777);
    }
  }, 60_000);

  it('sluice docs and sluice init name the folder too', async () => {
    const dir = await project(`s: sink.csv({ input: ref('rows'), path: 'ok/a.csv' })`);
    await mkdir(join(dir, 'ok'));
    await chmod(join(dir, 'ok'), 0o777);
    const run = sluiceAs(['run', 'pipeline.ts'], dir);
    expect(run.code, run.out).toBe(0);
    const docs = sluiceAs(['docs', '--out', 'out/docs'], dir);
    expect(docs.code, docs.out).toBe(2);
    expect(docs.out).toContain(`cannot write to ${join(dir, 'out')}: permission denied`);
    const init = sluiceAs(['init', 'out/project'], dir);
    expect(init.code, init.out).toBe(2);
    expect(init.out).toContain(
      `cannot write to ${join(dir, 'out')}: permission denied\n  hint: make it writable or choose another path`,
    );
    for (const output of [docs.out, init.out]) expect(output).not.toMatch(/ENOENT|EACCES|INTERNAL/);
  }, 90_000);
});
