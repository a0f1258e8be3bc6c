import { dirname, resolve } from 'node:path';
import { SinkError, SluiceError, describeCause } from '../core/errors.js';
import type { Pipeline } from '../define/pipeline.js';
import { planOrThrow } from '../plan/planner.js';
import type { ConnectorRegistry } from '../contracts/batch-connector.js';
import { defaultRegistry } from '../registry.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';

/** Options of {@link publishedSinks}. */
export interface PublishedSinksOptions {
  readonly registry?: ConnectorRegistry;
  /** Folder that relative paths in steps resolve against (default: the pipeline file's). */
  readonly baseDir?: string;
}

/**
 * Asks each of the given sink steps whether run `runId` published its output: `true` or
 * `false` from sinks that record the run id with their data (PostgreSQL, MySQL, Delta, DuckDB append),
 * `undefined` from sinks that cannot tell (and from steps the pipeline no longer has).
 *
 * @example
 * ```ts
 * const answers = await publishedSinks(pipeline, 'run_20260101T000000Z_ab12cd34', ['out']);
 * if (answers.out === true) console.log('run published out');
 * ```
 */
export async function publishedSinks(
  pipeline: Pipeline,
  runId: string,
  stepIds: readonly string[],
  options: PublishedSinksOptions = {},
): Promise<Record<string, boolean | undefined>> {
  const registry = options.registry ?? defaultRegistry;
  const plan = planOrThrow(pipeline, { connectors: registry.lookup });
  const baseDir = resolve(options.baseDir ?? pipelineBaseDir(pipeline));
  const answers: Record<string, boolean | undefined> = {};
  const askable = stepIds.flatMap((stepId) => {
    const step = plan.steps.find((s) => s.id === stepId);
    const connector =
      step?.definition.kind === 'sink' ? registry.sink(step.definition.connector) : undefined;
    answers[stepId] = undefined;
    return step === undefined || connector?.publishedRun === undefined
      ? []
      : [{ stepId, config: step.config, ask: connector.publishedRun.bind(connector) }];
  });
  if (askable.length === 0) return answers;
  const session = await DuckDBSession.create();
  try {
    for (const { stepId, config, ask } of askable) {
      const connection = await session.connect(stepId);
      try {
        answers[stepId] = await ask(config, { runId, stepId, baseDir, connection });
      } catch (cause) {
        throw new SinkError(
          stepId,
          `cannot tell whether run ${runId} published its output: ${describeCause(cause)}`,
          {
            cause,
            hint:
              cause instanceof SluiceError && cause.hint !== undefined
                ? cause.hint
                : 'make the target reachable and run again; the source state waits until then',
          },
        );
      }
    }
  } finally {
    session.close();
  }
  return answers;
}

/**
 * Whether a sink connector can say which runs it published (so it is published last and
 * consulted after a crash).
 *
 * @example
 * ```ts
 * tellsPublishedRuns(defaultRegistry, 'postgres'); // true
 * ```
 */
export function tellsPublishedRuns(registry: ConnectorRegistry, connector: string): boolean {
  return registry.sink(connector)?.publishedRun !== undefined;
}

/**
 * The folder a pipeline's relative paths resolve against: its file's, or the working directory.
 *
 * @example
 * ```ts
 * pipelineBaseDir(pipeline); // '/home/me/pipelines'
 * ```
 */
export function pipelineBaseDir(pipeline: Pipeline): string {
  const file = pipeline.declaredAt.file;
  return file === undefined ? process.cwd() : dirname(file);
}
