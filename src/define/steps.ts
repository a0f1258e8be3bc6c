import type {
  IncrementalModelOptions,
  Materialization,
  SnapshotOptions,
  Warehouse,
} from '../core/warehouse-options.js';
import type { RetryPolicy } from '../core/retry-policy.js';
import type { Schema } from '../core/schema.js';
import type { Suite } from '../quality/expectation.js';
import type { DeclarationSite } from './origin.js';
import type { DatasetRef, ParamRef } from './ref.js';

/** A plain record as TypeScript steps see it: column name to JS value. */
export type Row = Record<string, unknown>;

/** Fields every step shares. */
interface StepBase {
  readonly declaredAt: DeclarationSite;
  readonly description?: string;
  /**
   * A suite gating this step's output: the pipeline runs the step as `<id>_unchecked` followed
   * by a check step named `<id>`, so every reader sees checked data.
   */
  readonly expect?: Suite;
}

/**
 * Reads a dataset from outside the pipeline through a source connector.
 * Created by the `source.*` factories.
 */
export interface SourceStep extends StepBase {
  readonly kind: 'source';
  readonly connector: string;
  /** Connector config as written; the planner validates it against the connector's schema. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly incremental?: IncrementalOptions;
  /** Retries of the step alone when it fails with a retryable error (see `RetryPolicy`). */
  readonly retries?: number | RetryPolicy;
}

/**
 * Reads only rows new since the last successful run, at-least-once at the source and exactly
 * once into the dataset: the source reads from the saved watermark INCLUSIVE (minus
 * `lagWindow`), and the engine drops the rows an earlier run already read (remembered by
 * primary key and cursor, or by a hash of the whole row) before any other step sees them. The
 * new state (watermark and boundary rows) is committed with the run's success, so a failed run
 * never moves it. See docs/concepts.md, "Incremental sources".
 *
 * @example
 * ```ts
 * source.postgres({ url, table: 'orders', incremental: { cursor: 'updated_at', primaryKey: 'id', lagWindow: '10m' } });
 * ```
 */
export interface IncrementalOptions {
  /** The column whose values only grow: an update timestamp, a sequence number. */
  readonly cursor: string;
  /**
   * The columns that identify a row, so a row read again is recognised by key and cursor value.
   * Default: the source's own `primaryKey` option where it has one; without a key, a row is
   * recognised by a hash of all its columns (run metadata such as `_extracted_at` aside).
   */
  readonly primaryKey?: string | readonly string[];
  /**
   * Read again the rows this far behind the watermark, to catch rows committed late with an
   * older cursor: a duration (`'10m'`, `'2h'`) for date/time cursors, a number for numeric
   * ones. Re-read rows already delivered are dropped. Sources with their own `lagWindow`
   * option may set it there instead.
   */
  readonly lagWindow?: string | number;
  /**
   * How many boundary rows (those in the lag window, or sharing the watermark) the state
   * remembers (default 10000). Past it the window narrows to the newest cursor values that fit,
   * and a warning is logged; rows at the watermark itself are always all remembered.
   */
  readonly maxBoundaryRows?: number;
}

export type {
  IncrementalModelOptions,
  Materialization,
  SnapshotOptions,
  Warehouse,
} from '../core/warehouse-options.js';

/** A value spliced into a `sql` template. */
export type SQLTemplateValue = DatasetRef | ParamRef | string | number | bigint | boolean | null;

/** Options of a SQL step; see {@link SQLStep.options}. */
export interface SQLStepOptions {
  /**
   * `view` is computed lazily by its consumer; `table` is computed once and kept. By default a
   * step feeding exactly one transform or sink is a view and any other step a table, so every
   * step's row count is known without extra scans.
   */
  readonly materialize?: Materialization;
  /**
   * Runs the query in this warehouse instead of DuckDB (ELT): the step writes a table or view
   * there named `table`, and reads warehouse tables: other steps in the same warehouse and
   * sinks that loaded it (`ref('<sink step>')`).
   */
  readonly warehouse?: Warehouse;
  /** The warehouse table or view the step writes (`schema.name`); the step's name by default. */
  readonly table?: string;
  /** With `materialize: 'incremental'`: how new rows are added (`append` by default). */
  readonly incremental?: IncrementalModelOptions;
  /** With `materialize: 'snapshot'`: the snapshot's key, change detection and deletes. */
  readonly snapshot?: SnapshotOptions;
  /** Columns the query must produce; checked after the step runs. */
  readonly schema?: Schema;
  readonly description?: string;
  /** A suite gating the query's output (see `check`). */
  readonly expect?: Suite;
}

