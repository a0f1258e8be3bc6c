import { ConfigError } from '../core/errors.js';
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
  const loaded = await project.load(name);
  const { pipeline } = loaded;
  const params = options.params ?? {};
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
    },
  ]);
  if (run === undefined) throw new Error(`the run of ${pipeline.name} was not created`);
  return run;
}
