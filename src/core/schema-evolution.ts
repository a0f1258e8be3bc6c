import type { Field, LogicalType } from './types.js';
import { formatType } from './types.js';

/**
 * How a source treats data whose shape differs from its declared schema.
 *
 * - `strict`: any added or missing column fails the step.
 * - `additive`: new columns are added to the dataset (nullable); missing nullable columns are
 *   filled with nulls; values that do not fit are quarantined with their row.
 * - `widen`: like `additive`, and a column whose data needs a wider type of the same family
 *   (int32 → int64, float32 → float64, a larger decimal, date → timestamp) is widened.
 * - `discard_row` (default): undeclared columns are left out, values that do not fit send the
 *   row to the quarantine.
 * - `discard_column`: undeclared columns are left out, a value that does not fit becomes null
 *   and the row goes on; discarded values are counted in the report.
 */
export type SchemaPolicy = 'strict' | 'additive' | 'widen' | 'discard_row' | 'discard_column';

/** A column as the data has it: its name and (inferred or stored) type. */
export interface DiscoveredColumn {
  readonly name: string;
  readonly type: LogicalType;
}

/** The schema a source reads with under a policy, and what changed. */
export interface SchemaResolution {
  /** Columns of the dataset, each read from `sourceName`, or null-filled when it is undefined. */
  readonly columns: readonly { readonly field: Field; readonly sourceName: string | undefined }[];
  /** Differences the policy accepted, for the run report. */
  readonly changes: readonly string[];
  /** Differences the policy refuses; the step fails with them. */
  readonly problems: readonly string[];
  /** What happens to a value that does not convert to its column's type. */
  readonly badValues: 'quarantine' | 'null';
}

const INTEGER_RANK: Readonly<Record<string, number>> = { int8: 1, int16: 2, int32: 3, int64: 4 };

/**
 * Whether data of type `to` can be held by widening a column declared `from` (same family,
 * nothing lost).
 *
 * @example
 * ```ts
 * isWidening({ kind: 'int32' }, { kind: 'int64' }); // true
 * ```
 */
export function isWidening(from: LogicalType, to: LogicalType): boolean {
  const a = INTEGER_RANK[from.kind];
  const b = INTEGER_RANK[to.kind];
  if (a !== undefined && b !== undefined) return b > a;
  if (a !== undefined && to.kind === 'float64') return true;
  if (from.kind === 'float32' && to.kind === 'float64') return true;
  if (from.kind === 'decimal' && to.kind === 'decimal') {
    return (
      to.precision - to.scale >= from.precision - from.scale &&
      to.scale >= from.scale &&
      formatType(from) !== formatType(to)
    );
  }
  if (a !== undefined && to.kind === 'decimal') return to.precision - to.scale >= 19;
  return from.kind === 'date' && to.kind === 'timestamp';
}

/**
 * Reconciles a declared schema with the columns the data has, under a policy. Names match
 * case-insensitively.
 *
 * @example
 * ```ts
 * resolveSchema(orders.fields, [{ name: 'order_id', type: { kind: 'int64' } }, { name: 'coupon', type: { kind: 'string' } }], 'additive');
 * // columns: order_id, coupon; changes: ['new column "coupon" (string) added']
 * ```
 */
export function resolveSchema(
  declared: readonly Field[],
  discovered: readonly DiscoveredColumn[],
  policy: SchemaPolicy,
): SchemaResolution {
  const byLowerName = new Map(discovered.map((c) => [c.name.toLowerCase(), c]));
  const declaredNames = new Set(declared.map((f) => f.name.toLowerCase()));
  const evolving = policy === 'additive' || policy === 'widen';
  const changes: string[] = [];
  const problems: string[] = [];
  const columns: { field: Field; sourceName: string | undefined }[] = [];

  for (const field of declared) {
    const found = byLowerName.get(field.name.toLowerCase());
    if (found === undefined) {
      if (evolving && field.nullable) {
        changes.push(
          `declared column "${field.name}" is missing from the input; filled with nulls`,
        );
        columns.push({ field, sourceName: undefined });
      } else {
        problems.push(`declared column "${field.name}" is missing from the input`);
      }
      continue;
    }
    if (policy === 'widen' && isWidening(field.type, found.type)) {
      changes.push(
        `column "${field.name}" widened from ${formatType(field.type)} to ${formatType(found.type)}`,
      );
      columns.push({ field: { ...field, type: found.type }, sourceName: found.name });
    } else {
      columns.push({ field, sourceName: found.name });
    }
  }
  for (const column of discovered) {
    if (declaredNames.has(column.name.toLowerCase())) continue;
    if (policy === 'strict') problems.push(`column "${column.name}" is not declared`);
    else if (evolving) {
      changes.push(`new column "${column.name}" (${formatType(column.type)}) added`);
      columns.push({
        field: { name: column.name, type: column.type, nullable: true },
        sourceName: column.name,
      });
    } else {
      changes.push(`column "${column.name}" is not declared; left out`);
    }
  }
  return {
    columns,
    changes,
    problems,
    badValues: policy === 'discard_column' ? 'null' : 'quarantine',
  };
}
