/**
 * `npm run bench [-- group...]`: runs the benchmark groups (all by default), prints a table of
 * figures against the budgets of DESIGN.md and writes bench/results.json. A missed budget is
 * reported, not an error; a variant that crashes or does different work makes the exit code 1.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { arch, availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import { version as duckdbVersion } from '@duckdb/node-api';
import { runAlertsGroup } from './alerts.js';
import { runAPIGroup } from './api.js';
import { runBatchGroup } from './batch.js';
import { runCliGroup } from './cli.js';
import { runConnectorsGroup } from './connectors.js';
import type { BenchResult } from './common.js';
import { log } from './common.js';
import { runLineageGroup } from './lineage.js';
import { runObserveGroup } from './observe.js';
import { runQualityGroup } from './quality.js';
import { runOrchestratorGroup } from './orchestrator.js';
import { runStreamGroup } from './stream.js';
import { runTableGroup } from './table.js';
import { runTSStepGroup } from './tsstep.js';

const GROUPS: Readonly<Record<string, () => Promise<BenchResult[]>>> = {
  batch: runBatchGroup,
  tsstep: runTSStepGroup,
  quality: runQualityGroup,
  table: runTableGroup,
  orchestrator: runOrchestratorGroup,
  connectors: runConnectorsGroup,
  stream: runStreamGroup,
  cli: runCliGroup,
  observe: runObserveGroup,
  alerts: runAlertsGroup,
  lineage: runLineageGroup,
  api: runAPIGroup,
};

/** Budgets from DESIGN.md, by result id. */
const BUDGETS: Readonly<Record<string, { readonly op: '<=' | '>='; readonly limit: number }>> = {
  'batch.sluice_over_duckdb': { op: '<=', limit: 1.2 },
  'batch.pandas_over_sluice': { op: '>=', limit: 6 },
  'tsstep.sluice_over_node': { op: '<=', limit: 1.25 },
  'quality.sluice_over_duckdb': { op: '<=', limit: 1.3 },
  'quality.pandas_over_sluice': { op: '>=', limit: 5 },
  'table.append_commit_p50_ms': { op: '<=', limit: 50 },
  'table.merge_rewrite_fraction': { op: '<=', limit: 0.1 },
  'orchestrator.chain40_embedded_s': { op: '<=', limit: 1.5 },
  'orchestrator.chain40_postgres_s': { op: '<=', limit: 3 },
  'orchestrator.dispatch_p50_ms': { op: '<=', limit: 20 },
  'orchestrator.backfill5000_submit_embedded_s': { op: '<=', limit: 5 },
  'orchestrator.backfill5000_submit_postgres_s': { op: '<=', limit: 5 },
  'orchestrator.dag10k_plan_schedule_s': { op: '<=', limit: 5 },
  'stream.window_events_per_s_per_core': { op: '>=', limit: 500000 },
  'stream.nats_latency_p99_ms': { op: '<=', limit: 1000 },
  'cli.help_ms': { op: '<=', limit: 150 },
  'cli.check_ms': { op: '<=', limit: 400 },
  'cli.quickstart_s': { op: '<=', limit: 1.0 },
  'observe.overhead_ratio': { op: '<=', limit: 1.02 },
  'observe.stream_overhead_ratio': { op: '<=', limit: 1.02 },
  'observe.scrape_ms': { op: '<=', limit: 50 },
  'observe.series': { op: '<=', limit: 5000 },
  'alerts.evaluate_1000_pipelines_ms': { op: '<=', limit: 100 },
  'lineage.query_depth20_ms': { op: '<=', limit: 200 },
  'lineage.query_depth20_pg_ms': { op: '<=', limit: 500 },
  'lineage.derive_median_ms': { op: '<=', limit: 5 },
};

const RESULTS_FILE = fileURLToPath(new URL('./results.json', import.meta.url));

async function main(): Promise<number> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(name in GROUPS));
  if (unknown.length > 0) {
    log(`unknown group(s) ${unknown.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
    return 2;
  }
  const names = requested.length > 0 ? requested : Object.keys(GROUPS);
  const machineSummary = machine();
  const results: BenchResult[] = [];
  let crashed = false;
  for (const name of names) {
    log(`[${name}]`);
    try {
      results.push(...(await (GROUPS[name] as () => Promise<BenchResult[]>)()));
    } catch (error) {
      crashed = true;
      log(
        `[${name}] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }
  process.stdout.write(formatTable(results));
  await writeFile(
    RESULTS_FILE,
    `${JSON.stringify({ commit: gitCommit(), machine: machineSummary, results }, null, 2)}\n`,
  );
  log(`wrote ${RESULTS_FILE}`);
  return crashed ? 1 : 0;
}

const HEADER = ['id', 'value', 'unit', 'budget', 'ok?'];

function formatTable(results: readonly BenchResult[]): string {
  const table = [HEADER, ...results.map(tableRow)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  const lines = table.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

function tableRow(result: BenchResult): string[] {
  const value = formatValue(result);
  const budget = BUDGETS[result.id];
  if (budget === undefined) return [result.id, value, result.unit, '', ''];
  const met = budget.op === '<=' ? result.value <= budget.limit : result.value >= budget.limit;
  return [result.id, value, result.unit, `${budget.op} ${budget.limit}`, met ? 'ok' : 'MISSED'];
}

function formatValue(result: BenchResult): string {
  return result.unit === 'rows/s'
    ? Math.round(result.value).toLocaleString('en')
    : result.value.toFixed(2);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memory = `${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
  const load = `load ${(loadavg()[0] ?? 0).toFixed(2)} at start`;
  return `${type()} ${release()} ${arch()}; ${cpu}; ${availableParallelism()} cores; ${memory}; Node ${process.version}; DuckDB ${duckdbVersion()}; ${load}`;
}

process.exitCode = await main();
