import { SluiceError } from '../core/errors.js';
import type { LogicalType } from '../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../core/type-mappings.js';

/**
 * A problem with one expectation's arguments or with the data it names (a missing column). The
 * expectation's result reports it as an exception; other expectations still run.
 *
 * @example
 * ```ts
 * throw new ExpectationArgumentError('column "amount" does not exist');
 * ```
 */
export class ExpectationArgumentError extends SluiceError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** What an expectation's compiler may ask about the data it checks. */
export interface CompileContext {
  /** The quoted identifier of a column, after checking it exists. */
  column(name: unknown): string;
  /** The logical type of a column. */
  typeOf(name: string): LogicalType;
  /** Names of every column, in order. */
  readonly columnNames: readonly string[];
  /** A SQL literal for a JS value from the kwargs. */
  literal(value: unknown): string;
  /** The relation holding another dataset (for relationships and cross-table counts). */
  dataset(name: unknown): string;
  /** Values of a metric in earlier runs, oldest first (prefetched for anomaly expectations). */
  history(metricPath: string): readonly number[];
  /** The relation being validated, for expectations written as SQL over it. */
  readonly relation: string;
}

/**
 * Builds the compile context for a relation with the given columns.
 *
 * @example
 * ```ts
 * const ctx = createCompileContext([{ name: 'id', type: { kind: 'int64' } }], (name) => `"${name}"`);
 * ctx.column('id'); // '"id"'
 * ```
 */
export function createCompileContext(
  columns: readonly { readonly name: string; readonly type: LogicalType }[],
  datasetRelation: (name: string) => string | undefined,
  history: ReadonlyMap<string, readonly number[]> = new Map(),
  relation = '',
): CompileContext {
  const byName = new Map(columns.map((c) => [c.name, c]));
  return {
    relation,
    columnNames: columns.map((c) => c.name),
    column(name) {
      if (typeof name !== 'string')
        throw new ExpectationArgumentError(
          `a column name must be a string, got ${JSON.stringify(name)}`,
        );
      if (!byName.has(name)) {
        throw new ExpectationArgumentError(
          `column "${name}" does not exist; columns are ${columns.map((c) => `"${c.name}"`).join(', ')}`,
        );
      }
      return quoteIdentifier(name);
    },
    typeOf(name) {
      const column = byName.get(name);
      if (column === undefined)
        throw new ExpectationArgumentError(`column "${name}" does not exist`);
      return column.type;
    },
    literal: sqlLiteral,
    history: (metricPath) => history.get(metricPath) ?? [],
    dataset(name) {
      if (typeof name !== 'string')
        throw new ExpectationArgumentError('a dataset name must be a string');
      const relation = datasetRelation(name);
      if (relation === undefined)
        throw new ExpectationArgumentError(`dataset "${name}" is not known here`);
      return relation;
    },
  };
}

/**
 * A SQL literal for a JSON-like value: numbers, strings, booleans and null; arrays become lists;
 * a `Date` (a resolved suite parameter) becomes a UTC `TIMESTAMP`.
 *
 * @example
 * ```ts
 * sqlLiteral("it's"); // "'it''s'"
 * sqlLiteral([1, 2]); // "[1, 2]"
 * ```
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return "'NaN'::DOUBLE";
    if (!Number.isFinite(value)) return value > 0 ? "'Infinity'::DOUBLE" : "'-Infinity'::DOUBLE";
    return Number.isInteger(value) ? String(value) : `${value}::DOUBLE`;
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'string') return quoteLiteral(value);
  if (value instanceof Date && !Number.isNaN(value.getTime()))
    return `TIMESTAMP '${value.toISOString().replace('T', ' ').replace('Z', '')}'`;
  if (Array.isArray(value)) return `[${value.map(sqlLiteral).join(', ')}]`;
  throw new ExpectationArgumentError(`cannot use ${JSON.stringify(value)} as a value`);
}
