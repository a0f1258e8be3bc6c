import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { query, tempDir } from './helpers.js';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'sluice.js');

const PIPELINE = (rows: number, tag: string) => `import { pipeline, ref, sink, sql } from 'sluice';
export default pipeline('killable', {
  steps: {
    rows: sql\`select range as n, range % 20 as part, '${tag}' as tag, md5(range::varchar) as pad from range(${rows})\`,
    folder: sink.parquet({ input: ref('rows'), path: 'out/rows', partitionBy: ['part'] }),
    file: sink.csv({ input: ref('rows'), path: 'out/rows.csv' }),
  },
});
`;

function runToEnd(file: string, cwd: string): number | null {
  return spawnSync(process.execPath, [BIN, 'run', file, '--log-level', 'silent'], {
    cwd,
    encoding: 'utf8',
  }).status;
}

async function outputState(
  dir: string,
): Promise<{ folderTags: string[]; folderRows: number; csvRows: number }> {
  const folder = await query(
    `SELECT list(DISTINCT tag ORDER BY tag) AS tags, count(*) AS n FROM read_parquet('${join(dir, 'out/rows')}/**/*.parquet')`,
  );
  const csv = await query(`SELECT count(*) AS n FROM read_csv('${join(dir, 'out/rows.csv')}')`);
  return {
    folderTags: folder[0]?.['tags'] as string[],
    folderRows: Number(folder[0]?.['n']),
    csvRows: Number(csv[0]?.['n']),
  };
}

describe('a run killed with SIGKILL mid-write', () => {
  it('leaves every output either whole and old or whole and new, and the next run recovers', async () => {
    const dir = await tempDir();
    const file = join(dir, 'pipeline.ts');
    await writeFile(file, PIPELINE(200_000, 'old'));
    expect(runToEnd(file, dir)).toBe(0);
    expect(await outputState(dir)).toEqual({
      folderTags: ['old'],
      folderRows: 200_000,
      csvRows: 200_000,
    });

    await writeFile(file, PIPELINE(1_500_000, 'new'));
    // Fixed delays, then one kill the moment staging is seen (on a loaded machine the run may
    // reach staging later than every fixed delay).
    const delays = [150, 400, 700, 1000, 1300, 1600, 'staging'] as const;
    const staging = (): boolean =>
      readdirSync(join(dir, 'out')).some((e) => e.includes('sluice-staging'));
    let killedWhileStaging = 0;
    for (const delay of delays) {
      const child = spawn(process.execPath, [BIN, 'run', file, '--log-level', 'silent'], {
        cwd: dir,
        stdio: 'ignore',
      });
      let running = true;
      const exited = new Promise<void>((done) =>
        child.on('exit', () => {
          running = false;
          done();
        }),
      );
      if (delay === 'staging') {
        const deadline = Date.now() + 60_000;
        while (running && !staging() && Date.now() < deadline) await sleep(5);
      } else await sleep(delay);
      if (staging()) killedWhileStaging++;
      child.kill('SIGKILL');
      await exited;
      const state = await outputState(dir);
      // Whatever moment the kill hit, each output is one run's complete data.
      const expectedRows = (tags: string[]) => (tags[0] === 'new' ? 1_500_000 : 200_000);
      expect(state.folderTags.length).toBe(1);
      expect(state.folderRows).toBe(expectedRows(state.folderTags));
      expect([200_000, 1_500_000]).toContain(state.csvRows);
    }

    expect(killedWhileStaging).toBeGreaterThan(0);
    expect(runToEnd(file, dir)).toBe(0);
    expect(await outputState(dir)).toEqual({
      folderTags: ['new'],
      folderRows: 1_500_000,
      csvRows: 1_500_000,
    });
    const leftovers = readdirSync(join(dir, 'out')).filter((e) => e.includes('sluice-previous'));
    expect(leftovers).toEqual([]);
    expect(existsSync(join(dir, 'out/rows'))).toBe(true);
  });
});
