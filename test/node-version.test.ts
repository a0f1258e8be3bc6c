import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';

describe('sluice on a Node.js it does not support', () => {
  it('says which versions it needs and exits 2, with no stack trace', async () => {
    const dir = await tempDir();
    const olderNode = join(dir, 'node18.mjs');
    await writeFile(
      olderNode,
      `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.19.0' } });\n`,
    );
    const child = spawnSync(
      process.execPath,
      ['--import', olderNode, join(ROOT, 'bin', 'sluice.js'), '--help'],
      { encoding: 'utf8' },
    );
    expect(child.status).toBe(2);
    expect(child.stderr).toContain('sluice needs Node.js 20 or later (24 recommended)');
    expect(child.stderr).toContain('this is Node.js 18.19.0');
    expect(child.stderr).not.toMatch(/\n\s+at /);
    expect(child.stdout).toBe('');
  });
});