/**
 * A transform written in SQL, run inside the engine. Created by the `sql` tag.
 * Immutable: {@link SQLStep.options} returns a new step.
 */
export class SQLStep implements StepBase {
  readonly kind = 'sql' as const;
  readonly strings: readonly string[];
  readonly values: readonly SQLTemplateValue[];
  readonly declaredAt: DeclarationSite;
  /** Undefined: decided by the executor (see {@link SQLStepOptions.materialize}). */
  readonly materialize: Materialization | undefined;
  readonly warehouse: Warehouse | undefined;
  readonly table: string | undefined;
  readonly incremental: IncrementalModelOptions | undefined;
  readonly snapshot: SnapshotOptions | undefined;
  readonly schema: Schema | undefined;
  readonly description: string | undefined;
  readonly expect: Suite | undefined;

  constructor(
    strings: readonly string[],
    values: readonly SQLTemplateValue[],
    declaredAt: DeclarationSite,
    options: SQLStepOptions = {},
  ) {
    this.strings = strings;
    this.values = values;
    this.declaredAt = declaredAt;
    this.materialize = options.materialize;
    this.warehouse = options.warehouse;
    this.table = options.table;
    this.incremental = options.incremental;
    this.snapshot = options.snapshot;
    this.schema = options.schema;
    this.description = options.description;
    this.expect = options.expect;
  }

  /**
   * Returns a copy of this step with options set.
   *
   * @example
   * ```ts
   * sql`select * from ${ref('orders')}`.options({ materialize: 'table' });
   * ```
   */
  options(options: SQLStepOptions): SQLStep {
    const merged: SQLStepOptions = {
      materialize: options.materialize ?? this.materialize,
      warehouse: options.warehouse ?? this.warehouse,
      table: options.table ?? this.table,
      incremental: options.incremental ?? this.incremental,
      snapshot: options.snapshot ?? this.snapshot,
      schema: options.schema ?? this.schema,
      description: options.description ?? this.description,
      expect: options.expect ?? this.expect,
    };
    const defined = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
    return new SQLStep(this.strings, this.values, this.declaredAt, defined);
  }
}

/** What a TypeScript transform can use besides its input. */
export interface TransformContext {
  readonly runId: string;
  readonly stepId: string;
  readonly params: Readonly<Record<string, string>>;
  /** Aborted when the run is canceled or another step failed. */
  readonly signal: AbortSignal;
  /**
   * Sends a record to the quarantine store with a reason instead of the output.
   * The run report counts it; it is never silently dropped.
   */
  quarantine(record: Row, reason: string): void;
}

/** A transform over the whole input as an async stream of batches. */
export type BatchTransformFunction = (
  batches: AsyncIterable<Row[]>,
  context: TransformContext,
) => AsyncIterable<Row[]>;

/**
 * A per-record transform: return a row, an array of rows, or `null`/`undefined` to drop the
 * record on purpose (it is counted as filtered, not lost).
 */
export type RecordTransformFunction = (
  row: Row,
  context: TransformContext,
) => Row | Row[] | null | undefined | Promise<Row | Row[] | null | undefined>;

/**
 * A transform written in TypeScript. Input batches stream out of the engine and output rows
 * stream back into it; the whole dataset is never held in JS memory.
 */
export interface TransformStep extends StepBase {
  readonly kind: 'transform';
  readonly input: DatasetRef;
  /** Retries of the step alone when it fails with a retryable error (see `RetryPolicy`). */
  readonly retries?: number | RetryPolicy;
  /** Output columns; rows that do not fit are quarantined. Defaults to the input's schema. */
  readonly schema?: Schema;
  /** Rows per input batch (default 2048). */
  readonly batchSize: number;
  readonly run: BatchTransformFunction;
}

/** Writes a step's output somewhere outside the pipeline. Created by the `sink.*` factories. */
export interface SinkStep extends StepBase {
  readonly kind: 'sink';
  readonly connector: string;
  readonly input: DatasetRef;
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * A quality gate on a dataset: runs a suite on its input. Failed `error` expectations fail the
 * run (nothing is published), `warn` ones are reported, and rows failing a `quarantine` one go
 * to the quarantine store; the step's dataset is the rows that pass.
 */
export interface CheckStep extends StepBase {
  readonly kind: 'check';
  readonly input: DatasetRef;
  readonly suite: Suite;
}

/** Any step of a pipeline. */
export type StepDefinition = SourceStep | SQLStep | TransformStep | CheckStep | SinkStep;

/** The kinds of step, as reported in plans and run reports. */
export type StepKind = StepDefinition['kind'];
