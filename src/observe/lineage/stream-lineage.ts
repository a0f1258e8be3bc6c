import { randomUUID } from 'node:crypto';
import { connectorDatasets } from './dataset-naming.js';
import { errorMessageFacet, facet, qualityMetricsFacet } from './facets.js';
import type { LineageEmitter } from './lineage-emitter.js';
import type { Facets, LineageDataset, RunEvent, RunEventType } from './openlineage-event.js';
import { OPENLINEAGE_SCHEMA_URL, SLUICE_PRODUCER } from './openlineage-event.js';

/** A stream as its lineage sees it: its name and the connectors it reads and writes. */
export interface StreamLineageOptions {
  readonly name: string;
  readonly source: { readonly connector: string; readonly config: unknown };
  readonly sink: { readonly connector: string; readonly config: unknown };
  /** Folder relative paths in the configs resolve against. */
  readonly baseDir: string;
}

/** The figures a checkpoint reports. */
export interface StreamCheckpointFigures {
  readonly checkpointId: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
}

/**
 * The OpenLineage events of one stream run (a process running the stream): START, RUNNING at
 * each checkpoint with the records read and written so far, then COMPLETE when it stopped with
 * a final checkpoint, ABORT when it was halted without one, or FAIL with its error.
 *
 * @example
 * ```ts
 * const lineage = new StreamLineage(emitter, { name: 'clicks', source, sink, baseDir });
 * lineage.started(new Date());
 * lineage.checkpoint({ checkpointId: 1, recordsIn: 10, recordsOut: 3 }, new Date());
 * lineage.ended('COMPLETE', undefined, new Date());
 * ```
 */
export class StreamLineage {
  readonly #emitter: LineageEmitter;
  readonly #options: StreamLineageOptions;
  readonly #runId = randomUUID();
  #ended = false;

  constructor(emitter: LineageEmitter, options: StreamLineageOptions) {
    this.#emitter = emitter;
    this.#options = options;
  }

  /** The stream run began. */
  started(at: Date): void {
    this.#emit('START', at, this.#inputs(), this.#outputs(), {});
  }

  /** A checkpoint was committed: a RUNNING event with the figures so far. */
  checkpoint(figures: StreamCheckpointFigures, at: Date): void {
    if (this.#ended) return;
    this.#emit(
      'RUNNING',
      at,
      this.#inputs(figures.recordsIn),
      this.#outputs(figures.recordsOut),
      {},
    );
  }

  /** The stream run ended; `error` (redacted) for a FAIL. */
  ended(eventType: 'COMPLETE' | 'ABORT' | 'FAIL', error: string | undefined, at: Date): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#emit(
      eventType,
      at,
      this.#inputs(),
      eventType === 'COMPLETE' ? this.#outputs() : [],
      error === undefined ? {} : { errorMessage: errorMessageFacet(error) },
    );
  }

  #inputs(records?: number): LineageDataset[] {
    return this.#datasets(this.#options.source).map((dataset) =>
      records === undefined
        ? dataset
        : {
            ...dataset,
            inputFacets: { dataQualityMetrics: qualityMetricsFacet({ rowCount: records }) },
          },
    );
  }

  #outputs(records?: number): LineageDataset[] {
    return this.#datasets(this.#options.sink).map((dataset) =>
      records === undefined
        ? dataset
        : {
            ...dataset,
            outputFacets: { outputStatistics: facet('outputStatistics', { rowCount: records }) },
          },
    );
  }

  #datasets(endpoint: StreamLineageOptions['source']): LineageDataset[] {
    return connectorDatasets({
      connector: endpoint.connector,
      config: endpoint.config,
      baseDir: this.#options.baseDir,
      locations: [],
    }).map((identity) => ({
      ...identity,
      facets: {
        dataSource: facet('dataSource', {
          name: identity.namespace,
          uri: identity.namespace === 'file' ? `file://${identity.name}` : identity.namespace,
        }),
      },
    }));
  }

  #emit(
    eventType: RunEventType,
    at: Date,
    inputs: readonly LineageDataset[],
    outputs: readonly LineageDataset[],
    runFacets: Facets,
  ): void {
    const event: RunEvent = {
      eventType,
      eventTime: at.toISOString(),
      producer: SLUICE_PRODUCER,
      schemaURL: OPENLINEAGE_SCHEMA_URL,
      run: { runId: this.#runId, facets: runFacets },
      job: {
        namespace: this.#emitter.namespace,
        name: this.#options.name,
        facets: {
          jobType: facet('jobType', {
            processingType: 'STREAMING',
            integration: 'SLUICE',
            jobType: 'STREAM',
          }),
        },
      },
      inputs,
      outputs,
    };
    this.#emitter.emit(event);
  }
}
