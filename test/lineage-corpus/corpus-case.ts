import type {
  InputSchemas,
  SQLLineageDialect,
  UnresolvedReason,
} from '../../src/observe/lineage/index.js';

/**
 * One labelled statement of the column lineage corpus. Expected edges are written by hand from
 * the SQL, as `"<relation> <field> <SUBTYPE>"` (relation as keyed in `inputs`).
 */
export interface CorpusCase {
  readonly name: string;
  readonly dialect: SQLLineageDialect;
  readonly inputs: InputSchemas;
  readonly sql: string;
  /** Output columns in order, each with its expected input edges. */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
  /** Expected edges that shape the whole output (JOIN, FILTER, GROUP_BY, SORT). */
  readonly dataset?: readonly string[];
  /** The statement must be refused (no lineage at all), for this reason. */
  readonly unresolved?: UnresolvedReason;
}
