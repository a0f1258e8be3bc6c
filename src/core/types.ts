/**
 * The logical type system every dataset, connector and table format maps to and from.
 * Mappings to engines and formats are maps keyed by {@link TypeKind}, so adding a kind does not
 * compile until every mapping handles it.
 */

/** Every kind of logical type. */
export type TypeKind =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'decimal'
  | 'string'
  | 'binary'
  | 'date'
  | 'timestamp'
  | 'list'
  | 'struct'
  | 'map'
  | 'json';

/** A logical type. Compound kinds carry their parameters. */
export type LogicalType =
  | { readonly kind: 'bool' }
  | { readonly kind: 'int8' }
  | { readonly kind: 'int16' }
  | { readonly kind: 'int32' }
  | { readonly kind: 'int64' }
  | { readonly kind: 'float32' }
  | { readonly kind: 'float64' }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'string' }
  | { readonly kind: 'binary' }
  | { readonly kind: 'date' }
  /** `tz: true` is an instant (stored in UTC); `tz: false` a wall-clock time without zone. */
  | { readonly kind: 'timestamp'; readonly tz: boolean }
  | { readonly kind: 'list'; readonly element: LogicalType }
  | { readonly kind: 'struct'; readonly fields: readonly Field[] }
  | { readonly kind: 'map'; readonly key: LogicalType; readonly value: LogicalType }
  | { readonly kind: 'json' };

/** The type with the given kind. */
export type TypeOfKind<K extends TypeKind> = Extract<LogicalType, { kind: K }>;

/** A mapping from every logical type kind to something, checked for exhaustiveness. */
export type TypeMapping<R> = { readonly [K in TypeKind]: (type: TypeOfKind<K>) => R };

/**
 * Applies an exhaustive {@link TypeMapping} to a type.
 *
 * @example
 * ```ts
 * mapType(duckDBTypeMapping, { kind: 'int64' }); // "BIGINT"
 * ```
 */
export function mapType<R>(mapping: TypeMapping<R>, type: LogicalType): R {
  const convert = mapping[type.kind] as (t: LogicalType) => R;
  return convert(type);
}

/** A named, typed column. */
export interface Field {
  readonly name: string;
  readonly type: LogicalType;
  /** Whether the column may hold nulls. Defaults to true. */
  readonly nullable: boolean;
  readonly description?: string;
}

/**
 * Renders a type the way users write it in docs and messages, e.g. `decimal(12,2)`,
 * `list<string>`, `timestamp(tz)`.
 *
 * @example
 * ```ts
 * formatType({ kind: 'list', element: { kind: 'int32' } }); // "list<int32>"
 * ```
 */
export function formatType(type: LogicalType): string {
  return mapType(typeFormatter, type);
}

const typeFormatter: TypeMapping<string> = {
  bool: () => 'bool',
  int8: () => 'int8',
  int16: () => 'int16',
  int32: () => 'int32',
  int64: () => 'int64',
  float32: () => 'float32',
  float64: () => 'float64',
  decimal: (t) => `decimal(${t.precision},${t.scale})`,
  string: () => 'string',
  binary: () => 'binary',
  date: () => 'date',
  timestamp: (t) => (t.tz ? 'timestamp(tz)' : 'timestamp'),
  list: (t) => `list<${formatType(t.element)}>`,
  struct: (t) => `struct<${t.fields.map((f) => `${f.name}: ${formatType(f.type)}`).join(', ')}>`,
  map: (t) => `map<${formatType(t.key)}, ${formatType(t.value)}>`,
  json: () => 'json',
};
