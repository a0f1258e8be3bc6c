import type { Field } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import type { SuiteResult } from '../../quality/expectation.js';
import type { DatasetMetrics } from '../../quality/metric-history.js';
import type { Facet } from './openlineage-event.js';
import { SLUICE_PRODUCER } from './openlineage-event.js';

const SPEC = 'https://openlineage.io/spec/facets';

/** The `_schemaURL` of each standard facet Sluice emits, by facet name. */
export const FACET_SCHEMA_URLS = {
  sql: `${SPEC}/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet`,
  jobType: `${SPEC}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet`,
  sourceCodeLocation: `${SPEC}/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet`,
  documentation: `${SPEC}/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet`,
  ownership: `${SPEC}/1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet`,
  parent: `${SPEC}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet`,
  nominalTime: `${SPEC}/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet`,
  errorMessage: `${SPEC}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet`,
  schema: `${SPEC}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet`,
  dataSource: `${SPEC}/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet`,
  version: `${SPEC}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet`,
  columnLineage: `${SPEC}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet`,
  lifecycleStateChange: `${SPEC}/1-0-1/LifecycleStateChangeDatasetFacet.json#/$defs/LifecycleStateChangeDatasetFacet`,
  dataQualityAssertions: `${SPEC}/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet`,
  dataQualityMetrics: `${SPEC}/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet`,
  outputStatistics: `${SPEC}/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet`,
} as const;

/** A standard facet's name. */
export type FacetName = keyof typeof FACET_SCHEMA_URLS;

/**
 * A facet of the given standard name with its `_producer` and `_schemaURL`.
 *
 * @example
 * ```ts
 * facet('documentation', { description: 'Daily orders' });
 * ```
 */
export function facet(name: FacetName, body: Readonly<Record<string, unknown>>): Facet {
  return { _producer: SLUICE_PRODUCER, _schemaURL: FACET_SCHEMA_URLS[name], ...body };
}

/**
 * The `schema` facet of a dataset's columns, nested fields included.
 *
 * @example
 * ```ts
 * schemaFacet([{ name: 'id', type: { kind: 'int64' }, nullable: false }]);
 * ```
 */
export function schemaFacet(fields: readonly Field[]): Facet {
  return facet('schema', { fields: fields.map(schemaField) });
}

function schemaField(field: Field, index: number): Record<string, unknown> {
  const nested = field.type.kind === 'struct' ? field.type.fields : undefined;
  return {
    name: field.name,
    type: formatType(field.type),
    ordinal_position: index + 1,
    ...(field.description === undefined ? {} : { description: field.description }),
    ...(nested === undefined ? {} : { fields: nested.map(schemaField) }),
  };
}

/**
 * The `dataQualityAssertions` facet: one assertion per expectation a suite evaluated.
 *
 * @example
 * ```ts
 * const assertions = assertionsFacet(report.steps[1].quality!);
 * ```
 */
export function assertionsFacet(result: SuiteResult): Facet {
  return facet('dataQualityAssertions', {
    assertions: result.results.map((r) => {
      const column = r.expectation_config.kwargs['column'];
      return {
        assertion: r.expectation_config.expectation_type,
        success: r.success && !r.exception_info.raised_exception,
        name: r.expectation_config.id,
        severity: r.expectation_config.severity,
        ...(typeof column === 'string' ? { column } : {}),
      };
    }),
  });
}

/**
 * The input `dataQualityMetrics` facet: row count, bytes, file count and column metrics the
 * run measured (whichever it knows).
 *
 * @example
 * ```ts
 * qualityMetricsFacet({ rowCount: 1200, metrics });
 * ```
 */
export function qualityMetricsFacet(known: {
  readonly rowCount?: number;
  readonly bytes?: number;
  readonly fileCount?: number;
  readonly metrics?: DatasetMetrics;
}): Facet {
  const columnMetrics: Record<string, Record<string, number>> = {};
  const rowCount = known.metrics?.row_count ?? known.rowCount;
  for (const [name, column] of Object.entries(known.metrics?.columns ?? {})) {
    const values: Record<string, number> = { distinctCount: column.distinct_count };
    if (column.null_percent !== undefined && rowCount !== undefined)
      values['nullCount'] = Math.round((column.null_percent / 100) * rowCount);
    if (column.min !== undefined) values['min'] = column.min;
    if (column.max !== undefined) values['max'] = column.max;
    columnMetrics[name] = values;
  }
  return facet('dataQualityMetrics', {
    ...(rowCount === undefined ? {} : { rowCount }),
    ...(known.bytes === undefined ? {} : { bytes: known.bytes }),
    ...(known.fileCount === undefined ? {} : { fileCount: known.fileCount }),
    columnMetrics,
  });
}

/**
 * The run facet of a failure: the message only (no stack trace, which may hold paths and
 * values); the message was redacted of secrets by the run.
 *
 * @example
 * ```ts
 * errorMessageFacet('[SOURCE_FAILED] cannot read orders.csv');
 * ```
 */
export function errorMessageFacet(message: string): Facet {
  return facet('errorMessage', { message, programmingLanguage: 'TypeScript' });
}
