import { quoteIdentifier } from '../../core/type-mappings.js';

/**
 * Splits `schema.table` into its schema (undefined when not given) and table name.
 *
 * @example
 * ```ts
 * splitTableName('sales.orders'); // ['sales', 'orders']
 * splitTableName('orders'); // [undefined, 'orders']
 * ```
 */
export function splitTableName(name: string): [string | undefined, string] {
  const dot = name.indexOf('.');
  return dot < 0 ? [undefined, name] : [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * The quoted, optionally schema-qualified name of a table.
 *
 * @example
 * ```ts
 * quoteTableName('sales.orders'); // '"sales"."orders"'
 * ```
 */
export function quoteTableName(name: string): string {
  const [schema, table] = splitTableName(name);
  return schema === undefined
    ? quoteIdentifier(table)
    : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}
