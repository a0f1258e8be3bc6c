/**
 * The OpenLineage 2-0-2 run event as Sluice emits it: the shapes of the spec's `RunEvent`,
 * `Run`, `Job`, `InputDataset` and `OutputDataset`, with facets as plain JSON objects.
 */

/** The spec version every event's `schemaURL` names. */
export const OPENLINEAGE_SCHEMA_URL =
  'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/** The `producer` of every event and the `_producer` of every facet. */
export const SLUICE_PRODUCER = 'https://github.com/sluice-data/sluice/tree/v0.1.0';

/** The run states of a run event. */
export type RunEventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';

/** The event types that end a run: exactly one of them follows its START. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<RunEventType> = new Set([
  'COMPLETE',
  'ABORT',
  'FAIL',
]);

/** A facet: any JSON object that names its producer and its schema. */
export interface Facet {
  readonly _producer: string;
  readonly _schemaURL: string;
  readonly [key: string]: unknown;
}

/** Facets by name. */
export type Facets = Readonly<Record<string, Facet>>;

/** A dataset read or written by a run, named after OpenLineage's naming conventions. */
export interface LineageDataset {
  readonly namespace: string;
  readonly name: string;
  readonly facets?: Facets;
  readonly inputFacets?: Facets;
  readonly outputFacets?: Facets;
}

/**
 * One OpenLineage run event.
 *
 * @example
 * ```ts
 * const event: RunEvent = {
 *   eventType: 'START', eventTime: new Date().toISOString(), producer: SLUICE_PRODUCER,
 *   schemaURL: OPENLINEAGE_SCHEMA_URL,
 *   run: { runId: '0190c8a4-7c2e-5f00-8000-000000000000', facets: {} },
 *   job: { namespace: 'sluice', name: 'orders_daily', facets: {} }, inputs: [], outputs: [],
 * };
 * ```
 */
export interface RunEvent {
  readonly eventType: RunEventType;
  readonly eventTime: string;
  readonly producer: string;
  readonly schemaURL: string;
  readonly run: { readonly runId: string; readonly facets: Facets };
  readonly job: { readonly namespace: string; readonly name: string; readonly facets: Facets };
  readonly inputs: readonly LineageDataset[];
  readonly outputs: readonly LineageDataset[];
}
