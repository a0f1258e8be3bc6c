import type { RunAuditEntry } from './run-audit.js';
/** Every state a run or task may be in. */
export const RUN_STATES = [
  'queued',
  'running',
  'success',
  'failed',
  'canceled',
  'skipped',
  'up_for_retry',
] as const;

/** Where a run is in its life. `up_for_retry` waits for `notBefore`, then runs again. */
export type RunState = (typeof RUN_STATES)[number];

/** States a run never leaves. */
export const FINISHED_STATES: readonly RunState[] = ['success', 'failed', 'canceled', 'skipped'];

/** Everything that may create a run. */
export const RUN_TRIGGERS = ['schedule', 'manual', 'backfill', 'sensor'] as const;

/** What created a run. */
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/** A data interval `[start, end)` in epoch milliseconds; the logical date is `start`. */
export interface DataInterval {
  readonly start: number;
  readonly end: number;
}

/** The error a run or task failed with. */
export interface RunError {
  readonly code: string;
  readonly message: string;
}

/** One run of a pipeline, as the run store holds it. */
export interface RunRecord {
  readonly id: string;
  readonly pipeline: string;
  /** Unique per pipeline: `interval:<start ISO>` for interval runs, the run id otherwise. */
  readonly runKey: string;
  readonly trigger: RunTrigger;
  readonly interval: DataInterval | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly state: RunState;
  readonly priority: number;
  /** Attempts started so far (0 while first queued). */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly notBefore: number;
  readonly queuedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly error: RunError | undefined;
  readonly codeHash: string | undefined;
  readonly leaseOwner: string | undefined;
  readonly leaseExpiresAt: number | undefined;
  /** Grows with every claim; a worker whose token is no longer current may not write. */
  readonly fencingToken: number;
  readonly cancelRequested: boolean;
  readonly backfillId: string | undefined;
  /** Skip the run when a successful run had the same cache key (`--use-cache`). */
  readonly useCache: boolean;
  /** What the run read and ran, hashed; set when it succeeded. */
  readonly cacheKey: string | undefined;
  readonly pool: string | undefined;
  /** Who queued the run (the audit log's actor of its writes); unset on runs queued before it was kept. */
  readonly triggeredBy?: string;
}

/** A run to create. */
export interface NewRun {
  readonly pipeline: string;
  readonly trigger: RunTrigger;
  readonly interval?: DataInterval;
  readonly params?: Readonly<Record<string, string>>;
  readonly priority?: number;
  /** Attempts allowed in all (retries + 1; default 1). */
  readonly maxAttempts?: number;
  readonly codeHash?: string;
  readonly backfillId?: string;
  /** Set a run id instead of generating one. */
  readonly id?: string;
  /** What makes the run unique per pipeline (default: its interval, else its id). */
  readonly runKey?: string;
  /** Skip the run when a successful run had the same cache key. */
  readonly useCache?: boolean;
  /** The concurrency pool the run counts against. */
  readonly pool?: string;
}

/** One step of one attempt of a run. */
export interface TaskRecord {
  readonly runId: string;
  readonly step: string;
  readonly attempt: number;
  readonly state: RunState;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly rowsIn: number | undefined;
  readonly rowsOut: number | undefined;
  readonly error: RunError | undefined;
  /** True when the step did not run: its output came from the task cache (`--use-cache`). */
  readonly cached?: boolean;
}

/** A pipeline the store knows, with its controls. */
export interface PipelineRecord {
  readonly name: string;
  readonly codeHash: string | undefined;
  readonly file: string | undefined;
  readonly paused: boolean;
  readonly maxActiveRuns: number | undefined;
}

/** A run a worker holds: work on it only while `fencingToken` is current. */
export interface RunClaim {
  readonly run: RunRecord;
  readonly fencingToken: number;
}

/** How an attempt ended, as the worker reports it. */
export interface AttemptOutcome {
  /** `skipped`: a successful run with the same cache key made running it unnecessary. */
  readonly state: 'success' | 'failed' | 'canceled' | 'skipped';
  readonly error?: RunError;
  /** Whether another attempt may succeed (only read for `failed`). */
  readonly retryable?: boolean;
  /** Delay before the next attempt when it is retried. */
  readonly retryDelayMs?: number;
  /** Cursors (watermarks) to advance, only when `state` is `success`, in the same transaction. */
  readonly cursors?: Readonly<Record<string, string>>;
  /** Datasets the run published (sink outputs), recorded as `dataset.updated` events on success. */
  readonly datasets?: readonly string[];
  /** The run's cache key, kept with a success so later runs can reuse it. */
  readonly cacheKey?: string;
  /** The successful run a skipped run reused. */
  readonly cachedFrom?: string;
  /** Each check step's suite outcome, kept as `quality.result` events of the run. */
  readonly quality?: readonly QualitySummary[];
  /**
   * What the attempt wrote and which schema changes it accepted, appended to the audit log in
   * the same transaction, recorded for the actor who queued the run.
   */
  readonly audit?: readonly RunAuditEntry[];
}

/** A check step's suite outcome, as the run store keeps it. */
export interface QualitySummary {
  readonly step: string;
  readonly suite: string;
  readonly success: boolean;
  readonly evaluated: number;
  readonly successful: number;
  readonly qualityScore: number | null;
  /** Ids of the expectations that failed. */
  readonly failed: readonly string[];
}

/** An audit-log entry. */
export interface RunEvent {
  readonly id: number;
  readonly at: number;
  readonly kind: string;
  readonly pipeline: string | undefined;
  readonly runId: string | undefined;
  readonly data: Readonly<Record<string, unknown>>;
}
