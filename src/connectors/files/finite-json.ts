import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { LogicalType } from '../../core/types.js';

/**
 * A SQL expression for `value` (of logical type `type`) with every NaN and infinity set to
 * null, at any depth of lists, structs and map values: JSON has no literal for them. Undefined
 * when the type holds no floating-point number, so the value needs no change.
 *
 * @example
 * ```ts
 * finiteFloatsExpression('"d"', { kind: 'float64' }); // 'CASE WHEN isfinite("d") THEN "d" END'
 * finiteFloatsExpression('"n"', { kind: 'int64' }); // undefined
 * ```
 */
export function finiteFloatsExpression(
  value: string,
  type: LogicalType,
  depth = 0,
): string | undefined {
  switch (type.kind) {
    case 'float32':
    case 'float64':
      return `CASE WHEN isfinite(${value}) THEN ${value} END`;
    case 'list': {
      const element = `__sluice_e${depth}`;
      const inner = finiteFloatsExpression(element, type.element, depth + 1);
      return inner === undefined
        ? undefined
        : `list_transform(${value}, lambda ${element}: ${inner})`;
    }
    case 'struct': {
      const fields = type.fields.map((field) => {
        const access = `struct_extract(${value}, ${quoteLiteral(field.name)})`;
        return { field, inner: finiteFloatsExpression(access, field.type, depth + 1), access };
      });
      if (fields.every((f) => f.inner === undefined)) return undefined;
      const packed = fields
        .map((f) => `${quoteIdentifier(f.field.name)} := ${f.inner ?? f.access}`)
        .join(', ');
      return `CASE WHEN ${value} IS NOT NULL THEN struct_pack(${packed}) END`;
    }
    case 'map': {
      const entry = `__sluice_e${depth}`;
      const inner = finiteFloatsExpression(`${entry}.value`, type.value, depth + 1);
      if (inner === undefined) return undefined;
      return `CASE WHEN ${value} IS NOT NULL THEN map_from_entries(list_transform(map_entries(${value}), lambda ${entry}: {'key': ${entry}.key, 'value': ${inner}})) END`;
    }
    default:
      return undefined;
  }
}

/**
 * A SQL aggregate counting the rows whose `value` holds a NaN or an infinity somewhere (the
 * values {@link finiteFloatsExpression} sets to null), or undefined when the type cannot hold one.
 *
 * @example
 * ```ts
 * nonFiniteCountExpression('"d"', { kind: 'float64' });
 * // 'count(*) FILTER (WHERE "d" IS DISTINCT FROM CASE WHEN isfinite("d") THEN "d" END)'
 * ```
 */
export function nonFiniteCountExpression(value: string, type: LogicalType): string | undefined {
  const finite = finiteFloatsExpression(value, type);
  return finite === undefined
    ? undefined
    : `count(*) FILTER (WHERE ${value} IS DISTINCT FROM ${finite})`;
}
