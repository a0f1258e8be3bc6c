import type {
  ColumnLineageDeriver,
  ColumnLineageFields,
  ColumnLineageUnresolved,
} from './column-lineage-hook.js';
import { buildColumnLineageFacet } from './column-lineage-facet.js';
import type { SQLLineageDialect } from './column-lineage-types.js';
import { SQL_LINEAGE_DIALECTS } from './column-lineage-types.js';
import { deriveLoadedColumnLineage } from './derive-column-lineage.js';
import { SLUICE_PRODUCER } from './openlineage-event.js';

/**
 * The column lineage deriver runs use by default: parses the step's compiled SQL (the parser must
 * be loaded, see `loadSQLParser`), resolves it against its inputs' actual columns, and answers
 * the `columnLineage` facet's body, or `unresolved` for the whole statement.
 *
 * @example
 * ```ts
 * const emitter = createLineageEmitter(config, { columnLineage: sqlColumnLineage });
 * ```
 */
export const sqlColumnLineage: ColumnLineageDeriver = (
  sql,
  inputs,
  dialect,
): ColumnLineageFields | ColumnLineageUnresolved => {
  if (!SQL_LINEAGE_DIALECTS.includes(dialect as SQLLineageDialect))
    return { unresolved: true, reason: `no column lineage for the ${dialect} dialect` };
  const byRelation = new Map(inputs.map((input) => [input.relation, input]));
  const derived = deriveLoadedColumnLineage(
    sql,
    Object.fromEntries(inputs.map((input) => [input.relation, input.fields.map((f) => f.name)])),
    { dialect: dialect as SQLLineageDialect },
  );
  if (derived.status === 'unresolved')
    return { unresolved: true, reason: `${derived.reason}: ${derived.message}` };
  const facet = buildColumnLineageFacet(derived, {
    producer: SLUICE_PRODUCER,
    datasetOf: (relation) => {
      const input = byRelation.get(relation);
      return input === undefined
        ? { namespace: '', name: relation }
        : { namespace: input.namespace, name: input.name };
    },
  });
  const { _producer: _p, _schemaURL: _s, ...body } = facet;
  return body as ColumnLineageFields;
};
