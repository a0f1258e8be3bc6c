/**
 * The shapes of derived column lineage. They follow OpenLineage's ColumnLineageDatasetFacet
 * (facets/1-2-0): each output field lists the input fields it is evaluated from, and `dataset`
 * lists the input fields that shape the whole output (joins, filters, grouping, sorting).
 */

/**
 * The SQL dialects whose compiled statements can be derived.
 *
 * @example
 * ```ts
 * const dialect: SQLLineageDialect = 'postgresql';
 * ```
 */
export type SQLLineageDialect = 'duckdb' | 'postgresql' | 'clickhouse';

/**
 * The dialects, in a stable order (for loops in tests and validation messages).
 *
 * @example
 * ```ts
 * for (const dialect of SQL_LINEAGE_DIALECTS) await deriveColumnLineage(sql, inputs, { dialect });
 * ```
 */
export const SQL_LINEAGE_DIALECTS: readonly SQLLineageDialect[] = [
  'duckdb',
  'postgresql',
  'clickhouse',
];

/**
 * OpenLineage's DIRECT subtypes: the input's value flows into the output's value.
 *
 * @example
 * ```ts
 * const subtype: DirectSubtype = 'AGGREGATION'; // sum(amount)
 * ```
 */
export type DirectSubtype = 'IDENTITY' | 'TRANSFORMATION' | 'AGGREGATION';

/**
 * OpenLineage's INDIRECT subtypes: the input decides which rows or how values are placed.
 *
 * @example
 * ```ts
 * const subtype: IndirectSubtype = 'FILTER'; // WHERE status = 'paid'
 * ```
 */
export type IndirectSubtype = 'JOIN' | 'FILTER' | 'GROUP_BY' | 'SORT' | 'WINDOW' | 'CONDITIONAL';

/**
 * Every transformation subtype.
 *
 * @example
 * ```ts
 * const subtypes: TransformationSubtype[] = ['IDENTITY', 'JOIN'];
 * ```
 */
export type TransformationSubtype = DirectSubtype | IndirectSubtype;

/**
 * One transformation of an input field, as in OpenLineage's `InputField.transformations`.
 *
 * @example
 * ```ts
 * const t: FieldTransformation = { type: 'DIRECT', subtype: 'IDENTITY', masking: false };
 * ```
 */
export interface FieldTransformation {
  readonly type: 'DIRECT' | 'INDIRECT';
  readonly subtype: TransformationSubtype;
  /** Always false: no derivation here can prove that an expression masks its input. */
  readonly masking: boolean;
}

/**
 * An input field with what happens to it on the way to the output.
 *
 * @example
 * ```ts
 * const input: InputFieldLineage = {
 *   dataset: 'orders',
 *   field: 'amount',
 *   transformations: [{ type: 'DIRECT', subtype: 'AGGREGATION', masking: false }],
 * };
 * ```
 */
export interface InputFieldLineage {
  /** The input relation, spelled as the key of the `inputs` it was matched against. */
  readonly dataset: string;
  /** The input column, spelled as in the input schema. */
  readonly field: string;
  /** One entry per subtype, in a stable order (DIRECT first). */
  readonly transformations: readonly FieldTransformation[];
}

/**
 * The lineage of one output column.
 *
 * @example
 * ```ts
 * const field: OutputFieldLineage = { name: 'one', inputFields: [] }; // SELECT 1 AS one
 * ```
 */
export interface OutputFieldLineage {
  /** The output column's name. */
  readonly name: string;
  /** Its input fields; empty for a column computed from constants alone. */
  readonly inputFields: readonly InputFieldLineage[];
}

/**
 * Lineage derived for every output column of a statement.
 *
 * @example
 * ```ts
 * if (result.status === 'derived') for (const field of result.fields) console.log(field.name);
 * ```
 */
export interface DerivedColumnLineage {
  readonly status: 'derived';
  /** Output columns in statement order. */
  readonly fields: readonly OutputFieldLineage[];
  /** Input fields that shape the whole output (JOIN, FILTER, GROUP_BY, SORT). */
  readonly dataset: readonly InputFieldLineage[];
}

/**
 * Why no lineage is given for a statement: a partial answer would look complete.
 *
 * @example
 * ```ts
 * if (result.status === 'unresolved') refusals[result.reason] = (refusals[result.reason] ?? 0) + 1;
 * ```
 */
export type UnresolvedReason =
  | 'parse-failed'
  | 'not-a-query'
  | 'unknown-relation'
  | 'unknown-column'
  | 'ambiguous-column'
  | 'unsupported-construct'
  | 'unnamed-column'
  | 'output-mismatch'
  | 'too-complex';

/**
 * A statement whose lineage could not be derived in full.
 *
 * @example
 * ```ts
 * // { status: 'unresolved', reason: 'unknown-column', message: 'column "nope" is in none ...' }
 * if (result.status === 'unresolved') log.warn({ reason: result.reason }, result.message);
 * ```
 */
export interface UnresolvedColumnLineage {
  readonly status: 'unresolved';
  /** A stable reason to count refusals by. */
  readonly reason: UnresolvedReason;
  /** What was not understood, and where. */
  readonly message: string;
}

/**
 * The answer of a derivation: every column, or none.
 *
 * @example
 * ```ts
 * const result: ColumnLineageResult = await deriveColumnLineage(sql, inputs, { dialect: 'duckdb' });
 * ```
 */
export type ColumnLineageResult = DerivedColumnLineage | UnresolvedColumnLineage;

/**
 * Input relations by the name the SQL uses for them, each with its ordered column names.
 *
 * @example
 * ```ts
 * const inputs: InputSchemas = { 'raw.orders': ['id', 'amount'], customers: ['id', 'name'] };
 * ```
 */
export type InputSchemas = Readonly<Record<string, readonly string[]>>;
