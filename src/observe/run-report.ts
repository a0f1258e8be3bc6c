import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { textTable } from '../core/text-table.js';
import type { StepKind } from '../define/steps.js';
import type { SuiteResult } from '../quality/expectation.js';

/** How a step or run ended. */
export type RunStatus = 'success' | 'failed' | 'canceled';
export type StepStatus = 'success' | 'failed' | 'skipped' | 'canceled';

/** A failure as it appears in reports and `--json` output. */
export interface ReportedError {
  readonly code: string;
  readonly message: string;
  readonly stepId?: string;
  readonly hint?: string;
  /** Present when trying the run again may succeed (a dropped connection, a rate limit). */
  readonly retryable?: true;
  /** How long to wait before trying again, when the failure said so. */
  readonly retryAfterMs?: number;
}

/** One step's line of the run report. */
export interface StepReport {
  readonly id: string;
  readonly kind: StepKind;
  /** The connector of a source or sink. */
  readonly connector?: string;
  readonly status: StepStatus;
  /**
   * Records read: from files for sources, from the input dataset(s) otherwise. Null when not
   * counted (a SQL step reading a view that another SQL step reads).
   */
  readonly rowsIn: number | null;
  /** Records produced (or written, for sinks). Null for a view no transform or sink read. */
  readonly rowsOut: number | null;
  readonly rowsQuarantined: number;
  readonly durationMs: number;
  /** Files or tables the step read from outside the pipeline. */
  readonly inputs: readonly string[];
  /** Files or tables the step wrote (visible once the run succeeded). */
  readonly outputs: readonly string[];
  /** Where this step's quarantined records are, when it has any. */
  readonly quarantineFile?: string;
  readonly error?: ReportedError;
  /** For sources: differences between the declared schema and the data, as the policy accepted them. */
  readonly schemaChanges?: readonly string[];
  /**
   * Values set to null: by a source under `discard_column`, or by a sink whose format cannot
   * hold them (NaN and infinities in NDJSON).
   */
  readonly valuesDiscarded?: number;
  /** For check steps: the suite result in Great Expectations' shape, with the quality score. */
  readonly quality?: SuiteResult;
  /**
   * True when the step did not run because its task key matched a cached output (`--use-cache`):
   * its dataset was read from the cache, or, for a sink, the same output was published before.
   */
  readonly cached?: boolean;
  /** For sinks that published: how they changed their target and the version they committed. */
  readonly write?: StepWrite;
}

/**
 * What a sink's publish did to its target, as the run report and the audit log keep it.
 *
 * @example
 * ```ts
 * const write: StepWrite = { mode: 'merge', version: 12 };
 * ```
 */
export interface StepWrite {
  /** `append`, `overwrite`, `merge`, `replace-where`, ... as the sink names it. */
  readonly mode?: string;
  /** The table version committed (Delta), when the format has versions. */
  readonly version?: number;
}

/**
 * The record of one run, printed as a table and written to `.sluice/runs/<runId>.json`.
 *
 * @example
 * ```ts
 * const report = await runPipeline(p);
 * console.log(report.status, report.steps.map((s) => [s.id, s.rowsOut]));
 * ```
 */
export interface RunReport {
  readonly pipeline: string;
  readonly runId: string;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly params: Readonly<Record<string, string>>;
  readonly steps: readonly StepReport[];
  readonly rowsQuarantined: number;
  /** The folder holding this run's quarantine files. */
  readonly quarantineDir: string;
  readonly error?: ReportedError;
  /** Incremental sources' new watermarks, by step id (successful runs only). */
  readonly watermarks?: Readonly<Record<string, string>>;
}

/**
 * Writes the report atomically (temporary file, then rename) to `<stateDir>/runs/<runId>.json`.
 *
 * @example
 * ```ts
 * const path = await writeRunReport(report, '.sluice');
 * ```
 */
