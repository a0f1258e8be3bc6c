/**
 * The one error hierarchy of Sluice. Every error the framework raises is a {@link SluiceError}
 * with a stable `code` that scripts and the orchestrator can act on; messages say what went wrong
 * and what to do about it.
 *
 * @example
 * ```ts
 * try {
 *   await runPipeline(p);
 * } catch (err) {
 *   if (err instanceof SluiceError && err.code === 'CONFIG_INVALID') process.exitCode = 2;
 * }
 * ```
 */

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export type SluiceErrorCode =
  | 'CONFIG_INVALID'
  | 'PIPELINE_LOAD_FAILED'
  | 'USER_CODE_FAILED'
  | 'SOURCE_FAILED'
  | 'SINK_FAILED'
  | 'SCHEMA_MISMATCH'
  | 'QUALITY_GATE_FAILED'
  | 'TABLE_UNREADABLE'
  | 'TABLE_WRITE_REFUSED'
  | 'ENGINE_FAILED'
  | 'ROWS_UNACCOUNTED'
  | 'STORE_FAILED'
  | 'RUN_FAILED'
  | 'RUN_TIMEOUT'
  | 'RUN_CANCELED'
  | 'RETRYABLE'
  | 'BACKOFF'
  | 'PERMANENT'
  | 'BATCH_FAILED'
  | 'STREAM_STATE_LIMIT'
  | 'IDEMPOTENCY_CONFLICT'
  | 'LINEAGE_EVENT_INVALID'
  | 'USAGE'
  | 'INTERNAL';

/** Options common to every {@link SluiceError}. */
export interface SluiceErrorOptions {
  /** The error that caused this one, kept for debugging. */
  readonly cause?: unknown;
  /** What the user can do about it; printed under the message. */
  readonly hint?: string;
}

const SLUICE_ERROR: unique symbol = Symbol.for('sluice.error');

/**
 * Root of every error Sluice raises.
 *
 * @example
 * ```ts
 * throw new SluiceError('INTERNAL', 'planner reached an impossible state');
 * ```
 */
export class SluiceError extends Error {
  readonly code: SluiceErrorCode;
  readonly hint: string | undefined;

  constructor(code: SluiceErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }

  /** Whether retrying the same work may succeed. */
  get retryable(): boolean {
    return false;
  }

  /** Marks the errors of every loaded copy of this module. */
  get [SLUICE_ERROR](): true {
    return true;
  }

  /**
   * `instanceof` also knows the errors of another loaded copy of this module (a plugin with its
   * own copy of Sluice, a connector implementation loaded again): by the mark and the class name.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null) return false;
    if ((value as { readonly [SLUICE_ERROR]?: unknown })[SLUICE_ERROR] !== true) return false;
    for (let proto: unknown = Object.getPrototypeOf(value); proto !== null;) {
      const constructor = (proto as { readonly constructor?: { readonly name?: string } })
        .constructor;
      if (constructor?.name === this.name) return true;
      proto = Object.getPrototypeOf(proto);
    }
    return false;
  }
}

/** One problem found while validating configuration or a plan. */
export interface Diagnostic {
  /** Stable machine-readable kind, e.g. `unknown-ref`, `cycle`, `invalid-config`. */
  readonly code: string;
  readonly message: string;
  /** The step the problem belongs to, when there is one. */
  readonly stepId?: string;
  /** Path inside the step's config, e.g. `path` or `schema.amount`. */
  readonly path?: string;
  /** File and line where the step was declared, when known. */
  readonly file?: string;
  readonly line?: number;
  readonly hint?: string;
}

/**
 * Configuration or plan problems. Carries every problem found, not just the first.
 *
 * @example
 * ```ts
 * throw new ConfigError([{ code: 'unknown-ref', stepId: 'daily', message: 'ref("orderz") names no step' }]);
 * ```
 */
export class ConfigError extends SluiceError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[], options: SluiceErrorOptions = {}) {
    super('CONFIG_INVALID', formatDiagnostics(diagnostics), options);
    this.diagnostics = diagnostics;
  }
}

