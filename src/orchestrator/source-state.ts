import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError, StoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Pipeline } from '../define/pipeline.js';
import type { ConnectorRegistry } from '../contracts/batch-connector.js';
import type { SourceStateChange, SourceStateHooks } from '../engine/executor.js';
import { publishedSinks } from '../engine/published-runs.js';
import type { RunReport } from '../observe/run-report.js';
import type { RunStore } from './run-store.js';

/**
 * The store cursor holding a source step's state: an incremental watermark, a CDC position, the
 * last webhook batch read.
 *
 * @example
 * ```ts
 * sourceStateCursor('orders'); // 'watermark:orders'
 * ```
 */
export function sourceStateCursor(stepId: string): string {
  return `watermark:${stepId}`;
}

/**
 * The state of every source step of the pipeline as of its last successful run, by step id, for
 * `runPipeline`'s `watermarks` option.
 *
 * @example
 * ```ts
 * const report = await runPipeline(pipeline, { watermarks: await readSourceState(store, pipeline) });
 * ```
 */
export async function readSourceState(
  store: RunStore,
  pipeline: Pipeline,
): Promise<Record<string, string>> {
  const state: [string, string][] = [];
  for (const [stepId, step] of Object.entries(pipeline.steps)) {
    if (step.kind !== 'source') continue;
    const value = await store.getCursor(pipeline.name, sourceStateCursor(stepId));
    if (value !== undefined) state.push([stepId, value]);
  }
  // From entries, so a step named `__proto__` keeps its state as an own key.
  return Object.fromEntries(state);
}

/**
 * The cursors a successful run leaves: each source step's new state.
 *
 * @example
 * ```ts
 * await store.saveCursors(report.pipeline, report.runId, sourceStateCursors(report));
 * ```
 */
export function sourceStateCursors(report: RunReport): Record<string, string> {
  return Object.fromEntries(
    Object.entries(report.watermarks ?? {}).map(([stepId, value]) => [
      sourceStateCursor(stepId),
      value,
    ]),
  );
}

/** How long a state write keeps retrying a store that is locked or unreachable. */
const STATE_WRITE_DEADLINE_MS = 10_000;

/** Options of {@link resolvePendingState} and {@link sourceStateHooks}. */
export interface SourceStateOptions {
  readonly registry?: ConnectorRegistry;
  /** Folder that relative paths in steps resolve against (default: the pipeline file's). */
  readonly baseDir?: string;
  readonly logger?: Logger;
}

/**
 * Settles the pipeline's pending source state, left by a run that stopped between saving it
 * and promoting it (killed, or the store refused the write): the sinks it was publishing are
 * asked whether they hold that run's output. When every sink that can tell says yes, the state
 * is promoted (the output is there, so nothing is loaded again); when none says yes, it is
 * dropped (the output is not there, so the next run loads it again). When some say yes and
 * others no, the run throws a {@link StoreError} naming them, and the state stays pending.
 * Run it before reading the state for a new run.
 *
 * @example
 * ```ts
 * await resolvePendingState(store, pipeline);
 * const watermarks = await readSourceState(store, pipeline);
 * ```
 */
export async function resolvePendingState(
  store: RunStore,
  pipeline: Pipeline,
  options: SourceStateOptions = {},
): Promise<'none' | 'promoted' | 'dropped'> {
  const pending = await store.pendingState(pipeline.name);
  if (pending === undefined) return 'none';
  const logger = options.logger ?? silentLogger;
  const answers = await publishedSinks(pipeline, pending.runId, pending.sinks, options);
  const holding = pending.sinks.filter((stepId) => answers[stepId] === true);
  const missing = pending.sinks.filter((stepId) => answers[stepId] === false);
  const context = { pendingRunId: pending.runId, holding, missing };
  if (holding.length > 0 && missing.length === 0) {
    await retryStateWrite(() => store.promotePendingState(pipeline.name, pending.runId));
    logger.warn(context, 'an earlier run published but did not save its source state; saved now');
    return 'promoted';
  }
  if (holding.length === 0) {
    await retryStateWrite(() => store.dropPendingState(pipeline.name, pending.runId));
    logger.warn(context, 'an earlier run stopped before publishing; its source state was dropped');
    return 'dropped';
  }
  throw new StoreError(
    store.db.location,
    `run ${pending.runId} of pipeline "${pipeline.name}" stopped part-way through publishing: ${holding.join(', ')} hold its output, ${missing.join(', ')} do not; the source state stays where it was before that run`,
    {
      hint: `loading again would duplicate rows in ${holding.join(', ')}. Either remove run ${pending.runId}'s rows from ${holding.join(', ')} and its mark (table sluice_published_runs, or the Delta txn "sluice:${pending.runId}:<step>"), then run again to reload it everywhere; or load the missing rows into ${missing.join(', ')} and mark them the same way, then run again to keep the new state`,
    },
  );
}

/**
 * The `sourceState` option of `runPipeline` for a run outside the orchestrator (`sluice run`):
 * the new state is saved as pending before publishing and promoted after. With `commit: false`
 * only the pending state is saved (the worker promotes it when it records the run's success).
 *
 * @example
 * ```ts
 * await runPipeline(pipeline, { sourceState: sourceStateHooks(store, pipeline.name) });
 * ```
 */
export function sourceStateHooks(
  store: RunStore,
  pipeline: string,
  options: { readonly commit?: boolean } = {},
): SourceStateHooks {
  const cursorsOf = (change: SourceStateChange): Record<string, string> =>
    Object.fromEntries(
      Object.entries(change.watermarks).map(([stepId, value]) => [
        sourceStateCursor(stepId),
        value,
      ]),
    );
  return {
    prepare: async (change) => {
      if (Object.keys(change.watermarks).length === 0) return;
      await retryStateWrite(() =>
        store.savePendingState(pipeline, change.runId, cursorsOf(change), change.sinks),
      );
    },
    ...(options.commit === false
      ? {}
      : {
          commit: async (change: SourceStateChange) => {
            if (Object.keys(change.watermarks).length === 0) return;
            try {
              const promoted = await retryStateWrite(() =>
                store.promotePendingState(pipeline, change.runId),
              );
              if (!promoted)
                throw new StoreError(
                  store.db.location,
                  `the pending source state of run ${change.runId} was settled by another run`,
                  { hint: 'do not run the same incremental pipeline twice at once' },
                );
            } catch (cause) {
              throw publishedButNotSaved(cause, change.runId);
            }
          },
        }),
  };
}

function publishedButNotSaved(cause: unknown, runId: string): StoreError {
  const reason =
    cause instanceof StoreError
      ? cause.message.replace(`Run store ${cause.store}: `, '')
      : cause instanceof Error
        ? cause.message
        : String(cause);
  const location = cause instanceof StoreError ? cause.store : 'unknown';
  return new StoreError(
    location,
    `run ${runId} published its outputs but could not save the sources' new state: ${reason}`,
    {
      cause,
      retryable: cause instanceof StoreError && cause.retryable,
      hint: `${cause instanceof SluiceError && cause.hint !== undefined ? `${cause.hint}. ` : ''}The next run of this pipeline finds the pending state, checks that its sinks hold run ${runId}, and saves it before reading: nothing is loaded twice`,
    },
  );
}

/** Calls `write` until it succeeds, retrying retryable store errors (locked, unreachable) until a deadline. */
async function retryStateWrite<T>(write: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + STATE_WRITE_DEADLINE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof StoreError && error.retryable) || Date.now() >= deadline) throw error;
      await sleep(Math.min(1_000, 50 * 2 ** attempt, Math.max(0, deadline - Date.now())));
    }
  }
}
