import type {
  ColumnLineageDeriver,
  ColumnLineageFields,
  ColumnLineageInput,
  ColumnLineageUnresolved,
} from './column-lineage-hook.js';
import { facet } from './facets.js';
import type { Facet, LineageDataset, RunEvent } from './openlineage-event.js';
import { SLUICE_PRODUCER } from './openlineage-event.js';

/**
 * The output facet under which a SQL step's event asks its emitter for column lineage. It never
 * leaves Sluice: the emitter that delivers the event replaces it with a `columnLineage` facet (or
 * with nothing). Deriving needs the SQL parser, which takes a few hundred milliseconds to load,
 * so a run hands the work to whoever delivers its events instead of waiting for the parser.
 */
export const PENDING_COLUMN_LINEAGE = 'sluice_pendingColumnLineage';

/** What a column lineage derivation needs, as carried by the pending facet. */
export interface ColumnLineageRequest {
  readonly sql: string;
  readonly inputs: readonly ColumnLineageInput[];
  readonly dialect: string;
}

/**
 * The pending facet of a SQL step's output.
 *
 * @example
 * ```ts
 * const facets = { [PENDING_COLUMN_LINEAGE]: pendingColumnLineage({ sql, inputs, dialect: 'duckdb' }) };
 * ```
 */
export function pendingColumnLineage(request: ColumnLineageRequest): Facet {
  return {
    _producer: SLUICE_PRODUCER,
    _schemaURL: 'urn:sluice:pending-column-lineage',
    sql: request.sql,
    inputs: request.inputs,
    dialect: request.dialect,
  };
}

/** Whether an event has an output still waiting for its column lineage. */
export function hasPendingColumnLineage(event: RunEvent): boolean {
  return (event.outputs ?? []).some(
    (output) => output.facets?.[PENDING_COLUMN_LINEAGE] !== undefined,
  );
}

/**
 * The event with each pending facet replaced by the `columnLineage` facet `derive` answers, or
 * removed when there is no deriver or it cannot resolve the statement (`omitted` is told why).
 *
 * @example
 * ```ts
 * const ready = resolvePendingColumnLineage(event, sqlColumnLineage, (job, why) => log(job, why));
 * ```
 */
export function resolvePendingColumnLineage(
  event: RunEvent,
  derive: ColumnLineageDeriver | undefined,
  omitted: (job: string, reason: string) => void,
): RunEvent {
  if (!hasPendingColumnLineage(event)) return event;
  const outputs = (event.outputs ?? []).map((output): LineageDataset => {
    const pending = output.facets?.[PENDING_COLUMN_LINEAGE] as
      (Facet & ColumnLineageRequest) | undefined;
    if (pending === undefined || output.facets === undefined) return output;
    const { [PENDING_COLUMN_LINEAGE]: _pending, ...facets } = output.facets;
    if (derive === undefined) return { ...output, facets };
    const derived = deriveSafely(derive, pending);
    if ('unresolved' in derived) {
      omitted(event.job.name, derived.reason);
      return { ...output, facets };
    }
    return {
      ...output,
      facets: {
        ...facets,
        columnLineage: facet('columnLineage', derived as unknown as Record<string, unknown>),
      },
    };
  });
  return { ...event, outputs };
}

function deriveSafely(
  derive: ColumnLineageDeriver,
  request: ColumnLineageRequest,
): ColumnLineageFields | ColumnLineageUnresolved {
  try {
    return derive(request.sql, request.inputs, request.dialect);
  } catch (error) {
    return { unresolved: true, reason: (error as Error).message };
  }
}
