import { createHash } from 'node:crypto';
import type { Pipeline } from '../define/pipeline.js';
import type { ConnectorRegistry } from '../contracts/batch-connector.js';
import { defaultRegistry } from '../registry.js';
import type { RunRecord } from './run-types.js';

/**
 * The cache key of a run: pipeline, code hash, data interval, params and the versions of
 * everything its sources read (each source connector's fingerprint: files' sizes and
 * modification times, a Delta table's version). Two runs with the same key do the same work on
 * the same data. Undefined when a source's input cannot be fingerprinted, so such runs are never
 * skipped.
 *
 * @example
 * ```ts
 * const key = await runCacheKey(pipeline, run, codeHash, dirname(file));
 * ```
 */
export async function runCacheKey(
  pipeline: Pipeline,
  run: RunRecord,
  codeHash: string,
  baseDir: string,
  registry: ConnectorRegistry = defaultRegistry,
): Promise<string | undefined> {
  const inputs: string[] = [];
  for (const [stepId, step] of Object.entries(pipeline.steps)) {
    if (step.kind !== 'source') continue;
    const fingerprint = await registry
      .source(step.connector)
      ?.fingerprint?.(step.config as never, { baseDir });
    if (fingerprint === undefined) return undefined;
    inputs.push(`${stepId}=${fingerprint}`);
  }
  const params = Object.entries(run.params).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256')
    .update(
      JSON.stringify({
        pipeline: pipeline.name,
        codeHash,
        interval: run.interval ?? null,
        params,
        inputs,
      }),
    )
    .digest('hex');
}
