import type { Field } from '../../core/types.js';
import type { Pipeline } from '../../define/pipeline.js';
import type { PlannedStep } from '../../plan/planner.js';
import type { SuiteResult } from '../../quality/expectation.js';
import type { DatasetMetrics } from '../../quality/metric-history.js';
import type { RunStatus, StepReport } from '../run-report.js';
import type { ColumnLineageInput } from './column-lineage-hook.js';
import type { DatasetIdentity } from './dataset-naming.js';
import { connectorDatasets } from './dataset-naming.js';
import {
  assertionsFacet,
  errorMessageFacet,
  facet,
  qualityMetricsFacet,
  schemaFacet,
} from './facets.js';
import type { LineageEmitter } from './lineage-emitter.js';
import { PENDING_COLUMN_LINEAGE, pendingColumnLineage } from './pending-column-lineage.js';
import type { Facet, Facets, LineageDataset, RunEvent, RunEventType } from './openlineage-event.js';
import { OPENLINEAGE_SCHEMA_URL, SLUICE_PRODUCER } from './openlineage-event.js';
import { lineageRunId } from './run-uuid.js';

/** What a finished step tells lineage, taken from its outcome by the engine. */
export interface StepLineageFacts {
  readonly fields?: readonly Field[];
  /** Files or tables read or written outside the pipeline, as the step reported them. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly rowsIn: number | null;
  readonly rowsOut: number | null;
  readonly quality?: SuiteResult;
  readonly metrics?: DatasetMetrics;
  /** The compiled SQL of a SQL step. */
  readonly sql?: string;
}

/** Options of {@link RunLineage}. */
export interface RunLineageOptions {
  readonly pipeline: Pipeline;
  readonly steps: readonly PlannedStep[];
  readonly runId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly baseDir: string;
  readonly fullRefresh?: boolean;
  /** The run's data interval (ISO times); else the `interval_start`/`interval_end` params. */
  readonly interval?: { readonly start: string; readonly end: string };
  /** The attempt number: attempts after the first are lineage runs of their own. */
  readonly attempt?: number;
  /** Applied to every event before it is emitted (the run's secret redaction). */
  readonly redact?: (event: RunEvent) => RunEvent;
}

const SINK_OVERWRITE_MODES = new Set(['overwrite', 'replace']);
const FILE_SINKS = new Set(['csv', 'ndjson', 'parquet', 'avro']);

/**
 * Builds and emits the OpenLineage events of one batch run: START and a terminal event for the
 * pipeline run and for each step run (a child of the pipeline run through the `parent` facet).
 * Everything comes from what the run already knows (its plan, step reports and outcomes).
 *
 * @example
 * ```ts
 * const lineage = new RunLineage(emitter, { pipeline, steps: plan.steps, runId, params, baseDir });
 * lineage.runStarted(new Date());
 * ```
 */
export class RunLineage {
  readonly #emitter: LineageEmitter;
  readonly #options: RunLineageOptions;
  readonly #namespace: string;
  readonly #uuid: string;
  readonly #runKey: string;
  readonly #facts = new Map<string, StepLineageFacts>();
  readonly #started = new Set<string>();
  readonly #ended = new Set<string>();

  constructor(emitter: LineageEmitter, options: RunLineageOptions) {
    this.#emitter = emitter;
    this.#options = options;
    this.#namespace = emitter.namespace;
    this.#runKey =
      options.attempt === undefined || options.attempt <= 1
        ? options.runId
        : `${options.runId}#${options.attempt}`;
    this.#uuid = lineageRunId(this.#runKey);
  }