/**
 * A pipeline file could not be loaded (syntax error, throws on import, no default export).
 *
 * @example
 * ```ts
 * throw new PipelineLoadError('pipelines/orders.ts', 'it has no default export', { hint: 'export default pipeline(...)' });
 * ```
 */
export class PipelineLoadError extends SluiceError {
  readonly file: string;

  constructor(file: string, reason: string, options: SluiceErrorOptions = {}) {
    super('PIPELINE_LOAD_FAILED', `Cannot load pipeline file ${file}: ${reason}`, options);
    this.file = file;
  }
}

/**
 * Code written by the user (a transform, a task) threw. The step id says whose bug it is.
 *
 * @example
 * ```ts
 * throw new UserCodeError('enrich', new TypeError('x is undefined'));
 * ```
 */
export class UserCodeError extends SluiceError {
  readonly stepId: string;

  constructor(stepId: string, cause: unknown) {
    super('USER_CODE_FAILED', `Step "${stepId}" threw: ${describeCause(cause)}`, {
      cause,
      hint: `the error comes from the code of step "${stepId}"; its stack is in the run's log (the "step failed" line)`,
    });
    this.stepId = stepId;
  }

  override get retryable(): boolean {
    return causeIsRetryable(this.cause);
  }
}

/**
 * Whether an error says that retrying may help. Read as a property, not by class, because user
 * code may throw errors of another copy of Sluice (a pipeline file bundling its own).
 *
 * @example
 * ```ts
 * causeIsRetryable(new RetryableError('reset')); // true
 * ```
 */
export function causeIsRetryable(cause: unknown): boolean {
  return (
    typeof cause === 'object' &&
    cause !== null &&
    (cause as { retryable?: unknown }).retryable === true
  );
}

/**
 * A source could not be read: missing files, unreadable globs, undecodable content.
 *
 * @example
 * ```ts
 * throw new SourceError('raw_orders', 'no file matches data/*.csv', { hint: 'check the path' });
 * ```
 */
export class SourceError extends SluiceError {
  readonly stepId: string;

  constructor(stepId: string, message: string, options: SluiceErrorOptions = {}) {
    super('SOURCE_FAILED', `Source "${stepId}": ${message}`, options);
    this.stepId = stepId;
  }

  /** Retryable when what it wraps is (a dropped connection, a lost commit race). */
  override get retryable(): boolean {
    return causeIsRetryable(this.cause);
  }
}

/**
 * A sink could not write its output. Previous outputs are left intact.
 *
 * @example
 * ```ts
 * throw new SinkError('out', 'cannot create directory /readonly/out');
 * ```
 */
export class SinkError extends SluiceError {
  readonly stepId: string;

  constructor(stepId: string, message: string, options: SluiceErrorOptions = {}) {
    super('SINK_FAILED', `Sink "${stepId}": ${message}`, options);
    this.stepId = stepId;
  }

  /** Retryable when what it wraps is (a dropped connection, a lost commit race). */
  override get retryable(): boolean {
    return causeIsRetryable(this.cause);
  }
}

/**
 * Data does not have the shape a step declared (a declared column is missing, types disagree).
 *
 * @example
 * ```ts
 * throw new SchemaMismatchError('enrich', 'declared column "amount" is missing from the input');
 * ```
 */
export class SchemaMismatchError extends SluiceError {
  readonly stepId: string;

  constructor(stepId: string, message: string, options: SluiceErrorOptions = {}) {
    super('SCHEMA_MISMATCH', `Step "${stepId}": ${message}`, options);
    this.stepId = stepId;
  }
}

/**
 * Expectations of severity `error` failed on a dataset: the run stops and nothing is published.
 *
 * @example
 * ```ts
 * throw new QualityGateError('orders_checked', ['unique(order_id): 12 unexpected']);
 * ```
 */
export class QualityGateError extends SluiceError {
  readonly stepId: string;
  readonly failures: readonly string[];
  /** The suite result, so the run report can show it even though the step failed. */
  readonly result: unknown;

  constructor(stepId: string, failures: readonly string[], result?: unknown) {
    super(
      'QUALITY_GATE_FAILED',
      `Step "${stepId}": ${failures.length} expectation(s) failed: ${failures.join('; ')}`,
      {
        hint: "see the step's quality results in the run report; lower an expectation to warn or quarantine if the data is acceptable",
      },
    );
    this.stepId = stepId;
    this.failures = failures;
    this.result = result;
  }
}

