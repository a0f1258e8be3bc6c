import type { RunReport } from '../observe/run-report.js';
import type { AuditAppend } from './audit-log.js';

/** An audit entry of a run, before the actor (who the run writes for) is known. */
export type RunAuditEntry = Omit<AuditAppend, 'actor'>;

/**
 * The audit entries a run's report calls for, one per fact and never per row: each dataset a
 * sink published (`dataset.write`: step, connector, rows written, write mode, table version),
 * and each step's accepted schema changes (`dataset.schema_change`). A sink that did not publish
 * (the run failed before, or its output came from the cache) wrote nothing and has no entry.
 *
 * @example
 * ```ts
 * await store.audit.append(...runAuditEntries(report).map((e) => ({ actor: 'user:alice', ...e })));
 * ```
 */
export function runAuditEntries(report: RunReport): RunAuditEntry[] {
  const entries: RunAuditEntry[] = [];
  const run = { pipeline: report.pipeline, runId: report.runId };
  for (const step of report.steps) {
    if (step.kind === 'sink' && step.status === 'success' && step.cached !== true)
      for (const dataset of step.outputs)
        entries.push({
          action: 'dataset.write',
          target: { ...run, dataset },
          detail: {
            step: step.id,
            ...(step.connector === undefined ? {} : { connector: step.connector }),
            rows: step.rowsOut ?? 0,
            ...(step.write?.mode === undefined ? {} : { mode: step.write.mode }),
            ...(step.write?.version === undefined ? {} : { version: step.write.version }),
          },
        });
    if (step.schemaChanges !== undefined && step.schemaChanges.length > 0) {
      const dataset = step.inputs[0] ?? step.outputs[0];
      entries.push({
        action: 'dataset.schema_change',
        target: { ...run, ...(dataset === undefined ? {} : { dataset }) },
        detail: { step: step.id, changes: [...step.schemaChanges] },
      });
    }
  }
  return entries;
}
