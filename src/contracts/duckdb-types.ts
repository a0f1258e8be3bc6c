import type { DuckDBType } from '@duckdb/node-api';
import { duckdb } from './duckdb-api.js';
import type { DuckDBTypeId } from './duckdb-api.js';
import type { Field, LogicalType } from '../core/types.js';

/**
 * DuckDB type to logical type, for schemas inferred from data. Types without a logical
 * counterpart (TIME, INTERVAL, UUID, ENUM, BIT) become `string`; unsigned and huge integers
 * become the smallest type that holds every value.
 *
 * @example
 * ```ts
 * fromDuckDBType(DECIMAL(12, 2)); // { kind: 'decimal', precision: 12, scale: 2 }
 * ```
 */
export function fromDuckDBType(type: DuckDBType): LogicalType {
  const { DuckDBTypeId } = duckdb();
  if (type.alias === 'JSON') return { kind: 'json' };
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return { kind: 'bool' };
    case DuckDBTypeId.TINYINT:
      return { kind: 'int8' };
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return { kind: 'int16' };
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return { kind: 'int32' };
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
      return { kind: 'int64' };
    case DuckDBTypeId.UBIGINT:
      return { kind: 'decimal', precision: 20, scale: 0 };
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return { kind: 'decimal', precision: 38, scale: 0 };
    case DuckDBTypeId.FLOAT:
      return { kind: 'float32' };
    case DuckDBTypeId.DOUBLE:
      return { kind: 'float64' };
    case DuckDBTypeId.DECIMAL:
      return { kind: 'decimal', precision: type.width, scale: type.scale };
    case DuckDBTypeId.BLOB:
      return { kind: 'binary' };
    case DuckDBTypeId.DATE:
      return { kind: 'date' };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return { kind: 'timestamp', tz: false };
    case DuckDBTypeId.TIMESTAMP_TZ:
      return { kind: 'timestamp', tz: true };
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return { kind: 'list', element: fromDuckDBType(type.valueType) };
    case DuckDBTypeId.STRUCT:
      return {
        kind: 'struct',
        fields: type.entryNames.map((name, i) => ({
          name,
          type: fromDuckDBType(type.entryTypes[i] as DuckDBType),
          nullable: true,
        })),
      };
    case DuckDBTypeId.MAP:
      return {
        kind: 'map',
        key: fromDuckDBType(type.keyType),
        value: fromDuckDBType(type.valueType),
      };
    case DuckDBTypeId.SQLNULL:
    case DuckDBTypeId.VARCHAR:
    default:
      return { kind: 'string' };
  }
}

/**
 * The logical fields of a query's result, read from DuckDB without producing rows.
 *
 * @example
 * ```ts
 * const fields = fieldsFromColumns(reader.columnNames(), reader.columnTypes());
 * ```
 */
export function fieldsFromColumns(names: readonly string[], types: readonly DuckDBType[]): Field[] {
  return names.map((name, i) => ({
    name,
    type: fromDuckDBType(types[i] as DuckDBType),
    nullable: true,
  }));
}

let exactTypeIds: ReadonlySet<DuckDBTypeId> | undefined;

function exactTypeIDs(): ReadonlySet<DuckDBTypeId> {
  const { DuckDBTypeId } = duckdb();
  exactTypeIds ??= new Set([
    DuckDBTypeId.BOOLEAN,
    DuckDBTypeId.TINYINT,
    DuckDBTypeId.SMALLINT,
    DuckDBTypeId.INTEGER,
    DuckDBTypeId.BIGINT,
    DuckDBTypeId.FLOAT,
    DuckDBTypeId.DOUBLE,
    DuckDBTypeId.DECIMAL,
    DuckDBTypeId.VARCHAR,
    DuckDBTypeId.BLOB,
    DuckDBTypeId.DATE,
    DuckDBTypeId.TIMESTAMP,
    DuckDBTypeId.TIMESTAMP_TZ,
  ]);
  return exactTypeIds;
}

/**
 * Whether a DuckDB type is exactly the physical form of its logical type. Columns of other
 * types (TIME, UUID, unsigned integers, ...) are cast to their logical type's DuckDB form, so
 * values look the same whichever step produced them.
 *
 * @example
 * ```ts
 * isExactLogicalType(TIME); // false: it is read as string, so it is cast to VARCHAR
 * ```
 */
export function isExactLogicalType(type: DuckDBType): boolean {
  const { DuckDBTypeId } = duckdb();
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      return isExactLogicalType(type.valueType);
    case DuckDBTypeId.STRUCT:
      return type.entryTypes.every(isExactLogicalType);
    case DuckDBTypeId.MAP:
      return isExactLogicalType(type.keyType) && isExactLogicalType(type.valueType);
    default:
      return exactTypeIDs().has(type.typeId);
  }
}
