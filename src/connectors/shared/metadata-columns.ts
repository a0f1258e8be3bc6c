import { quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext } from '../../contracts/batch-connector.js';
import type { MetadataColumn } from '../../contracts/schema-enforcement.js';

/** The metadata columns a file source can add. */
export type MetadataColumnName = '_source_file' | '_extracted_at' | '_run_id';

/**
 * SQL for the metadata columns a source asked for, given the scan's file-name expression.
 *
 * @example
 * ```ts
 * metadataColumns(['_run_id'], ctx, 'filename'); // [{ field: { name: '_run_id', ... }, expression: "'run_…'" }]
 * ```
 */
export function metadataColumns(
  names: readonly MetadataColumnName[],
  context: Pick<SourceReadContext, 'runId' | 'extractedAt'>,
  fileExpression: string,
): MetadataColumn[] {
  return names.map((name) => {
    switch (name) {
      case '_source_file':
        return {
          field: { name, type: { kind: 'string' }, nullable: false },
          expression: fileExpression,
        };
      case '_extracted_at':
        return {
          field: { name, type: { kind: 'timestamp', tz: true }, nullable: false },
          expression: `CAST(${quoteLiteral(context.extractedAt.toISOString())} AS TIMESTAMPTZ)`,
        };
      case '_run_id':
        return {
          field: { name, type: { kind: 'string' }, nullable: false },
          expression: quoteLiteral(context.runId),
        };
    }
  });
}
