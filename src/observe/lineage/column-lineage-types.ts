/**
 * The shapes of derived column lineage. They follow OpenLineage's ColumnLineageDatasetFacet
 * (facets/1-2-0): each output field lists the input fields it is evaluated from, and `dataset`
 * lists the input fields that shape the whole output (joins, filters, grouping, sorting).
 */

/** The SQL dialects whose compiled statements can be derived. */
export type SQLLineageDialect = 'duckdb' | 'postgresql' | 'clickhouse';

/** The dialects, in a stable order (for loops in tests and validation messages). */
export const SQL_LINEAGE_DIALECTS: readonly SQLLineageDialect[] = [
  'duckdb',
  'postgresql',
  'clickhouse',
];

/** OpenLineage's DIRECT subtypes: the input's value flows into the output's value. */
export type DirectSubtype = 'IDENTITY' | 'TRANSFORMATION' | 'AGGREGATION';

/** OpenLineage's INDIRECT subtypes: the input decides which rows or how values are placed. */
export type IndirectSubtype = 'JOIN' | 'FILTER' | 'GROUP_BY' | 'SORT' | 'WINDOW' | 'CONDITIONAL';

/** Every transformation subtype. */
export type TransformationSubtype = DirectSubtype | IndirectSubtype;

/** One transformation of an input field, as in OpenLineage's `InputField.transformations`. */
export interface FieldTransformation {
  readonly type: 'DIRECT' | 'INDIRECT';
  readonly subtype: TransformationSubtype;
  /** Always false: no derivation here can prove that an expression masks its input. */
  readonly masking: boolean;
}

/** An input field with what happens to it on the way to the output. */
export interface InputFieldLineage {
  /** The input relation, spelled as the key of the `inputs` it was matched against. */
  readonly dataset: string;
  /** The input column, spelled as in the input schema. */
  readonly field: string;
  /** One entry per subtype, in a stable order (DIRECT first). */
  readonly transformations: readonly FieldTransformation[];
}

/** The lineage of one output column. */
export interface OutputFieldLineage {
  /** The output column's name. */
  readonly name: string;
  /** Its input fields; empty for a column computed from constants alone. */
  readonly inputFields: readonly InputFieldLineage[];
}

/** Lineage derived for every output column of a statement. */
export interface DerivedColumnLineage {
  readonly status: 'derived';
  /** Output columns in statement order. */
  readonly fields: readonly OutputFieldLineage[];
  /** Input fields that shape the whole output (JOIN, FILTER, GROUP_BY, SORT). */
  readonly dataset: readonly InputFieldLineage[];
}

/** Why no lineage is given for a statement: a partial answer would look complete. */
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

/** A statement whose lineage could not be derived in full. */
export interface UnresolvedColumnLineage {
  readonly status: 'unresolved';
  /** A stable reason to count refusals by. */
  readonly reason: UnresolvedReason;
  /** What was not understood, and where. */
  readonly message: string;
}

/** The answer of a derivation: every column, or none. */
export type ColumnLineageResult = DerivedColumnLineage | UnresolvedColumnLineage;

/** Input relations by the name the SQL uses for them, each with its ordered column names. */
export type InputSchemas = Readonly<Record<string, readonly string[]>>;