  /** The pipeline run's START. */
  runStarted(at: Date): void {
    this.#emit(
      'START',
      at,
      this.#uuid,
      this.#options.pipeline.name,
      this.#runFacets(),
      this.#pipelineJobFacets(),
      [],
      [],
    );
  }

  /** A step run's START. */
  stepStarted(step: PlannedStep, at: Date): void {
    if (this.#started.has(step.id)) return;
    this.#started.add(step.id);
    this.#emit(
      'START',
      at,
      lineageRunId(this.#runKey, step.id),
      this.#stepJob(step),
      this.#stepRunFacets(),
      this.#stepJobFacets(step),
      [],
      [],
    );
  }

  /**
   * A step run finished. A sink's success waits for its publication ({@link stepPublished}) or
   * the run's end; anything else ends the step run now.
   */
  stepFinished(
    step: PlannedStep,
    report: StepReport,
    facts: StepLineageFacts | undefined,
    at: Date,
  ): void {
    if (facts !== undefined) this.#facts.set(step.id, facts);
    if (step.kind === 'sink' && report.status === 'success') return;
    this.#endStep(step, report, at);
  }

  /** A sink's output was published: its step run completes. */
  stepPublished(step: PlannedStep, report: StepReport, at: Date): void {
    this.#endStep(step, report, at);
  }

  /** The pipeline run ended: open step runs end with it, then the run's own terminal event. */
  runFinished(
    status: RunStatus,
    reports: readonly StepReport[],
    error: string | undefined,
    at: Date,
  ): void {
    for (const report of reports) {
      const step = this.#options.steps.find((s) => s.id === report.id);
      if (step !== undefined && this.#started.has(step.id)) this.#endStep(step, report, at);
    }
    const inputs = this.#options.steps
      .filter((step) => step.kind === 'source')
      .flatMap((step) => this.#external(step, 'input'));
    const outputs =
      status === 'success'
        ? this.#options.steps
            .filter((step) => step.kind === 'sink')
            .flatMap((step) => this.#external(step, 'output'))
            .map(withoutColumnLineage)
        : [];
    this.#emit(
      terminal(status),
      at,
      this.#uuid,
      this.#options.pipeline.name,
      {
        ...this.#runFacets(),
        ...(error === undefined ? {} : { errorMessage: errorMessageFacet(error) }),
      },
      this.#pipelineJobFacets(),
      inputs,
      outputs,
    );
  }

  #endStep(step: PlannedStep, report: StepReport, at: Date): void {
    if (!this.#started.has(step.id) || this.#ended.has(step.id)) return;
    this.#ended.add(step.id);
    const status: RunStatus =
      report.status === 'success' ? 'success' : report.status === 'failed' ? 'failed' : 'canceled';
    const { inputs, outputs } = this.#stepDatasets(step, report, status);
    this.#emit(
      terminal(status),
      at,
      lineageRunId(this.#runKey, step.id),
      this.#stepJob(step),
      {
        ...this.#stepRunFacets(),
        ...(report.error === undefined
          ? {}
          : { errorMessage: errorMessageFacet(`[${report.error.code}] ${report.error.message}`) }),
      },
      this.#stepJobFacets(step),
      inputs,
      outputs,
    );
  }

  #stepDatasets(
    step: PlannedStep,
    report: StepReport,
    status: RunStatus,
  ): { inputs: LineageDataset[]; outputs: LineageDataset[] } {
    const facts = this.#facts.get(step.id);
    const quality = facts?.quality ?? report.quality;
    if (step.kind === 'source') {
      const inputs = this.#external(step, 'input');
      const columnLineage = this.#sourceLineage(step, inputs, facts?.fields);
      return {
        inputs,
        outputs:
          status === 'success'
            ? [
                this.#internal(step.id, {
                  outputStatistics: report.rowsOut,
                  ...(columnLineage === undefined ? {} : { columnLineage }),
                }),
              ]
            : [],
      };
    }
    const inputs = step.inputs.map((id) =>
      this.#internal(id, {
        ...(step.kind === 'check' && quality !== undefined ? { assertions: quality } : {}),
        ...(step.kind === 'check'
          ? { metrics: { rowCount: report.rowsIn, measured: facts?.metrics } }
          : {}),
      }),
    );
    if (status !== 'success') return { inputs, outputs: [] };
    if (step.kind === 'sink') return { inputs, outputs: this.#external(step, 'output') };
    const columnLineage =
      step.kind === 'check' && step.inputs.length === 1
        ? this.#checkLineage(step.inputs[0] as string)
        : undefined;
    const pending = step.kind === 'sql' ? this.#columnLineageRequest(step, facts) : undefined;
    return {
      inputs,
      outputs: [
        this.#internal(step.id, {
          outputStatistics: report.rowsOut,
          ...(columnLineage === undefined ? {} : { columnLineage }),
          ...(pending === undefined ? {} : { pendingColumnLineage: pending }),
        }),
      ],
    };
  }

  /** Asks the emitter for the SQL step's column lineage (deriving needs the SQL parser). */
  #columnLineageRequest(step: PlannedStep, facts: StepLineageFacts | undefined): Facet | undefined {
    if (facts?.sql === undefined) return undefined;
    const inputs: ColumnLineageInput[] = step.inputs.map((id) => ({
      namespace: this.#namespace,
      name: this.#internalName(id),
      relation: id,
      fields: this.#facts.get(id)?.fields ?? [],
    }));
    return pendingColumnLineage({ sql: facts.sql, inputs, dialect: 'duckdb' });
  }

  /**
   * A source that reads one table or file set as it is maps each column one to one; the metadata
   * columns it adds come from no input column and are left out. Other sources (queries, CDC,
   * APIs) may reshape what they read, so no facet is made for them.
   */
  #sourceLineage(
    step: PlannedStep,
    inputs: readonly LineageDataset[],
    fields: readonly Field[] | undefined,
  ): Facet | undefined {
    const definition = step.definition;
    const input = inputs[0];
    if (definition.kind !== 'source' || inputs.length !== 1 || input === undefined)
      return undefined;
    if (fields === undefined || !ONE_TO_ONE_SOURCES.has(definition.connector)) return undefined;
    if ((step.config as { query?: unknown } | undefined)?.query !== undefined) return undefined;
    return this.#identityLineage(
      input.namespace,
      input.name,
      fields.filter((field) => !METADATA_COLUMNS.has(field.name)),
    );
  }

  /** A check passes its input's rows on (less the quarantined), every column as it is. */
  #checkLineage(input: string): Facet | undefined {
    const fields = this.#facts.get(input)?.fields;
    return fields === undefined
      ? undefined
      : this.#identityLineage(this.#namespace, this.#internalName(input), fields);
  }

  /** `columnLineage` for columns copied as they are from the same-named columns of a dataset. */
  #identityLineage(namespace: string, name: string, fields: readonly Field[]): Facet | undefined {
    if (fields.length === 0) return undefined;
    return facet('columnLineage', {
      fields: Object.fromEntries(
        fields.map((field) => [
          field.name,
          {
            inputFields: [
              {
                namespace,
                name,
                field: field.name,
                transformations: [{ type: 'DIRECT', subtype: 'IDENTITY' }],
              },
            ],
          },
        ]),
      ),
    });
  }

  #internalName(stepId: string): string {
    return `${this.#options.pipeline.name}.${stepId}`;
  }

  /** A dataset inside the pipeline (a step's DuckDB relation), in the lineage namespace. */
  #internal(
    stepId: string,
    extra: {
      readonly outputStatistics?: number | null;
      readonly columnLineage?: Facet;
      readonly pendingColumnLineage?: Facet;
      readonly assertions?: SuiteResult;
      readonly metrics?: {
        readonly rowCount: number | null;
        readonly measured: DatasetMetrics | undefined;
      };
    },
  ): LineageDataset {
    const fields = this.#facts.get(stepId)?.fields;
    const facets: Record<string, Facet> = {};
    if (fields !== undefined) facets['schema'] = schemaFacet(fields);
    if (extra.columnLineage !== undefined) facets['columnLineage'] = extra.columnLineage;
    if (extra.pendingColumnLineage !== undefined)
      facets[PENDING_COLUMN_LINEAGE] = extra.pendingColumnLineage;
    if (extra.assertions !== undefined)
      facets['dataQualityAssertions'] = assertionsFacet(extra.assertions);
    const inputFacets: Record<string, Facet> = {};
    if (extra.metrics !== undefined)
      inputFacets['dataQualityMetrics'] = qualityMetricsFacet({
        ...(extra.metrics.rowCount === null ? {} : { rowCount: extra.metrics.rowCount }),
        ...(extra.metrics.measured === undefined ? {} : { metrics: extra.metrics.measured }),
      });
    const outputFacets: Record<string, Facet> =
      extra.outputStatistics === undefined || extra.outputStatistics === null
        ? {}
        : { outputStatistics: facet('outputStatistics', { rowCount: extra.outputStatistics }) };
    return {
      namespace: this.#namespace,
      name: this.#internalName(stepId),
      facets,
      ...(Object.keys(inputFacets).length === 0 ? {} : { inputFacets }),
      ...(Object.keys(outputFacets).length === 0 ? {} : { outputFacets }),
    };
  }

  /** The datasets outside the pipeline a source reads or a sink writes. */
  #external(step: PlannedStep, role: 'input' | 'output'): LineageDataset[] {
    const definition = step.definition;
    if (definition.kind !== 'source' && definition.kind !== 'sink') return [];
    const facts = this.#facts.get(step.id);
    const locations = (role === 'input' ? facts?.inputs : facts?.outputs) ?? [];
    const identities = connectorDatasets({
      connector: definition.connector,
      config: step.config,
      baseDir: this.#options.baseDir,
      locations: locations.map((location) => location.replace(/@v\d+$/, '').replace(/#.*$/, '')),
    });
    const fields =
      role === 'input'
        ? facts?.fields
        : (this.#facts.get(step.inputs[0] ?? '')?.fields ?? facts?.fields);
    const mode = (step.config as { mode?: unknown } | undefined)?.mode;
    const overwrite =
      role === 'output' &&
      (this.#options.fullRefresh === true ||
        (typeof mode === 'string' && SINK_OVERWRITE_MODES.has(mode)) ||
        FILE_SINKS.has(definition.connector));
    const version = role === 'input' ? deltaVersion(definition.connector, locations) : undefined;
    const input = step.inputs[0];
    const columnLineage =
      role === 'output' && identities.length === 1 && input !== undefined && fields !== undefined
        ? this.#identityLineage(this.#namespace, this.#internalName(input), fields)
        : undefined;
    return identities.map((identity) =>
      externalDataset(identity, {
        ...(columnLineage === undefined ? {} : { columnLineage }),
        ...(fields === undefined ? {} : { fields }),
        ...(version === undefined ? {} : { version }),
        ...(overwrite ? { lifecycle: 'OVERWRITE' } : {}),
        ...(role === 'input' &&
        facts?.rowsIn !== null &&
        facts?.rowsIn !== undefined &&
        identities.length === 1
          ? { rowsIn: facts.rowsIn }
          : {}),
        ...(role === 'output' &&
        facts?.rowsOut !== null &&
        facts?.rowsOut !== undefined &&
        identities.length === 1
          ? { rowsOut: facts.rowsOut }
          : {}),
      }),
    );
  }

  #runFacets(): Facets {
    const start = this.#options.interval?.start ?? this.#options.params['interval_start'];
    const end = this.#options.interval?.end ?? this.#options.params['interval_end'];
    if (start === undefined || start === '') return {};
    return {
      nominalTime: facet('nominalTime', {
        nominalStartTime: start,
        ...(end === undefined || end === '' ? {} : { nominalEndTime: end }),
      }),
    };
  }

  #stepRunFacets(): Facets {
    return {
      ...this.#runFacets(),
      parent: facet('parent', {
        run: { runId: this.#uuid },
        job: { namespace: this.#namespace, name: this.#options.pipeline.name },
      }),
    };
  }

  #pipelineJobFacets(): Facets {
    const pipeline = this.#options.pipeline;
    return {
      jobType: facet('jobType', {
        processingType: 'BATCH',
        integration: 'SLUICE',
        jobType: 'PIPELINE',
      }),
      ...commonJobFacets(pipeline, pipeline.description),
    };
  }

  #stepJob(step: PlannedStep): string {
    return `${this.#options.pipeline.name}.${step.id}`;
  }

  #stepJobFacets(step: PlannedStep): Facets {
    const sql = this.#facts.get(step.id)?.sql;
    return {
      jobType: facet('jobType', {
        processingType: 'BATCH',
        integration: 'SLUICE',
        jobType: 'STEP',
      }),
      ...commonJobFacets(this.#options.pipeline, step.definition.description),
      ...(sql === undefined ? {} : { sql: facet('sql', { query: sql, dialect: 'duckdb' }) }),
    };
  }

  #emit(
    eventType: RunEventType,
    at: Date,
    runId: string,
    job: string,
    runFacets: Facets,
    jobFacets: Facets,
    inputs: readonly LineageDataset[],
    outputs: readonly LineageDataset[],
  ): void {
    const event: RunEvent = {
      eventType,
      eventTime: at.toISOString(),
      producer: SLUICE_PRODUCER,
      schemaURL: OPENLINEAGE_SCHEMA_URL,
      run: { runId, facets: runFacets },
      job: { namespace: this.#namespace, name: job, facets: jobFacets },
      inputs,
      outputs,
    };
    this.#emitter.emit(this.#options.redact === undefined ? event : this.#options.redact(event));
  }
}