export async function writeRunReport(report: RunReport, stateDir: string): Promise<string> {
  const path = join(stateDir, 'runs', `${report.runId}.json`);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(report, null, 2)}\n`);
  await rename(temporary, path);
  return path;
}

/**
 * Renders the report as a plain-text table for terminals and logs.
 *
 * @example
 * ```ts
 * process.stdout.write(formatRunReport(report));
 * ```
 */
export function formatRunReport(report: RunReport): string {
  const header = ['step', 'kind', 'status', 'rows in', 'rows out', 'quarantined', 'time'];
  const rows = report.steps.map((s) => [
    s.id,
    s.connector === undefined ? s.kind : `${s.kind}:${s.connector}`,
    s.cached === true ? 'cached' : s.status,
    formatCount(s.rowsIn),
    formatCount(s.rowsOut),
    formatCount(s.rowsQuarantined),
    formatMs(s.durationMs),
  ]);
  const out = [
    `Run ${report.runId} of pipeline "${report.pipeline}": ${report.status.toUpperCase()} in ${formatMs(report.durationMs)}`,
    '',
    ...textTable(header, rows, new Set([3, 4, 5, 6])),
  ];
  const outputs = report.steps.flatMap((s) => s.outputs.map((o) => `  ${s.id}: ${o}`));
  if (outputs.length > 0) {
    out.push(
      '',
      report.status === 'success' ? 'Outputs:' : 'Outputs (not published: the run failed):',
      ...outputs,
    );
  }
  const changed = report.steps.filter(
    (s) => s.schemaChanges !== undefined || s.valuesDiscarded !== undefined,
  );
  if (changed.length > 0) {
    out.push('', 'Schema changes:');
    for (const s of changed) {
      for (const change of s.schemaChanges ?? []) out.push(`  ${s.id}: ${change}`);
      if (s.valuesDiscarded !== undefined)
        out.push(`  ${s.id}: ${s.valuesDiscarded} value(s) that did not fit were set to null`);
    }
  }
  const checks = report.steps.filter((s) => s.quality !== undefined);
  if (checks.length > 0) {
    out.push('', 'Quality:');
    for (const s of checks) {
      const q = s.quality as SuiteResult;
      const score = q.quality_score === null ? '-' : q.quality_score.toFixed(1);
      out.push(
        `  ${s.id}: ${q.statistics.successful_expectations}/${q.statistics.evaluated_expectations} expectations passed, quality score ${score}`,
      );
      for (const r of q.results.filter((r) => !r.success)) {
        const detail = r.exception_info.raised_exception
          ? `error: ${r.exception_info.exception_message ?? ''}`
          : r.result.unexpected_count !== undefined
            ? `${r.result.unexpected_count} unexpected of ${r.result.element_count ?? '?'}`
            : `observed ${JSON.stringify(r.result.observed_value)}`;
        out.push(
          `    FAILED [${r.expectation_config.severity}] ${r.expectation_config.id}: ${detail}`,
        );
      }
    }
  }
  if (report.rowsQuarantined > 0) {
    out.push('', `Quarantined ${formatCount(report.rowsQuarantined)} record(s), with reasons:`);
    for (const s of report.steps) {
      if (s.quarantineFile !== undefined)
        out.push(`  ${s.id}: ${formatCount(s.rowsQuarantined)} in ${s.quarantineFile}`);
    }
  }
  if (report.error !== undefined) {
    out.push('', `Error [${report.error.code}]: ${report.error.message}`);
    if (report.error.hint !== undefined) out.push(`  hint: ${report.error.hint}`);
  }
  return `${out.join('\n')}\n`;
}

function formatCount(n: number | null): string {
  return n === null ? '-' : n.toLocaleString('en-US');
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

/**
 * Why a sink whose output was staged is not `success`: the run ended before publishing it.
 *
 * @example
 * ```ts
 * unpublishedMessage('the run timed out after 3s');
 * ```
 */
export function unpublishedMessage(why: string): string {
  return `its output was staged but not published, so its target holds what it held before: ${why}`;
}
