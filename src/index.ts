/**
 * Sluice: typed data pipelines for TypeScript.
 *
 * @example
 * ```ts
 * import { pipeline, source, sql, ref, sink, schema, t } from 'sluice';
 *
 * const orders = schema({ order_id: t.int64().notNull(), amount: t.decimal(12, 2) });
 * export default pipeline('orders', {
 *   steps: {
 *     raw: source.csv({ path: 'data/orders.csv', schema: orders }),
 *     big: sql`select * from ${ref('raw')} where amount > 100`,
 *     out: sink.parquet({ input: ref('big'), path: 'out/big.parquet' }),
 *   },
 * });
 * ```
 */
export {
  pipeline,
  isPipeline,
  source,
  sink,
  sql,
  transform,
  check,
  ref,
  param,
  DatasetRef,
  ParamRef,
  SQLStep,
} from './define/index.js';
export type {
  Pipeline,
  PipelineOptions,
  EngineOptions,
  OrchestrationOptions,
  RetryPolicy,
  ScheduleSpec,
  TriggerSpec,
  StepDefinition,
  StepKind,
  SourceStep,
  SinkStep,
  CheckStep,
  TransformStep,
  TransformOptions,
  TransformContext,
  BatchTransformFunction,
  RecordTransformFunction,
  Row,
  SQLStepOptions,
  SQLTemplateValue,
  Materialization,
  Warehouse,
  IncrementalModelOptions,
  SnapshotOptions,
  DeclarationSite,
} from './define/index.js';
export { schema, Schema, ColumnSpec, t, isSchema } from './core/schema.js';
export type { Field, LogicalType, TypeKind } from './core/types.js';
export { formatType } from './core/types.js';
export {
  SluiceError,
  ConfigError,
  PipelineLoadError,
  UserCodeError,
  SourceError,
  SinkError,
  SchemaMismatchError,
  QualityGateError,
  EngineError,
  UsageError,
  RetryableError,
  BackoffError,
  PermanentError,
  BatchError,
  StoreError,
  RowsUnaccountedError,
  formatDiagnostics,
} from './core/errors.js';
export type { SluiceErrorCode, Diagnostic } from './core/errors.js';
export { parseDuration, formatDuration } from './core/duration.js';
export { newRunId } from './core/ids.js';
export type { Logger } from './core/logger.js';
export { runPipeline } from './engine/executor.js';
export type { RunOptions, StepEvent } from './engine/executor.js';
export { planPipeline, planOrThrow } from './plan/planner.js';
export type { Plan, PlannedStep, PlanResult } from './plan/planner.js';
export {
  createRegistry,
  defineSource,
  defineSink,
  ConnectorRegistry,
} from './contracts/batch-connector.js';
export { defaultRegistry } from './registry.js';
export type {
  BatchSourceConnector,
  BatchSinkConnector,
  SourceReadContext,
  SourceReadResult,
  SinkWriteContext,
} from './contracts/batch-connector.js';
export type { StagedOutput } from './contracts/staged-output.js';
export type { RunReport, StepReport, RunStatus, StepStatus } from './observe/run-report.js';
export { formatRunReport } from './observe/run-report.js';
export { loadPipelineFile } from './plan/load-pipeline-file.js';
export {
  expect,
  suite,
  suiteFromGX,
  validateSuite,
  validateDataFile,
  expectationTypes,
} from './quality/index.js';
export type {
  ExpectationConfig,
  ExpectationOptions,
  ExpectationResult,
  Suite,
  SuiteResult,
  Severity,
  ResultFormat,
} from './quality/index.js';
export {
  defineProject,
  Project,
  RunStore,
  runWorker,
  runScheduler,
  planBackfill,
  submitBackfill,
} from './orchestrator/index.js';
export type {
  ProjectConfig,
  RunRecord,
  RunState,
  TaskRecord,
  DataInterval,
  BackfillOptions,
  BackfillPlan,
} from './orchestrator/index.js';
export { stream, isStream, streamSource, streamSink } from './define/stream.js';
export type { StreamDefinition, StreamOptions, StreamEndpoint } from './define/stream.js';
export { loadStreamFile } from './plan/load-pipeline-file.js';
