import type { Field } from '../../core/types.js';

/** The `fields` of a `columnLineage` facet, as a derivation returns it. */
export interface ColumnLineageFields {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly dataset?: readonly unknown[];
}

/** A derivation's answer when some part of the statement could not be resolved. */
export interface ColumnLineageUnresolved {
  readonly unresolved: true;
  readonly reason: string;
}

/** An input of a SQL step: its OpenLineage identity, the name the SQL uses, and its columns. */
export interface ColumnLineageInput {
  readonly namespace: string;
  readonly name: string;
  /** The relation name the step's SQL reads it by (the step id). */
  readonly relation: string;
  readonly fields: readonly Field[];
}

/**
 * Derives a SQL step's column lineage: given the compiled SQL, its inputs' schemas and the SQL
 * dialect, the `columnLineage` facet body, or `unresolved` (then no facet is emitted: a partial
 * facet would look complete).
 *
 * @example
 * ```ts
 * const none: ColumnLineageDeriver = () => ({ unresolved: true, reason: 'not derived' });
 * ```
 */
export type ColumnLineageDeriver = (
  sql: string,
  inputs: readonly ColumnLineageInput[],
  dialect: string,
) => ColumnLineageFields | ColumnLineageUnresolved;