/**
 * A table cannot be read: its log is missing or broken, the version asked for does not exist,
 * or it needs reader features this version of Sluice does not have.
 *
 * @example
 * ```ts
 * throw new TableError('/lake/orders', 'reader version 3 with features deletionVectors is required');
 * ```
 */
export class TableError extends SluiceError {
  readonly table: string;

  constructor(
    table: string,
    message: string,
    options: SluiceErrorOptions = {},
    code: 'TABLE_UNREADABLE' | 'TABLE_WRITE_REFUSED' = 'TABLE_UNREADABLE',
  ) {
    super(code, `Table ${table}: ${message}`, options);
    this.table = table;
  }
}

/**
 * A write to a table was refused and nothing was committed: the data does not fit the table's
 * schema, rows fall outside a replace-where predicate, a merge source repeats a key, or a vacuum
 * retention is unsafe.
 *
 * @example
 * ```ts
 * throw new TableWriteError('/lake/orders', 'column "note" is not in the table');
 * ```
 */
export class TableWriteError extends TableError {
  constructor(table: string, message: string, options: SluiceErrorOptions = {}) {
    super(table, message, options, 'TABLE_WRITE_REFUSED');
  }
}

/**
 * The engine (DuckDB) rejected a statement a step produced.
 *
 * @example
 * ```ts
 * throw new EngineError('daily', 'Binder Error: column "amt" not found', { cause });
 * ```
 */
export class EngineError extends SluiceError {
  readonly stepId: string | undefined;

  constructor(stepId: string | undefined, message: string, options: SluiceErrorOptions = {}) {
    super(
      'ENGINE_FAILED',
      stepId === undefined ? message : `Step "${stepId}": ${message}`,
      options,
    );
    this.stepId = stepId;
  }
}

/**
 * A step's rows do not add up: rows in differ from rows out plus rows quarantined (plus rows a
 * user's SQL filtered). The step never reports success with records unaccounted for.
 *
 * @example
 * ```ts
 * throw new RowsUnaccountedError('orders', 'the files hold 10000 records; 5000 typed + 1 quarantined');
 * ```
 */
export class RowsUnaccountedError extends SluiceError {
  readonly stepId: string;

  constructor(stepId: string, message: string, options: SluiceErrorOptions = {}) {
    super('ROWS_UNACCOUNTED', `Step "${stepId}": ${message}`, options);
    this.stepId = stepId;
  }
}

/**
 * The run store (the embedded database under `.sluice/` or PostgreSQL) could not be opened,
 * migrated or reached. Connection failures are retryable; a store written by a newer Sluice is
 * not.
 *
 * @example
 * ```ts
 * throw new StoreError('postgres://db/sluice', 'connection refused', { cause, retryable: true });
 * ```
 */
export class StoreError extends SluiceError {
  readonly store: string;
  readonly #retryable: boolean;

  constructor(
    store: string,
    message: string,
    options: SluiceErrorOptions & { readonly retryable?: boolean } = {},
  ) {
    super('STORE_FAILED', `Run store ${store}: ${message}`, options);
    this.store = store;
    this.#retryable = options.retryable ?? false;
  }

  override get retryable(): boolean {
    return this.#retryable;
  }
}

/**
 * An OpenLineage event that cannot be recorded: not a RunEvent, or a field Sluice reads has the
 * wrong shape. `path` points at the offending field; nothing of the event is stored.
 *
 * @example
 * ```ts
 * throw new LineageEventError('job.name', 'must be a non-empty string');
 * ```
 */
export class LineageEventError extends SluiceError {
  /** Where in the event the problem is, e.g. `outputs[2].facets.columnLineage.fields.id`. */
  readonly path: string;

  constructor(path: string, message: string, options: SluiceErrorOptions = {}) {
    super(
      'LINEAGE_EVENT_INVALID',
      `OpenLineage event: ${path === '' ? '' : `${path} `}${message}`,
      {
        hint: 'send an OpenLineage 2-0-2 RunEvent (https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent)',
        ...options,
      },
    );
    this.path = path;
  }
}

