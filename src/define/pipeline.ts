import type { RetryPolicy } from '../core/retry-policy.js';
import type { AlertRule } from './alert-rules.js';
import type { DeclarationSite } from './origin.js';
import { captureDeclarationSite } from './origin.js';
import type { Suite } from '../quality/expectation.js';
import { ref } from './ref.js';
import type { StepDefinition } from './steps.js';

const PIPELINE = Symbol.for('sluice.pipeline');

/** Engine settings of a pipeline; all optional. */
export interface EngineOptions {
  /** DuckDB memory limit, e.g. `4GB`. Larger intermediate results spill to disk. */
  readonly memoryLimit?: string;
  /** DuckDB worker threads (default: all cores). */
  readonly threads?: number;
  /** Steps that may run at the same time (default 4). */
  readonly maxConcurrentSteps?: number;
}

/**
 * When a pipeline runs: a cron expression (croner syntax) in a time zone (default UTC), or a
 * fixed interval such as `'15m'`. Each run covers the data interval between two ticks and
 * starts at its end, as in Airflow.
 */
export type ScheduleSpec =
  { readonly cron: string; readonly timezone?: string } | { readonly every: string | number };

export type { RetryPolicy };

/**
 * What else starts a run besides the schedule: another pipeline's success, a new version of a
 * dataset another pipeline writes (a sink's path: a Delta table, a file or folder), or a file
 * arriving (a glob relative to the pipeline's file).
 */
export type TriggerSpec =
  | { readonly afterPipeline: string }
  | { readonly afterDataset: string }
  | { readonly fileArrives: string };

/** How the orchestrator (`sluice serve` and workers) runs a pipeline. */
export interface OrchestrationOptions {
  readonly schedule?: ScheduleSpec;
  /** First data interval's start (ISO date); with `catchup`, missed intervals since then run. */
  readonly start?: string;
  /**
   * Last data interval's latest end (ISO date): no interval ending after it is scheduled, caught
   * up or backfilled, as Airflow's `end_date`.
   */
  readonly end?: string;
  /** Run every missed interval since `start` or the last scheduled one (default false: only the latest). */
  readonly catchup?: boolean;
  /** Runs of this pipeline that may run at once (default unlimited). */
  readonly maxActiveRuns?: number;
  /**
   * A concurrency pool shared with other pipelines; its size (runs at once across all of them)
   * is set in `sluice.config.ts` (`pools: { warehouse: 2 }`).
   */
  readonly pool?: string;
  /** Retries of a failed run; only retryable errors are retried. A number is `{ retries }`. */
  readonly retries?: number | RetryPolicy;
  /** A run still going after this long is stopped and fails (retryable), e.g. `'30m'`. */
  readonly timeout?: string | number;
  /** Higher runs first when workers are busy (default 0). */
  readonly priority?: number;
  /** The run should finish within this long after its interval ends; a miss is an event. */
  readonly sla?: string | number;
  /**
   * Sensors: each matching event or new file starts a run (params `upstream_run_id`,
   * `trigger_dataset` or `trigger_file` when declared).
   */
  readonly triggers?: readonly TriggerSpec[];
}

/** What {@link pipeline} takes besides the name. */
export interface PipelineOptions extends OrchestrationOptions {
  readonly description?: string;
  /** Run parameters with their defaults; `--param name=value` overrides them. */
  readonly params?: Readonly<Record<string, string>>;
  /** Steps by name. The name is the dataset's name in SQL and in reports. */
  readonly steps: Readonly<Record<string, StepDefinition>>;
  readonly engine?: EngineOptions;
  /** Who owns the pipeline (teams or people); alert routes and silences match `owner=...`. */
  readonly owners?: readonly string[];
  /** Free tags; alert routes and silences match `tag=...`. */
  readonly tags?: readonly string[];
  /** Alert rules that watch this pipeline (see docs/observability.md#alerts). */
  readonly alerts?: readonly AlertRule[];
}

