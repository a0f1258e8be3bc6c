import type { Logger } from '../core/logger.js';
import type { Field } from '../core/types.js';
import type { SuiteResult } from '../quality/expectation.js';
import type { DatasetMetrics, MetricHistoryStore } from '../quality/metric-history.js';
import type { Plan } from '../plan/planner.js';
import type { ConnectorRegistry, WriteProvenance } from '../contracts/batch-connector.js';
import type { StagedOutput } from '../contracts/staged-output.js';
import type { DuckDBSession } from '../contracts/duckdb-session.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { StepEvent } from './step-event.js';
import type { QuarantineStore } from '../contracts/quarantine-store.js';
import type { OpenShared } from '../contracts/shared-resource.js';

/** What a finished step leaves for its consumers and the report. */
export interface StepOutcome {
  readonly fields: readonly Field[];
  /** Undefined for SQL steps: derived from their inputs when the report is made. */
  readonly rowsIn: number | undefined;
  /** Undefined for views until their consumer has read them. */
  rowsOut: number | undefined;
  readonly rowsQuarantined: number;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly staged?: StagedOutput;
  /** The suite result of a check step. */
  readonly quality?: SuiteResult;
  /** Schema differences a source's policy accepted. */
  readonly schemaChanges?: readonly string[];
  /** Values a source set to null under the discard_column policy, or a sink could not write. */
  readonly valuesDiscarded?: number;
  /** Metrics of a check step's dataset, stored in the metric history once the run succeeded. */
  readonly metrics?: { readonly dataset: string; readonly values: DatasetMetrics };
  /** An incremental source's new watermark, committed only when the run succeeds. */
  readonly watermark?: string;
  /** Outcomes of the datasets a source created besides its own, by dataset name. */
  readonly children?: readonly { readonly name: string; readonly outcome: StepOutcome }[];
}

/** What every step runner gets from the executor. */
export interface StepRunContext {
  readonly plan: Plan;
  readonly registry: ConnectorRegistry;
  readonly session: DuckDBSession;
  readonly connection: EngineConnection;
  readonly outcomes: ReadonlyMap<string, StepOutcome>;
  readonly params: Readonly<Record<string, string>>;
  readonly runId: string;
  readonly baseDir: string;
  readonly stateDir: string;
  readonly startedAt: Date;
  readonly quarantine: QuarantineStore;
  readonly metricHistory: MetricHistoryStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly onEvent?: (event: StepEvent) => void;
  /** Incremental sources' watermarks from the last successful run, by step id. */
  readonly watermarks?: Readonly<Record<string, string>>;
  /** The run's shared resources (warehouse sessions). */
  readonly shared: OpenShared;
  /** Rebuild incremental warehouse models, and replace append and merge sinks' targets. */
  readonly fullRefresh?: boolean;
  /** The pipeline and actor sinks record with their writes. */
  readonly provenance?: WriteProvenance;
}
