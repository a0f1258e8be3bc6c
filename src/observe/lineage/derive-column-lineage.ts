import { SluiceError } from '../../core/errors.js';
import type {
  ColumnLineageResult,
  InputSchemas,
  OutputFieldLineage,
  SQLLineageDialect,
  UnresolvedColumnLineage,
} from './column-lineage-types.js';
import { SQL_LINEAGE_DIALECTS } from './column-lineage-types.js';
import { toInputFields } from './lineage-edges.js';
import { identifierMatches } from './sql-identifiers.js';
import { loadSQLParser, parseLoadedSQL } from './sql-parser.js';
import type { Relation } from './sql-statement-resolver.js';
import { StatementResolver, Unresolvable } from './sql-statement-resolver.js';

/**
 * How to read a statement.
 *
 * @example
 * ```ts
 * const options: DeriveColumnLineageOptions = { dialect: 'duckdb', outputColumns: ['id', 'total'] };
 * ```
 */
export interface DeriveColumnLineageOptions {
  /** The dialect the statement is written in; it decides parsing and how names match. */
  readonly dialect: SQLLineageDialect;
  /**
   * The output's column names in order, as the database reports them. Needed when a select item
   * is an unaliased expression (whose name each database makes up differently); when given, every
   * name the SQL does give must agree with it, or the statement is unresolved.
   */
  readonly outputColumns?: readonly string[];
}

function unresolved(
  reason: UnresolvedColumnLineage['reason'],
  message: string,
): UnresolvedColumnLineage {
  return { status: 'unresolved', reason, message };
}

/**
 * Derives the column lineage of one SQL query (a step's compiled SELECT) from the actual input
 * schemas: for each output column, the input fields it reads with OpenLineage transformation
 * types, and the input fields that decide the output's rows. Resolves CTEs, subqueries, joins
 * (USING, NATURAL, LATERAL, self joins), set operations, `*` with EXCLUDE/REPLACE, window
 * functions, QUALIFY, CASE, GROUP BY/HAVING and ORDER BY.
 *
 * It never guesses: an unknown relation or column, an ambiguous name, a table function, a
 * construct it does not understand or a parse failure make the whole statement `unresolved`,
 * with a reason, and the caller omits the column lineage facet. It never throws for bad SQL.
 *
 * @param sql - One statement; a trailing semicolon is allowed.
 * @param inputs - Relation name (as the SQL spells it, `schema.table` when qualified) to ordered
 *   column names (as the catalog spells them).
 * @throws SluiceError `CONFIG_INVALID` when `options.dialect` is not a supported dialect.
 *
 * @example
 * ```ts
 * const lineage = await deriveColumnLineage(
 *   'SELECT customer_id, sum(amount) AS total FROM orders WHERE status = \'paid\' GROUP BY 1',
 *   { orders: ['order_id', 'customer_id', 'amount', 'status'] },
 *   { dialect: 'duckdb' },
 * );
 * if (lineage.status === 'derived') {
 *   lineage.fields[1]; // { name: 'total', inputFields: [{ dataset: 'orders', field: 'amount',
 *                      //   transformations: [{ type: 'DIRECT', subtype: 'AGGREGATION', ... }] }] }
 *   lineage.dataset;   // orders.status FILTER, orders.customer_id GROUP_BY
 * }
 * ```
 */
export async function deriveColumnLineage(
  sql: string,
  inputs: InputSchemas,
  options: DeriveColumnLineageOptions,
): Promise<ColumnLineageResult> {
  if (!SQL_LINEAGE_DIALECTS.includes(options.dialect)) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `column lineage: dialect ${JSON.stringify(options.dialect)} is not supported`,
      { hint: `use one of ${SQL_LINEAGE_DIALECTS.join(', ')}` },
    );
  }
  await loadSQLParser();
  return deriveLoadedColumnLineage(sql, inputs, options);
}

/**
 * {@link deriveColumnLineage} without waiting: for callers that cannot await (a run's lineage
 * events), once {@link loadSQLParser} has resolved. Before, every statement is unresolved.
 *
 * @example
 * ```ts
 * await loadSQLParser();
 * deriveLoadedColumnLineage('SELECT id FROM orders', { orders: ['id'] }, { dialect: 'duckdb' });
 * ```
 */
export function deriveLoadedColumnLineage(
  sql: string,
  inputs: InputSchemas,
  options: DeriveColumnLineageOptions,
): ColumnLineageResult {
  if (typeof sql !== 'string' || sql.trim() === '') {
    return unresolved('parse-failed', 'the statement is empty');
  }
  const parsed = parseLoadedSQL(sql, options.dialect);
  if (!parsed.ok) return unresolved('parse-failed', parsed.message);
  if (parsed.statements.length !== 1) {
    return unresolved('not-a-query', `expected one statement, got ${parsed.statements.length}`);
  }
  try {
    const relation = new StatementResolver(options.dialect, inputs).resolveStatement(
      parsed.statements[0],
    );
    return finish(relation, options);
  } catch (error) {
    if (error instanceof Unresolvable) return unresolved(error.reason, error.message);
    if (error instanceof RangeError) {
      return unresolved('too-complex', `the statement is too deeply nested: ${error.message}`);
    }
    throw error;
  }
}

function finish(relation: Relation, options: DeriveColumnLineageOptions): ColumnLineageResult {
  const given = options.outputColumns;
  if (given !== undefined && given.length !== relation.columns.length) {
    return unresolved(
      'output-mismatch',
      `the statement selects ${relation.columns.length} columns but the output has ${given.length}`,
    );
  }
  const fields: OutputFieldLineage[] = [];
  const seen = new Set<string>();
  for (const [index, column] of relation.columns.entries()) {
    const expected = given?.[index];
    let name = column.name;
    if (expected !== undefined) {
      if (
        name !== undefined &&
        !identifierMatches({ name, quoted: true }, expected, options.dialect)
      ) {
        return unresolved(
          'output-mismatch',
          `output column ${index + 1} is ${JSON.stringify(name)} in the SQL but ${JSON.stringify(expected)} in the output`,
        );
      }
      name = expected;
    }
    if (name === undefined) {
      return unresolved(
        'unnamed-column',
        `output column ${index + 1} is an expression without an alias; add AS <name> or pass outputColumns`,
      );
    }
    if (seen.has(name)) {
      return unresolved('output-mismatch', `two output columns are named ${JSON.stringify(name)}`);
    }
    seen.add(name);
    fields.push({ name, inputFields: toInputFields(column.edges) });
  }
  return { status: 'derived', fields, dataset: toInputFields(relation.datasetEdges) };
}