/** A pipeline definition: the default export of a pipeline file. */
export interface Pipeline {
  readonly [PIPELINE]: true;
  readonly name: string;
  readonly description: string | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly steps: Readonly<Record<string, StepDefinition>>;
  readonly engine: EngineOptions;
  readonly orchestration: OrchestrationOptions;
  readonly owners: readonly string[];
  readonly tags: readonly string[];
  readonly alerts: readonly AlertRule[];
  readonly declaredAt: DeclarationSite;
}

/**
 * Defines a pipeline. The DAG is derived from the `ref()`s between steps, never listed by hand.
 *
 * @example
 * ```ts
 * export default pipeline('orders_daily', {
 *   steps: {
 *     orders: source.csv({ path: 'data/orders.csv', schema: orders }),
 *     daily: sql`select order_date, count(*) as n from ${ref('orders')} group by all`,
 *     out: sink.parquet({ input: ref('daily'), path: 'out/daily.parquet' }),
 *   },
 * });
 * ```
 */
export function pipeline(name: string, options: PipelineOptions): Pipeline {
  return {
    [PIPELINE]: true,
    name,
    description: options.description,
    params: options.params ?? {},
    steps: expandExpectations(options.steps),
    engine: options.engine ?? {},
    orchestration: orchestrationOf(options),
    owners: options.owners ?? [],
    tags: options.tags ?? [],
    alerts: options.alerts ?? [],
    declaredAt: captureDeclarationSite(),
  };
}

function orchestrationOf(options: PipelineOptions): OrchestrationOptions {
  const keys = [
    'schedule',
    'start',
    'end',
    'catchup',
    'maxActiveRuns',
    'pool',
    'retries',
    'timeout',
    'priority',
    'sla',
    'triggers',
  ] as const;
  return Object.fromEntries(
    keys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]),
  ) as OrchestrationOptions;
}

/**
 * Turns `expect:` on a step into an explicit check: the step runs as `<id>_unchecked` and a
 * check step takes the name `<id>`, so every `ref('<id>')` reads checked data.
 */
function expandExpectations(
  steps: Readonly<Record<string, StepDefinition>>,
): Record<string, StepDefinition> {
  // Without a prototype: steps are looked up by user-chosen names such as `constructor`, and a
  // step named `__proto__` stays an own key.
  const expanded = Object.create(null) as Record<string, StepDefinition>;
  for (const [id, step] of stepEntries(steps)) {
    const suite = (step as { expect?: Suite } | null)?.expect;
    if (suite === undefined || step.kind === 'sink' || step.kind === 'check') {
      expanded[id] = step;
      continue;
    }
    const unchecked = `${id}_unchecked`;
    expanded[unchecked] = step;
    expanded[id] = {
      kind: 'check',
      input: ref(unchecked),
      suite,
      declaredAt: step.declaredAt,
      description: `expectations of step "${id}"`,
    };
  }
  return expanded;
}

/**
 * The steps of a `steps` object. `{ __proto__: step }` in an object literal sets the object's
 * prototype instead of adding a key, so a prototype that is a step is the step `__proto__`.
 */
function stepEntries(
  steps: Readonly<Record<string, StepDefinition>>,
): (readonly [string, StepDefinition])[] {
  const entries: (readonly [string, StepDefinition])[] = Object.entries(steps);
  const prototype: unknown = Object.getPrototypeOf(steps);
  if (
    prototype !== null &&
    prototype !== Object.prototype &&
    typeof (prototype as { kind?: unknown }).kind === 'string' &&
    !Object.hasOwn(steps, '__proto__')
  )
    entries.push(['__proto__', prototype as StepDefinition]);
  return entries;
}

/**
 * Whether `value` is a pipeline definition (from this or another copy of the package).
 *
 * @example
 * ```ts
 * isPipeline((await import('./pipeline.ts')).default); // true
 * ```
 */
export function isPipeline(value: unknown): value is Pipeline {
  return typeof value === 'object' && value !== null && PIPELINE in value;
}
