import { ConfigError, SluiceError } from '../core/errors.js';
import type { Project } from './project.js';
import type { RunStore } from './run-store.js';
import type { RunRecord } from './run-types.js';
import { pipelineRun } from './pipeline-run.js';

/** Options of {@link triggerRun}. */
export interface TriggerOptions {
  readonly params?: Readonly<Record<string, string>>;
  /** Overrides the pipeline's priority. */
  readonly priority?: number;
  /** Skip the run when a successful run had the same code, params and inputs. */
  readonly useCache?: boolean;
  /**
   * Names the run for good: a trigger with a key this pipeline already has queues nothing and
   * answers that run (`replayed`), so a client may resend a trigger it got no answer to.
   */
  readonly idempotencyKey?: string;
}

/** A run {@link triggerRun} queued, or found under the trigger's idempotency key. */
export interface TriggeredRun {
  readonly run: RunRecord;
  /** The key named an earlier run: nothing was queued. */
  readonly replayed: boolean;
}

/**
 * Queues a run of a project's pipeline now (what `sluice trigger` and the webhook do): loads
 * only that pipeline, checks the params against the ones it declares, records its code hash and
 * creates the run with the pipeline's retries, priority and pool.
 *
 * @example
 * ```ts
 * const run = await triggerRun(store, project, 'orders_daily', { params: { region: 'EU' } });
 * ```
 */
export async function triggerRun(
  store: RunStore,
  project: Project,
  name: string,
  options: TriggerOptions = {},
): Promise<RunRecord> {
  return (await triggerRunOnce(store, project, name, options)).run;
}

/**
 * {@link triggerRun} that also says whether its idempotency key named an earlier run. A key
 * reused with other params is refused (`IDEMPOTENCY_CONFLICT`).
 *
 * @example
 * ```ts
 * const { run, replayed } = await triggerRunOnce(store, project, 'orders_daily', {
 *   idempotencyKey: 'order-import-2026-03-01',
 * });
 * ```
 */
export async function triggerRunOnce(
  store: RunStore,
  project: Project,
  name: string,
  options: TriggerOptions = {},
): Promise<TriggeredRun> {
  const loaded = await project.load(name);
  const { pipeline } = loaded;
  const params = options.params ?? {};
  const runKey =
    options.idempotencyKey === undefined ? undefined : `idempotency:${options.idempotencyKey}`;
  const earlier = runKey === undefined ? undefined : await store.getRunByKey(name, runKey);
  if (earlier !== undefined) return { run: sameParams(earlier, params), replayed: true };
  const unknown = Object.keys(params).filter((param) => !Object.hasOwn(pipeline.params, param));
  if (unknown.length > 0)
    throw new ConfigError([
      {
        code: 'unknown-param',
        message: `pipeline "${pipeline.name}" declares no param ${unknown.map((n) => `"${n}"`).join(', ')}`,
        hint: `declared params: ${Object.keys(pipeline.params).join(', ') || '(none)'}`,
      },
    ]);
  await store.registerPipeline({
    name: pipeline.name,
    codeHash: loaded.codeHash,
    file: loaded.file,
    ...(pipeline.orchestration.maxActiveRuns === undefined
      ? {}
      : { maxActiveRuns: pipeline.orchestration.maxActiveRuns }),
  });
  const [run] = await store.enqueueRuns([
    {
      ...pipelineRun(pipeline, loaded.codeHash, 'manual'),
      params,
      useCache: options.useCache === true,
      ...(options.priority === undefined ? {} : { priority: options.priority }),
      ...(runKey === undefined ? {} : { runKey }),
    },
  ]);
  if (run !== undefined) return { run, replayed: false };
  // Another trigger with the same key won the race.
  const raced = runKey === undefined ? undefined : await store.getRunByKey(name, runKey);
  if (raced === undefined) throw new Error(`the run of ${pipeline.name} was not created`);
  return { run: sameParams(raced, params), replayed: true };
}

function sameParams(run: RunRecord, params: Readonly<Record<string, string>>): RunRecord {
  const canonical = (value: Readonly<Record<string, string>>): string =>
    JSON.stringify(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (canonical(run.params) !== canonical(params))
    throw new SluiceError(
      'IDEMPOTENCY_CONFLICT',
      `this idempotency key named run ${run.id}, triggered with other params`,
      { hint: 'use a new key for a new run' },
    );
  return run;
}
