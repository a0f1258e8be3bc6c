import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectingWrapsAborts } from '../src/orchestrator/sql-database.js';
import { ROOT, tempDir } from './helpers.js';

describe('the embedded store and the garbage collector', () => {
  it('knows the Node.js versions whose collector aborts on a freed better-sqlite3 object', () => {
    expect(collectingWrapsAborts('20.20.2')).toBe(false);
    expect(collectingWrapsAborts('22.22.0')).toBe(false);
    expect(collectingWrapsAborts('24.18.0')).toBe(false);
    expect(collectingWrapsAborts('24.19.0')).toBe(true);
    expect(collectingWrapsAborts('24.21.0')).toBe(true);
    expect(collectingWrapsAborts('26.3.1')).toBe(false);
    expect(collectingWrapsAborts('26.4.0')).toBe(true);
    expect(collectingWrapsAborts('27.0.0')).toBe(true);
  });

  // On Node 24.19+ this aborted the process ("Assertion failed: (env) != nullptr") once the
  // collector freed the statements of a closed store (nodejs/node#65446).
  it('survives many stores opened, used, closed and collected, on this Node.js', async () => {
    const dir = await tempDir();
    const module = pathToFileURL(join(ROOT, 'dist', 'orchestrator', 'sql-database.js')).href;
    const script = join(dir, 'churn.mjs');
    await writeFile(
      script,
      `import { openDatabase } from ${JSON.stringify(module)};
for (let i = 0; i < 40; i++) {
  const db = await openDatabase(${JSON.stringify(join(dir, 'store'))} + i + '.db');
  await db.run('CREATE TABLE t (n INTEGER)');
  for (let n = 0; n < 50; n++) await db.run('INSERT INTO t VALUES (' + n + ')');
  await db.all('SELECT count(*) AS n FROM t');
  await db.close();
}
let junk = [];
for (let i = 0; i < 2e6; i++) junk.push({ i, s: 'x' + i });
junk = null;
for (let i = 0; i < 2e6; i++) ({ i });
console.log('survived');
`,
    );
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).not.toContain('Assertion failed');
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('survived');
  });
});
