import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice, tempDir } from './helpers.js';

const DATASET = 'quickstart.checked_orders';

describe('sluice docs', () => {
  let state = '';

  // Shared by the tests below (tempDir() folders are removed after each test).
  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), 'sluice-docs-'));
    for (let i = 0; i < 3; i++) {
      const run = sluice(['run', 'examples/quickstart/pipeline.ts', '--state-dir', state]);
      expect(run.code, run.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await rm(state, { recursive: true, force: true });
  });

  it('writes an index and a dataset page from real quickstart runs', () => {
    const docs = sluice(['docs', '--state-dir', state]);
    expect(docs.code, docs.stderr).toBe(0);
    expect(docs.stderr).toBe('');
    expect(docs.stdout).toMatch(
      /^Data docs for 1 dataset\(s\) from 3 run report\(s\), 1 failing their latest validation, in \d+\.\d\ds\.$/m,
    );
    expect(docs.stdout).toContain(`  FAILED   66.7  ${DATASET} (3 run(s))`);
    const indexFile = join(state, 'docs', 'index.html');
    expect(docs.stdout).toContain(`Open ${indexFile}`);

    const index = readFileSync(indexFile, 'utf8');
    expect(index).toContain(`href="datasets/${DATASET}.html">${DATASET}</a>`);
    expect(index).toContain('66.7');
    expect(index).toContain('<span class="badge bad">failed</span>');
    expect(index.match(/<code>run_\d{8}T\d{6}Z_[0-9a-f]{8}<\/code>/g)).toHaveLength(3);

    const pageFile = join(state, 'docs', 'datasets', `${DATASET}.html`);
    expect(existsSync(pageFile)).toBe(true);
    const page = readFileSync(pageFile, 'utf8');
    expect(page).toMatch(/<b class="bad">66\.7<\/b><span>quality score<\/span>/);
    // The two failed expectations of the quickstart suite, with their failed samples.
    expect(page).toContain('<code>column_values_to_match_regex(customer_id)</code>');
    expect(page).toContain('<li><code>&quot;C 011&quot;</code></li>');
    expect(page).toContain('<code>column_values_to_be_unique(order_id)</code>');
    expect(page).toContain('2 unexpected of 43 (4.65%)');
    expect(page).toContain('<li><code>1002</code></li>');
    expect(page).toContain(`aria-label="quality score of ${DATASET}"`);
    expect(page).toContain(`aria-label="row count of ${DATASET}"`);
    expect(page).toContain('aria-label="null % of column customer_id"');
    expect(page).toContain('3 measurement(s)');
  });

  it('writes to --out and prints a JSON summary with --json', async () => {
    const out = join(await tempDir(), 'site');
    const docs = sluice(['docs', '--state-dir', state, '--out', out, '--json']);
    expect(docs.code, docs.stderr).toBe(0);
    const result = JSON.parse(docs.stdout) as {
      status: string;
      outDir: string;
      runsRead: number;
      datasets: { name: string; file: string; runs: number; success: boolean }[];
    };
    expect(result).toMatchObject({ status: 'success', outDir: out, runsRead: 3 });
    expect(result.datasets).toEqual([
      expect.objectContaining({
        name: DATASET,
        file: join(out, 'datasets', `${DATASET}.html`),
        runs: 3,
        success: false,
      }),
    ]);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it('says there is nothing yet for an empty state folder, and exits 2 for a missing one', async () => {
    const empty = await tempDir();
    const docs = sluice(['docs', '--state-dir', empty]);
    expect(docs.code).toBe(0);
    expect(docs.stdout).toContain('No run reports in');
    expect(readFileSync(join(empty, 'docs', 'index.html'), 'utf8')).toContain(
      'Nothing to show yet',
    );

    const missing = sluice(['docs', '--state-dir', join(empty, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^error \[CONFIG_INVALID\]: [\s\S]*there is no state folder at /,
    );
    expect(missing.stderr).toContain('hint: run a pipeline first');
  });

  it('refuses to overwrite a folder that is not a docs site', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'mine'));
    await writeFile(join(dir, 'mine', 'keep.txt'), 'keep');
    const docs = sluice(['docs', '--state-dir', state, '--out', join(dir, 'mine')]);
    expect(docs.code).toBe(2);
    expect(docs.stderr).toContain('is not a data docs site, so it will not be replaced');
    expect(readFileSync(join(dir, 'mine', 'keep.txt'), 'utf8')).toBe('keep');
    const bad = sluice(['docs', '--state-dir', state, '--runs-per-dataset', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--runs-per-dataset must be a positive integer');
  });

  it('documents itself in --help', () => {
    const help = sluice(['docs', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: sluice docs [options]');
    expect(help.stdout).toContain('--state-dir <dir>');
    expect(help.stdout).toContain('--out <dir>');
    expect(help.stdout).toContain('--json');
    const top = sluice(['--help']);
    expect(top.stdout).toMatch(/docs\s+.*Write the data docs/);
  });
});