function terminal(status: RunStatus): RunEventType {
  return status === 'success' ? 'COMPLETE' : status === 'failed' ? 'FAIL' : 'ABORT';
}

function commonJobFacets(pipeline: Pipeline, description: string | undefined): Facets {
  const file = pipeline.declaredAt.file;
  return {
    ...(file === undefined
      ? {}
      : {
          sourceCodeLocation: facet('sourceCodeLocation', {
            type: 'file',
            url: file.startsWith('file:') ? file : `file://${file}`,
            path: file.replace(/^file:\/\//, ''),
          }),
        }),
    ...(description === undefined || description === ''
      ? {}
      : { documentation: facet('documentation', { description }) }),
    ...(pipeline.owners.length === 0
      ? {}
      : { ownership: facet('ownership', { owners: pipeline.owners.map((name) => ({ name })) }) }),
  };
}

function deltaVersion(connector: string, locations: readonly string[]): string | undefined {
  if (connector !== 'delta') return undefined;
  const match = /@v(\d+)$/.exec(locations[0] ?? '');
  return match?.[1];
}

/**
 * A sink's output as the pipeline run names it: its column edges come from the pipeline's own
 * datasets and belong to the sink's step run, which reports them.
 */
function withoutColumnLineage(dataset: LineageDataset): LineageDataset {
  if (dataset.facets?.['columnLineage'] === undefined) return dataset;
  const { columnLineage: _edges, ...facets } = dataset.facets;
  return { ...dataset, facets };
}

/** Sources that read a table or files as they are, column for column. */
const ONE_TO_ONE_SOURCES: ReadonlySet<string> = new Set([
  'csv',
  'tsv',
  'json',
  'ndjson',
  'parquet',
  'avro',
  'delta',
  'postgres',
  'mysql',
  'clickhouse',
]);

/** Columns file sources add (see connectors/shared/metadata-columns.ts): no input has them. */
const METADATA_COLUMNS: ReadonlySet<string> = new Set(['_source_file', '_extracted_at', '_run_id']);

function externalDataset(
  identity: DatasetIdentity,
  known: {
    readonly fields?: readonly Field[];
    readonly version?: string;
    readonly lifecycle?: 'OVERWRITE' | 'TRUNCATE' | 'DROP';
    readonly rowsIn?: number;
    readonly rowsOut?: number;
    readonly columnLineage?: Facet;
  },
): LineageDataset {
  return {
    namespace: identity.namespace,
    name: identity.name,
    facets: {
      dataSource: facet('dataSource', {
        name: identity.namespace,
        uri: identity.namespace === 'file' ? `file://${identity.name}` : identity.namespace,
      }),
      ...(known.fields === undefined ? {} : { schema: schemaFacet(known.fields) }),
      ...(known.version === undefined
        ? {}
        : { version: facet('version', { datasetVersion: known.version }) }),
      ...(known.lifecycle === undefined
        ? {}
        : {
            lifecycleStateChange: facet('lifecycleStateChange', {
              lifecycleStateChange: known.lifecycle,
            }),
          }),
      ...(known.columnLineage === undefined ? {} : { columnLineage: known.columnLineage }),
    },
    ...(known.rowsIn === undefined
      ? {}
      : { inputFacets: { dataQualityMetrics: qualityMetricsFacet({ rowCount: known.rowsIn }) } }),
    ...(known.rowsOut === undefined
      ? {}
      : {
          outputFacets: {
            outputStatistics: facet('outputStatistics', { rowCount: known.rowsOut }),
          },
        }),
  };
}
