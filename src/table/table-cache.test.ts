import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheFile, forEachLimited } from './table-cache.js';

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

describe('cacheFile', () => {
  it('downloads once, keeps a copy of the right size, and replaces one of the wrong size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cache-'));
    folders.push(dir);
    const target = join(dir, 'a', 'part-0.parquet');
    let downloads = 0;
    const download = async (temporary: string): Promise<void> => {
      downloads++;
      await writeFile(temporary, 'four');
    };
    expect(await cacheFile(target, 4, download)).toBe(true);
    expect(await cacheFile(target, 4, download)).toBe(false);
    expect(await cacheFile(target, undefined, download)).toBe(false);
    expect(downloads).toBe(1);
    await writeFile(target, 'partial');
    expect(await cacheFile(target, 4, download)).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('four');
  });

  it('leaves no file under the target name when a download fails half-way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cache-'));
    folders.push(dir);
    const target = join(dir, 'part-0.parquet');
    await expect(
      cacheFile(target, 100, async (temporary) => {
        await writeFile(temporary, 'half');
        throw new Error('connection reset');
      }),
    ).rejects.toThrow('connection reset');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('forEachLimited', () => {
  it('runs at most `limit` at once and reports the first failure', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      done.push(n);
    });
    expect(most).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await expect(
      forEachLimited([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('two');
      }),
    ).rejects.toThrow('two');
  });
});