/**
 * Bad command-line usage (unknown flag, malformed `--param`).
 *
 * @example
 * ```ts
 * throw new UsageError('--param expects key=value, got "region"');
 * ```
 */
export class UsageError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('USAGE', message, options);
  }
}

/**
 * A failure that may succeed when retried as is (a dropped connection, a lock timeout).
 *
 * @example
 * ```ts
 * throw new RetryableError('connection reset by peer', { cause });
 * ```
 */
export class RetryableError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('RETRYABLE', message, options);
  }

  override get retryable(): boolean {
    return true;
  }
}

/**
 * A failure that may succeed after waiting `waitMs` (rate limits, `Retry-After`).
 *
 * @example
 * ```ts
 * throw new BackoffError('HTTP 429 from api.example.com', 30_000);
 * ```
 */
export class BackoffError extends SluiceError {
  readonly waitMs: number;

  constructor(message: string, waitMs: number, options: SluiceErrorOptions = {}) {
    super('BACKOFF', message, options);
    this.waitMs = waitMs;
  }

  override get retryable(): boolean {
    return true;
  }
}

/**
 * A failure that retrying cannot fix (bad credentials, a missing table).
 *
 * @example
 * ```ts
 * throw new PermanentError('authentication failed for user "etl"');
 * ```
 */
export class PermanentError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('PERMANENT', message, options);
  }
}

/**
 * Some rows of a batch failed; the rest succeeded. `failedRows` are indexes into the batch.
 *
 * @example
 * ```ts
 * throw new BatchError('2 rows rejected by the sink', [3, 17]);
 * ```
 */
export class BatchError extends SluiceError {
  readonly failedRows: readonly number[];

  constructor(message: string, failedRows: readonly number[], options: SluiceErrorOptions = {}) {
    super('BATCH_FAILED', message, options);
    this.failedRows = failedRows;
  }
}

/**
 * Renders diagnostics one per line, each with its place (`file:line step "x"`) and hint.
 *
 * @example
 * ```ts
 * formatDiagnostics([{ code: 'cycle', message: 'a -> b -> a' }]); // "cycle: a -> b -> a"
 * ```
 */
export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  const count = diagnostics.length;
  const lines = diagnostics.map((d) => {
    const place = [
      d.file === undefined ? undefined : d.line === undefined ? d.file : `${d.file}:${d.line}`,
      d.stepId === undefined ? undefined : `step "${d.stepId}"`,
      d.path === undefined ? undefined : `at ${d.path}`,
    ]
      .filter((part) => part !== undefined)
      .join(' ');
    const hint = d.hint === undefined ? '' : `\n    hint: ${d.hint}`;
    return `  - ${place === '' ? '' : `${place}: `}${d.message}${hint}`;
  });
  return `${count} problem${count === 1 ? '' : 's'} found:\n${lines.join('\n')}`;
}

/**
 * A short, one-line description of any thrown value.
 *
 * @example
 * ```ts
 * describeCause(new Error('boom')); // "Error: boom"
 * ```
 */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  if (typeof cause === 'string') return cause;
  try {
    return JSON.stringify(cause) ?? String(cause);
  } catch {
    return String(cause);
  }
}

/**
 * The error of a source or sink step whose driver failed: the message, the driver's text kept
 * as the cause with its `retryable` flag and code (so retries can tell), and a hint.
 *
 * @example
 * ```ts
 * throw connectorError({ role: 'sink', stepId: 'alerts' }, 'cannot append to alerts', { text: 'ECONNRESET', retryable: true });
 * ```
 */
export function connectorError(
  where: { readonly role: 'source' | 'sink'; readonly stepId: string },
  message: string,
  driver: {
    readonly text: string;
    readonly retryable: boolean;
    readonly code?: unknown;
    readonly hint?: string | undefined;
  },
): SourceError | SinkError {
  const cause = Object.assign(new Error(driver.text), {
    retryable: driver.retryable,
    code: driver.code,
  });
  const options = { cause, ...(driver.hint === undefined ? {} : { hint: driver.hint }) };
  return where.role === 'source'
    ? new SourceError(where.stepId, message, options)
    : new SinkError(where.stepId, message, options);
}
