import type {
  DerivedColumnLineage,
  InputSchemas,
  OutputFieldLineage,
} from './column-lineage-types.js';

/**
 * Lineage of a TypeScript transform: pass-through columns only, and what had to be omitted.
 *
 * @example
 * ```ts
 * const lineage: DeclaredSchemaLineage = deriveDeclaredSchemaLineage(inputs, ['id', 'score']);
 * ```
 */
export interface DeclaredSchemaLineage extends DerivedColumnLineage {
  /**
   * Output columns with no input column of the same name (or with one in several inputs): the
   * code computes them in ways that cannot be read, so they are left out of `fields`.
   */
  readonly omittedColumns: readonly string[];
}

/**
 * Column lineage of a TypeScript transform from its declared schemas: an output column with the
 * same name (exactly) as a column of one input is that column, DIRECT IDENTITY; every other
 * output column is unknown and omitted (listed in `omittedColumns`), never guessed.
 *
 * @example
 * ```ts
 * const lineage = deriveDeclaredSchemaLineage(
 *   { orders: ['order_id', 'amount', 'status'] },
 *   ['order_id', 'amount', 'amount_eur'],
 * );
 * lineage.fields.map((field) => field.name); // ['order_id', 'amount']
 * lineage.omittedColumns;                    // ['amount_eur']
 * ```
 */
export function deriveDeclaredSchemaLineage(
  inputs: InputSchemas,
  outputColumns: readonly string[],
): DeclaredSchemaLineage {
  const fields: OutputFieldLineage[] = [];
  const omittedColumns: string[] = [];
  for (const name of outputColumns) {
    const datasets = Object.keys(inputs).filter((dataset) => inputs[dataset]?.includes(name));
    const dataset = datasets[0];
    if (datasets.length !== 1 || dataset === undefined) {
      omittedColumns.push(name);
      continue;
    }
    fields.push({
      name,
      inputFields: [
        {
          dataset,
          field: name,
          transformations: [{ type: 'DIRECT', subtype: 'IDENTITY', masking: false }],
        },
      ],
    });
  }
  return { status: 'derived', fields, dataset: [], omittedColumns };
}
