import type { DerivedColumnLineage, InputFieldLineage } from './column-lineage-types.js';

/**
 * Where the facet's JSON Schema lives (OpenLineage facets 1-2-0).
 *
 * @example
 * ```ts
 * facet._schemaURL === COLUMN_LINEAGE_FACET_SCHEMA_URL; // true
 * ```
 */
export const COLUMN_LINEAGE_FACET_SCHEMA_URL =
  'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet';

/**
 * An OpenLineage dataset identity.
 *
 * @example
 * ```ts
 * const id: OpenLineageDatasetId = { namespace: 'postgres://db:5432', name: 'shop.public.orders' };
 * ```
 */
export interface OpenLineageDatasetId {
  readonly namespace: string;
  readonly name: string;
}

/**
 * An OpenLineage `InputField`.
 *
 * @example
 * ```ts
 * const input: OpenLineageInputField = {
 *   namespace: 'postgres://db:5432',
 *   name: 'shop.public.orders',
 *   field: 'amount',
 *   transformations: [{ type: 'DIRECT', subtype: 'IDENTITY', masking: false }],
 * };
 * ```
 */
export interface OpenLineageInputField extends OpenLineageDatasetId {
  readonly field: string;
  readonly transformations: ReadonlyArray<{
    readonly type: 'DIRECT' | 'INDIRECT';
    readonly subtype: string;
    readonly masking: boolean;
  }>;
}

/**
 * OpenLineage's ColumnLineageDatasetFacet, ready to put under an output's `facets.columnLineage`.
 *
 * @example
 * ```ts
 * outputDataset.facets = { columnLineage: buildColumnLineageFacet(lineage, options) };
 * ```
 */
export interface ColumnLineageDatasetFacet {
  readonly _producer: string;
  readonly _schemaURL: string;
  readonly fields: Readonly<
    Record<string, { readonly inputFields: readonly OpenLineageInputField[] }>
  >;
  readonly dataset: readonly OpenLineageInputField[];
}

/**
 * What the facet needs beyond the derived lineage.
 *
 * @example
 * ```ts
 * const options: ColumnLineageFacetOptions = {
 *   producer: 'https://github.com/sluice-data/sluice/tree/v0.1.0',
 *   datasetOf: (relation) => ({ namespace: 'duckdb:///warehouse.duckdb', name: relation }),
 * };
 * ```
 */
export interface ColumnLineageFacetOptions {
  /** The `_producer` URI of the emitting Sluice (its repository URL at the release tag). */
  readonly producer: string;
  /** Maps an input relation, as keyed in the derivation's `inputs`, to its dataset identity. */
  readonly datasetOf: (relation: string) => OpenLineageDatasetId;
}

/**
 * Builds the OpenLineage ColumnLineageDatasetFacet of a derived lineage. Only call it for a
 * `derived` result: for an `unresolved` one the facet is omitted (and counted), never partial.
 *
 * @example
 * ```ts
 * const lineage = await deriveColumnLineage(sql, inputs, { dialect: 'duckdb' });
 * if (lineage.status === 'derived') {
 *   output.facets.columnLineage = buildColumnLineageFacet(lineage, {
 *     producer: 'https://github.com/sluice-data/sluice/tree/v0.1.0',
 *     datasetOf: (relation) => ({ namespace: 'duckdb://warehouse', name: `main.${relation}` }),
 *   });
 * }
 * ```
 */
export function buildColumnLineageFacet(
  lineage: DerivedColumnLineage,
  options: ColumnLineageFacetOptions,
): ColumnLineageDatasetFacet {
  const datasets = new Map<string, OpenLineageDatasetId>();
  const toInputField = (input: InputFieldLineage): OpenLineageInputField => {
    let id = datasets.get(input.dataset);
    if (id === undefined) {
      id = options.datasetOf(input.dataset);
      datasets.set(input.dataset, id);
    }
    return {
      namespace: id.namespace,
      name: id.name,
      field: input.field,
      transformations: input.transformations.map((transformation) => ({ ...transformation })),
    };
  };
  const fields: Record<string, { inputFields: OpenLineageInputField[] }> = {};
  for (const field of lineage.fields) {
    fields[field.name] = { inputFields: field.inputFields.map(toInputField) };
  }
  return {
    _producer: options.producer,
    _schemaURL: COLUMN_LINEAGE_FACET_SCHEMA_URL,
    fields,
    dataset: lineage.dataset.map(toInputField),
  };
}
