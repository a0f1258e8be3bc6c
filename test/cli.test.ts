import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../src/index.js';
import { ROOT, query, sluice, tempDir } from './helpers.js';

async function pipelineFile(dir: string, name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    `import { pipeline, ref, schema, sink, source, sql, t, transform } from 'sluice';\n${body}`,
  );
  return file;
}

describe('sluice CLI', () => {
  it('runs the quickstart: quarantined rows with reasons, partitioned Parquet, a JSON report', async () => {
    const state = await tempDir();
    const run = sluice(['run', 'examples/quickstart/pipeline.ts', '--state-dir', state]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/pipeline "quickstart": SUCCESS/);
    expect(run.stdout).toMatch(/orders_csv\s+source:csv\s+success\s+32\s+28\s+4/);
    expect(run.stdout).toMatch(/orders_ndjson\s+source:ndjson\s+success\s+17\s+15\s+2/);
    expect(run.stdout).toMatch(/checked_orders\s+check\s+success\s+43\s+42\s+1/);
    expect(run.stdout).toMatch(/orders_eur\s+transform\s+success\s+42\s+41\s+1/);
    expect(run.stdout).toContain('Quarantined 8 record(s), with reasons:');
    expect(run.stdout).toContain(
      'FAILED [warn] column_values_to_be_unique(order_id): 2 unexpected of 43',
    );
    const logLines = run.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logLines.every((l) => typeof l['runId'] === 'string')).toBe(true);
    expect(logLines.some((l) => l['stepId'] === 'orders_eur' && l['msg'] === 'step finished')).toBe(
      true,
    );

    const [reportFile] = await readdir(join(state, 'runs')).then((e) =>
      e.filter((f) => f.endsWith('.json')),
    );
    const report = JSON.parse(
      readFileSync(join(state, 'runs', reportFile as string), 'utf8'),
    ) as RunReport;
    expect(report.rowsQuarantined).toBe(8);
    const reasons = readFileSync(join(report.quarantineDir, 'orders_csv.ndjson'), 'utf8');
    expect(reasons).toContain('column \\"customer_id\\": required value is missing');
    expect(reasons).toContain('Could not convert string \\"twelve\\"');
    const out = join(ROOT, 'examples/quickstart/out/daily_revenue');
    expect((await readdir(out)).filter((d) => d.startsWith('order_date=')).length).toBe(5);
    const totals = await query(
      `SELECT sum(orders) AS orders FROM read_parquet('${out}/**/*.parquet')`,
    );
    expect(Number(totals[0]?.['orders'])).toBeGreaterThan(0);

    // The Delta output is merged by order id: a second run leaves the same rows.
    const delta = join(ROOT, 'examples/quickstart/out/orders_delta');
    const rows = (): string[] =>
      sluice(['table', 'read', delta, '--format', 'csv']).stdout.trim().split('\n').sort();
    const first = rows();
    expect(sluice(['run', 'examples/quickstart/pipeline.ts', '--state-dir', state]).code).toBe(0);
    const described = JSON.parse(sluice(['table', 'describe', delta, '--json']).stdout) as {
      rows: number;
      version: number;
    };
    expect(described.rows).toBe(40);
    expect(described.version).toBeGreaterThan(0);
    expect(rows()).toEqual(first);
    const ids = first.slice(1).map((line) => line.split(',')[0]);
    expect(new Set(ids).size).toBe(40);
  });

  it("runs the README's example pipeline, which is examples/orders-daily verbatim", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /## A pipeline\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(join(ROOT, 'examples/orders-daily/pipeline.ts'), 'utf8'));
    const state = await tempDir();
    const run = sluice([
      'run',
      'examples/orders-daily/pipeline.ts',
      '--param',
      'min_amount=10',
      '--json',
      '--state-dir',
      state,
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    expect(report.steps.map((s) => [s.id, s.rowsIn, s.rowsOut, s.rowsQuarantined])).toEqual([
      ['orders', 7, 5, 2],
      ['daily', 5, 4, 0],
      ['tiers', 4, 4, 0],
      ['out', 4, 4, 0],
    ]);
  });

  it('prints the report as JSON with --json and takes --param', async () => {
    const dir = await tempDir();
    const file = await pipelineFile(
      dir,
      'p.ts',
      `import { param } from 'sluice';
export default pipeline('params', {
  params: { greeting: 'hello' },
  steps: {
    g: sql\`select \${param('greeting')} as g\`,
    out: sink.csv({ input: ref('g'), path: 'g.csv' }),
  },
});`,
    );
    const run = sluice([
      'run',
      file,
      '--json',
      '--param',
      'greeting=bonjour',
      '--state-dir',
      join(dir, 'state'),
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    expect(report).toMatchObject({
      pipeline: 'params',
      status: 'success',
      params: { greeting: 'bonjour' },
    });
    expect(readFileSync(join(dir, 'g.csv'), 'utf8')).toBe('g\nbonjour\n');

    const unknown = sluice([
      'run',
      file,
      '--param',
      'greting=x',
      '--state-dir',
      join(dir, 'state'),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('param "greting" is not declared by pipeline "params"');
    const malformed = sluice(['run', file, '--param', 'greeting']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--param expects key=value, got "greeting"');
  });

  it('reuses unchanged steps with --use-cache, and runs them again after the file changes', async () => {
    const dir = await tempDir();
    const body = (greeting: string): string => `export default pipeline('cached', {
  steps: {
    g: sql\`select '${greeting}' as g\`,
    out: sink.csv({ input: ref('g'), path: 'g.csv' }),
  },
});`;
    const file = await pipelineFile(dir, 'p.ts', body('hello'));
    const run = () => sluice(['run', file, '--use-cache', '--state-dir', join(dir, 'state')]);
    expect(run().code).toBe(0);
    const again = run();
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^g +sql +cached/m);
    expect(again.stdout).toMatch(/^out +sink:csv +cached/m);

    await pipelineFile(dir, 'p.ts', body('bonjour'));
    const changed = run();
    expect(changed.stdout).toMatch(/^g +sql +success/m);
    expect(readFileSync(join(dir, 'g.csv'), 'utf8')).toBe('g\nbonjour\n');
  });

  it("keeps incremental sources' watermarks between runs, and reads everything with --full-refresh", async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'events.csv'),
      'id,at\n1,2024-01-01 10:00:00\n2,2024-01-01 11:00:00\n',
    );
    const file = await pipelineFile(
      dir,
      'p.ts',
      `export default pipeline('events', {
  steps: {
    events: source.csv({ path: 'events.csv', incremental: { cursor: 'at' } }),
    out: sink.ndjson({ input: ref('events'), path: 'events.ndjson' }),
  },
});`,
    );
    const run = (...extra: string[]) =>
      sluice(['run', file, '--json', '--state-dir', join(dir, 'state'), ...extra]);
    const rowsOut = (result: { stdout: string }) =>
      (JSON.parse(result.stdout) as RunReport).steps.find((s) => s.id === 'events')?.rowsOut;
    expect(rowsOut(run())).toBe(2);
    expect(rowsOut(run())).toBe(0);
    await writeFile(
      join(dir, 'events.csv'),
      'id,at\n1,2024-01-01 10:00:00\n2,2024-01-01 11:00:00\n3,2024-01-01 12:00:00\n',
    );
    expect(rowsOut(run())).toBe(1);
    expect(rowsOut(run('--full-refresh'))).toBe(3);
    expect(rowsOut(run())).toBe(0);
  });

  it('checks a pipeline: prints the DAG, or every problem with file and line', async () => {
    const dir = await tempDir();
    const ok = sluice(['check', 'examples/quickstart/pipeline.ts']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Pipeline "quickstart" is valid: 9 steps in run order');
    expect(ok.stdout).toMatch(/all_orders\s+sql\s+<- orders_csv, orders_ndjson/);

    const file = await pipelineFile(
      dir,
      'broken.ts',
      `export default pipeline('broken', {
  steps: {
    orders: source.csv({ path: 'orders.csv', delimeter: ';' } as never),
    daily: sql\`select * from \${ref('ordrs')}\`,
    out: sink.parquet({ input: ref('daily'), path: 'o', compression: 'brotli' as never }),
  },
});`,
    );
    const bad = sluice(['check', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('3 problems found:');
    expect(bad.stderr).toContain(
      `${file}:4 step "orders" at delimeter: unknown option "delimeter" for source csv`,
    );
    expect(bad.stderr).toContain('did you mean "delimiter"?');
    expect(bad.stderr).toContain(
      `${file}:5 step "daily" at ${'${}'} #1: ref("ordrs") names no step`,
    );
    expect(bad.stderr).toContain('did you mean ref("orders")?');
    expect(bad.stderr).toContain(`${file}:6 step "out" at compression`);

    const json = sluice(['check', file, '--json']);
    expect(json.code).toBe(2);
    const parsed = JSON.parse(json.stdout) as { error: { diagnostics: unknown[] } };
    expect(parsed.error.diagnostics).toHaveLength(3);
  });

  it('checks the quickstart without loading DuckDB or any connector implementation', async () => {
    const out = join(await tempDir(), 'modules.json');
    const check = spawnSync(
      process.execPath,
      [
        '--import',
        join(ROOT, 'bench', 'cli', 'count-modules.js'),
        join(ROOT, 'bin', 'sluice.js'),
        'check',
        'examples/quickstart/pipeline.ts',
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SLUICE_BENCH_MODULES_OUT: out } },
    );
    expect(check.status).toBe(0);
    const { files } = JSON.parse(readFileSync(out, 'utf8')) as { files: string[] };
    // The counter itself sees the connector specs, so it is looking at the right process.
    expect(files.some((file) => file.endsWith('/dist/connectors/files/csv-source.js'))).toBe(true);
    expect(files.filter((file) => file.includes('/@duckdb/') || file.endsWith('.node'))).toEqual(
      [],
    );
    expect(
      files.filter((file) =>
        /\/dist\/connectors\/.*-(reader|writer|writers|sink-writer|model-runner)\.js$/.test(file),
      ),
    ).toEqual([]);
  });

  it('exits 2 with a clear message for a missing file, a file that throws, and no default export', async () => {
    const dir = await tempDir();
    const missing = sluice(['run', join(dir, 'nope.ts')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the file does not exist');

    const throws = await pipelineFile(
      dir,
      'throws.ts',
      `throw new Error('config service unreachable');\nexport default pipeline('x', { steps: {} });`,
    );
    const thrown = sluice(['run', throws]);
    expect(thrown.code).toBe(2);
    expect(thrown.stderr).toContain('it threw while loading: Error: config service unreachable');
    expect(thrown.stderr).toContain(`hint: at ${throws}:2`);
    expect(thrown.stderr).not.toMatch(/^\s+at .*node_modules/m);

    const noDefault = await pipelineFile(dir, 'nodefault.ts', `export const p = 1;`);
    const nothing = sluice(['check', noDefault]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('its default export is not a pipeline');

    const syntax = join(dir, 'syntax.ts');
    await writeFile(syntax, 'export default pipeline(');
    expect(sluice(['check', syntax]).code).toBe(2);
  });

  it('loads the pipeline file once per run (in the run process), which still enforces its timeout', async () => {
    const dir = await tempDir();
    const loads = join(dir, 'loads.txt');
    const counted = await pipelineFile(
      dir,
      'counted.ts',
      `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(loads)}, 'loaded\\n');
export default pipeline('counted', { timeout: '1m', steps: { rows: sql\`select 1 as n\` } });`,
    );
    const ran = sluice(['run', counted, '--json'], dir);
    expect(ran.code).toBe(0);
    expect((JSON.parse(ran.stdout) as RunReport).pipeline).toBe('counted');
    expect(readFileSync(loads, 'utf8')).toBe('loaded\n');

    const slow = await pipelineFile(
      dir,
      'slow.ts',
      `export default pipeline('slow', {
  timeout: '1s',
  steps: {
    rows: sql\`select 1 as n\`,
    wait: transform({ input: ref('rows'), map: (row) => new Promise((r) => setTimeout(() => r(row), 60_000)) }),
  },
});`,
    );
    const timedOut = sluice(['run', slow, '--json'], dir);
    expect(timedOut.code).toBe(1);
    expect(JSON.parse(timedOut.stdout)).toMatchObject({
      pipeline: 'slow',
      status: 'failed',
      error: { code: 'RUN_TIMEOUT' },
    });
  });

  it('exits 1 when a step fails, naming the step', async () => {
    const dir = await tempDir();
    const file = await pipelineFile(
      dir,
      'fails.ts',
      `export default pipeline('fails', {
  steps: {
    rows: sql\`select 1 as id\`,
    bad: transform({ input: ref('rows'), map: () => { throw new Error('bug in my code'); } }),
  },
});`,
    );
    const run = sluice(['run', file, '--state-dir', join(dir, 'state')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'Error [USER_CODE_FAILED]: Step "bad" threw: Error: bug in my code',
    );
    expect(run.stdout).toMatch(/bad\s+transform\s+failed/);
  });

  it('scaffolds a project that runs, and refuses a folder that is not empty', async () => {
    const dir = await tempDir();
    const project = join(dir, 'my-pipelines');
    const init = sluice(['init', project]);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('npx sluice run');
    const run = sluice([
      'run',
      join(project, 'pipeline.ts'),
      '--state-dir',
      join(project, '.sluice'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/orders\s+source:csv\s+success\s+5\s+3\s+2/);
    expect(existsSync(join(project, 'out/daily'))).toBe(true);
    const triggered = sluice(['trigger', 'orders', '--project', project]);
    expect(triggered.code, triggered.stderr).toBe(0);
    expect(triggered.stdout).toMatch(/^run_\S+ queued\n$/);
    await mkdir(join(dir, 'full'));
    await writeFile(join(dir, 'full', 'x'), '');
    const refused = sluice(['init', join(dir, 'full')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not empty');
  });

  it('shows help for every command and exits 2 on bad usage', () => {
    const help = sluice(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['run', 'check', 'init']) {
      expect(help.stdout).toContain(command);
      const sub = sluice([command, '--help']);
      expect(sub.code).toBe(0);
      expect(sub.stdout).toContain(`Usage: sluice ${command}`);
    }
    expect(sluice(['run']).code).toBe(2);
    expect(sluice(['frobnicate']).code).toBe(2);
    expect(sluice(['run', 'x.ts', '--no-such-flag']).code).toBe(2);
  });
});
