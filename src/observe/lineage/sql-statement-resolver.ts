/**
 * Resolves one parsed query (the AST of `@polyglot-sql/sdk`, a sqlglot-shaped tree in which each
 * node is `{ kind: payload }`) into the lineage of its output columns. Anything it does not
 * understand throws {@link Unresolvable}: a statement is resolved in full or not at all.
 */
import type {
  InputSchemas,
  SQLLineageDialect,
  TransformationSubtype,
  UnresolvedReason,
} from './column-lineage-types.js';
import type { EdgeSet } from './lineage-edges.js';
import { addComposed, addEdge, composeSubtype, isDirect } from './lineage-edges.js';
import { isAggregateFunction, isRefusedFunction } from './sql-functions.js';
import type { WrittenIdentifier } from './sql-identifiers.js';
import {
  identifierMatches,
  identifiersEqual,
  nameAsStored,
  storedKey,
  writtenKey,
} from './sql-identifiers.js';

/** Thrown inside the resolver; the caller turns it into an unresolved result. */
export class Unresolvable extends Error {
  readonly reason: UnresolvedReason;

  constructor(reason: UnresolvedReason, message: string) {
    super(message);
    this.name = 'Unresolvable';
    this.reason = reason;
  }
}

type Payload = Record<string, unknown>;

/** One column of a relation, with the edges that reach it from the statement's inputs. */
export interface RelationColumn {
  /** Undefined for an unaliased expression whose name only the database would choose. */
  readonly name: string | undefined;
  readonly edges: EdgeSet;
}

/** A relation seen by a query: a base input, a CTE, a subquery or the statement itself. */
export interface Relation {
  readonly columns: readonly RelationColumn[];
  readonly datasetEdges: EdgeSet;
}

interface Source {
  readonly alias: WrittenIdentifier;
  readonly relation: Relation;
}

/** A column that a USING or NATURAL join makes one: `members` are `[source, column]` pairs. */
interface MergedColumn {
  readonly name: string;
  readonly edges: EdgeSet;
  readonly members: ReadonlyArray<readonly [number, number]>;
  readonly join: number;
}

interface OutputItem {
  readonly name: string | undefined;
  readonly edges: EdgeSet;
  readonly hasAggregate: boolean;
}

interface Scope {
  readonly sources: Source[];
  readonly merged: MergedColumn[];
  readonly parent: Scope | undefined;
  /** Select-list items defined so far (DuckDB lets later items and clauses name them). */
  readonly outputs: OutputItem[];
  readonly windows: Map<string, Payload>;
}

interface CTE {
  readonly name: WrittenIdentifier;
  readonly relation: Relation;
}

interface WalkState {
  aggregate: boolean;
}

/**
 * Whether a name may be a select-list alias: `fallback` after the input columns (GROUP BY,
 * HAVING, QUALIFY, later select items), `first` before them (a bare ORDER BY name), `either`
 * only when it cannot also be an input column (inside ORDER BY expressions, where PostgreSQL
 * and DuckDB differ).
 */
type AliasLookup = 'never' | 'fallback' | 'first' | 'either';

const MAX_NODES = 2_000_000;
const MAX_DEPTH = 400;

/** The select clauses the resolver reads; a non-empty clause outside this list is refused. */
const KNOWN_SELECT_KEYS = new Set([
  'expressions',
  'from',
  'joins',
  'lateral_views',
  'where_clause',
  'group_by',
  'having',
  'qualify',
  'order_by',
  'distribute_by',
  'cluster_by',
  'sort_by',
  'limit',
  'offset',
  'fetch',
  'distinct',
  'distinct_on',
  'top',
  'with',
  'sample',
  'windows',
  'hint',
  'connect',
  'into',
  'locks',
  'leading_comments',
  'prewhere',
  'limit_by',
  'settings',
  'format',
  'span',
  'trailing_comments',
]);

/** Clauses that may be present only when empty (they change rows in ways not derived here). */
const REFUSED_SELECT_KEYS = [
  'lateral_views',
  'distribute_by',
  'cluster_by',
  'sort_by',
  'connect',
  'into',
  'distinct_on',
  'limit_by',
  'sample',
  'format',
] as const;

/** What makes an inner UNION of a chain more than a plain branch list. */
const PLAIN_UNION_BLOCKERS = ['with', 'order_by', 'limit', 'offset', 'by_name', 'corresponding'];
const JOIN_KINDS = new Set(['Inner', 'Left', 'Right', 'Full', 'Cross']);
const NATURAL_JOIN_KINDS = new Set(['Natural', 'NaturalLeft', 'NaturalRight', 'NaturalFull']);
const SET_OPERATIONS = new Set(['union', 'intersect', 'except']);
const QUERY_KINDS = new Set(['select', 'union', 'intersect', 'except', 'subquery', 'paren']);
/** Node kinds that name no column and contain no expression. */
const LEAF_KINDS = new Set(['literal', 'boolean', 'null', 'parameter', 'placeholder']);
/** Quantified comparisons whose kind is also an aggregate's name. */
const NOT_AGGREGATE_KINDS = new Set(['any', 'all', 'some']);
/**
 * Kinds refused inside expressions: `*` outside the select list, names a construct binds itself
 * (lambda parameters, list comprehension variables: read as columns they would be wrong edges),
 * and bare identifiers whose meaning depends on their place.
 */
const BINDING_OR_UNKNOWN_KINDS = new Set(['star', 'lambda', 'comprehension', 'identifier', 'var']);
/** The parts of a `*` the resolver reads. */
const STAR_KEYS = new Set(['table', 'except', 'replace', 'rename', 'span', 'trailing_comments']);
const TRANSPARENT_KINDS = new Set(['this', 'paren', 'alias']);

function unsupported(what: string): never {
  throw new Unresolvable('unsupported-construct', what);
}

function isObject(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPresent(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** The single `{ kind: payload }` entry of a node, or undefined for a plain record. */
function nodeKind(node: Payload): [string, unknown] | undefined {
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const kind = keys[0] as string;
  return [kind, node[kind]];
}

function identifier(value: unknown, what: string): WrittenIdentifier {
  if (isObject(value) && typeof value['name'] === 'string') {
    return { name: value['name'], quoted: value['quoted'] === true };
  }
  return unsupported(`${what} is not a plain identifier`);
}

function show(written: WrittenIdentifier): string {
  return JSON.stringify(written.name);
}

function copyEdges(edges: EdgeSet): EdgeSet {
  return new Map(edges);
}

function sameEdges(left: EdgeSet, right: EdgeSet): boolean {
  if (left.size !== right.size) return false;
  for (const key of left.keys()) if (!right.has(key)) return false;
  return true;
}

function asArray(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Resolves the statements of one dialect against one set of input schemas. */
export class StatementResolver {
  readonly #dialect: SQLLineageDialect;
  readonly #inputs: InputSchemas;
  #visited = 0;
  #depth = 0;
  #inputIndex: Map<string, string[]> | undefined;
  readonly #nameIndexes = new WeakMap<readonly RelationColumn[], Map<string, RelationColumn[]>>();

  constructor(dialect: SQLLineageDialect, inputs: InputSchemas) {
    this.#dialect = dialect;
    this.#inputs = inputs;
  }

  /** The lineage of a top-level query node. */
  resolveStatement(node: unknown): Relation {
    if (!isObject(node)) throw new Unresolvable('not-a-query', 'the statement is empty');
    const entry = nodeKind(node);
    if (entry === undefined || !QUERY_KINDS.has(entry[0])) {
      throw new Unresolvable(
        'not-a-query',
        `the statement is ${entry === undefined ? 'not a query' : `a ${entry[0]} statement`}; only SELECT queries (with WITH, UNION, ...) are derived`,
      );
    }
    return this.#resolveQuery(node, [], undefined);
  }

  #tick(): void {
    this.#visited += 1;
    if (this.#visited > MAX_NODES) {
      throw new Unresolvable('too-complex', `the statement has more than ${MAX_NODES} nodes`);
    }
  }

  #nested<T>(run: () => T): T {
    this.#depth += 1;
    if (this.#depth > MAX_DEPTH) {
      throw new Unresolvable('too-complex', `the statement nests deeper than ${MAX_DEPTH} levels`);
    }
    try {
      return run();
    } finally {
      this.#depth -= 1;
    }
  }

  // ---- queries ----------------------------------------------------------------------------

  #resolveQuery(node: unknown, ctes: readonly CTE[], outer: Scope | undefined): Relation {
    return this.#nested(() => {
      this.#tick();
      if (!isObject(node)) return unsupported('a query is missing');
      const entry = nodeKind(node);
      if (entry === undefined) return unsupported('a query node has an unknown shape');
      const [kind, payload] = entry;
      if (!isObject(payload)) return unsupported(`an empty ${kind} query`);
      if (kind === 'select') return this.#resolveSelect(payload, ctes, outer);
      if (SET_OPERATIONS.has(kind)) return this.#resolveSetOperation(kind, payload, ctes, outer);
      if (kind === 'subquery' || kind === 'paren') {
        if (isPresent(payload['alias']) || isPresent(payload['column_aliases'])) {
          return unsupported('an aliased parenthesised query where a query was expected');
        }
        for (const key of ['order_by', 'limit', 'offset']) {
          if (isPresent(payload[key])) return unsupported(`${key} after a parenthesised query`);
        }
        return this.#resolveQuery(payload['this'], ctes, outer);
      }
      return unsupported(`a ${kind} where a query was expected`);
    });
  }

  #withCTEs(withClause: unknown, ctes: readonly CTE[], outer: Scope | undefined): readonly CTE[] {
    if (!isPresent(withClause)) return ctes;
    if (!isObject(withClause)) return unsupported('a WITH clause of unknown shape');
    if (withClause['recursive'] === true) return unsupported('WITH RECURSIVE');
    const visible = [...ctes];
    for (const cte of asArray(withClause['ctes'])) {
      if (!isObject(cte)) return unsupported('a CTE of unknown shape');
      const name = identifier(cte['alias'], 'a CTE name');
      let relation = this.#resolveQuery(cte['this'], visible, outer);
      const columnNames = asArray(cte['columns']);
      if (columnNames.length > 0) {
        relation = this.#renameColumns(relation, columnNames, `CTE ${show(name)}`);
      }
      visible.push({ name, relation });
    }
    return visible;
  }

  #renameColumns(relation: Relation, names: unknown[], what: string): Relation {
    if (names.length > relation.columns.length) {
      throw new Unresolvable(
        'unknown-column',
        `${what} names ${names.length} columns but has ${relation.columns.length}`,
      );
    }
    return {
      datasetEdges: relation.datasetEdges,
      columns: relation.columns.map((column, index) =>
        index < names.length
          ? {
              name: nameAsStored(identifier(names[index], 'a column alias'), this.#dialect),
              edges: column.edges,
            }
          : column,
      ),
    };
  }

  #resolveSetOperation(
    kind: string,
    payload: Payload,
    outerCTEs: readonly CTE[],
    outer: Scope | undefined,
  ): Relation {
    if (payload['by_name'] === true || payload['corresponding'] === true) {
      return unsupported(`${kind.toUpperCase()} BY NAME / CORRESPONDING`);
    }
    const ctes = this.#withCTEs(payload['with'], outerCTEs, outer);
    // A chain of UNIONs parses left-deep; it is read as a list so that its length is no depth.
    const branches: unknown[] = [payload['right']];
    let first = payload['left'];
    for (;;) {
      const entry = kind === 'union' && isObject(first) ? nodeKind(first) : undefined;
      const inner = entry?.[0] === 'union' ? entry[1] : undefined;
      if (!isObject(inner) || PLAIN_UNION_BLOCKERS.some((key) => isPresent(inner[key]))) break;
      branches.push(inner['right']);
      first = inner['left'];
    }
    branches.push(first);
    branches.reverse();
    const [left, ...rights] = branches.map((branch) => this.#resolveQuery(branch, ctes, outer));
    if (left === undefined) return unsupported(`an empty ${kind.toUpperCase()}`);
    const datasetEdges = copyEdges(left.datasetEdges);
    const columns = left.columns.map((column) => ({
      name: column.name,
      edges: copyEdges(column.edges),
    }));
    for (const right of rights) {
      if (left.columns.length !== right.columns.length) {
        throw new Unresolvable(
          'unsupported-construct',
          `the sides of ${kind.toUpperCase()} have ${left.columns.length} and ${right.columns.length} columns`,
        );
      }
      addComposed(datasetEdges, right.datasetEdges, 'IDENTITY');
      right.columns.forEach((column, index) => {
        if (kind === 'union')
          addComposed((columns[index] as RelationColumn).edges, column.edges, 'IDENTITY');
        else addComposed(datasetEdges, column.edges, 'FILTER');
      });
    }
    const relation: Relation = { columns, datasetEdges };
    const orderBy = payload['order_by'];
    if (isPresent(orderBy)) {
      const expressions = isObject(orderBy) ? asArray(orderBy['expressions']) : [];
      for (const item of expressions) {
        const expression = isObject(item) ? item['this'] : undefined;
        addComposed(datasetEdges, this.#setOutputReference(expression, columns), 'SORT');
      }
    }
    return relation;
  }

  /** An ORDER BY item of a set operation: an output column by name or position. */
  #setOutputReference(expression: unknown, columns: readonly RelationColumn[]): EdgeSet {
    const ordinal = this.#ordinal(expression);
    if (ordinal !== undefined) {
      const column = columns[ordinal - 1];
      if (column === undefined) return unsupported(`ORDER BY ${ordinal} is out of range`);
      return column.edges;
    }
    const entry = isObject(expression) ? nodeKind(expression) : undefined;
    if (entry?.[0] === 'column' && isObject(entry[1]) && !isPresent(entry[1]['table'])) {
      const written = identifier(entry[1]['name'], 'a column');
      const matches = columns.filter(
        (column) =>
          column.name !== undefined && identifierMatches(written, column.name, this.#dialect),
      );
      if (matches.length === 1) return (matches[0] as RelationColumn).edges;
      throw new Unresolvable(
        matches.length === 0 ? 'unknown-column' : 'ambiguous-column',
        `ORDER BY ${show(written)} names ${matches.length === 0 ? 'no' : 'more than one'} output column`,
      );
    }
    return unsupported('an ORDER BY expression over a set operation');
  }

  #ordinal(expression: unknown): number | undefined {
    if (!isObject(expression)) return undefined;
    const entry = nodeKind(expression);
    if (entry?.[0] !== 'literal' || !isObject(entry[1])) return undefined;
    if (entry[1]['literal_type'] !== 'number') return undefined;
    const value = Number(entry[1]['value']);
    return Number.isInteger(value) && value >= 1 ? value : unsupported('a non-integer ordinal');
  }

  #resolveSelect(select: Payload, outerCTEs: readonly CTE[], outer: Scope | undefined): Relation {
    for (const key of Object.keys(select)) {
      if (!KNOWN_SELECT_KEYS.has(key) && isPresent(select[key])) {
        return unsupported(`the ${key} clause`);
      }
    }
    for (const key of REFUSED_SELECT_KEYS) {
      if (isPresent(select[key])) return unsupported(`the ${key.replace('_', ' ')} clause`);
    }
    const ctes = this.#withCTEs(select['with'], outerCTEs, outer);
    const scope: Scope = {
      sources: [],
      merged: [],
      parent: outer,
      outputs: [],
      windows: new Map(),
    };
    const datasetEdges: EdgeSet = new Map();

    const from = select['from'];
    if (isPresent(from)) {
      if (!isObject(from)) return unsupported('a FROM clause of unknown shape');
      for (const item of asArray(from['expressions'])) {
        this.#addSource(scope, this.#fromItem(item, ctes, outer, scope), datasetEdges);
      }
    }
    asArray(select['joins']).forEach((join, index) =>
      this.#addJoin(scope, join, index, ctes, outer, datasetEdges),
    );

    for (const window of asArray(select['windows'])) {
      if (!isObject(window) || !isObject(window['spec'])) return unsupported('a WINDOW clause');
      const name = nameAsStored(identifier(window['name'], 'a window name'), this.#dialect);
      scope.windows.set(name, window['spec']);
    }

    if (this.#dialect === 'clickhouse') this.#refuseShadowingAliases(scope, select['expressions']);
    for (const item of asArray(select['expressions'])) {
      this.#addSelectItem(scope, item, ctes);
    }

    const filterClauses = [select['where_clause'], select['prewhere']];
    for (const clause of filterClauses) {
      this.#walk(clause, 'FILTER', scope, ctes, datasetEdges, { aggregate: false }, 'fallback');
    }
    this.#groupBy(select['group_by'], scope, ctes, datasetEdges);
    // DuckDB binds a HAVING/QUALIFY name to an alias when the column is not grouped: a name
    // that is both is refused rather than guessed.
    for (const clause of [select['having'], select['qualify']]) {
      this.#walk(clause, 'FILTER', scope, ctes, datasetEdges, { aggregate: false }, 'either');
    }
    const orderBy = select['order_by'];
    if (isPresent(orderBy)) {
      for (const item of isObject(orderBy) ? asArray(orderBy['expressions']) : []) {
        const expression = isObject(item) ? item['this'] : undefined;
        const ordinal = this.#ordinal(expression);
        if (ordinal !== undefined) {
          addComposed(datasetEdges, this.#outputAt(scope, ordinal, 'ORDER BY'), 'SORT');
        } else {
          const lookup = this.#bareColumn(expression) === undefined ? 'either' : 'first';
          this.#walk(expression, 'SORT', scope, ctes, datasetEdges, { aggregate: false }, lookup);
        }
      }
    }
    return {
      columns: scope.outputs.map((output) => ({ name: output.name, edges: output.edges })),
      datasetEdges,
    };
  }

  /**
   * ClickHouse lets an alias stand for its expression everywhere in the query, before the
   * column of the same name and even before the item that defines it; an alias that shadows an
   * input column (other than the column itself) makes every use of that name ambiguous here.
   */
  #refuseShadowingAliases(scope: Scope, items: unknown): void {
    for (const item of asArray(items)) {
      const entry = isObject(item) ? nodeKind(item) : undefined;
      if (entry?.[0] !== 'alias' || !isObject(entry[1])) continue;
      const alias = identifier(entry[1]['alias'], 'a column alias');
      const bare = this.#bareColumn(entry[1]['this']);
      if (bare !== undefined && !isPresent(bare['table'])) {
        const name = identifier(bare['name'], 'a column name');
        if (identifiersEqual(alias, name, this.#dialect)) continue;
      }
      if (
        scope.sources.some(
          (source) => this.#columnsNamed(source.relation.columns, alias).length > 0,
        )
      ) {
        throw new Unresolvable(
          'ambiguous-column',
          `alias ${show(alias)} shadows an input column; ClickHouse reads the name as the alias everywhere in the query`,
        );
      }
    }
  }

  #outputAt(scope: Scope, ordinal: number, clause: string): EdgeSet {
    const output = scope.outputs[ordinal - 1];
    if (output === undefined) {
      throw new Unresolvable('unknown-column', `${clause} ${ordinal} is past the select list`);
    }
    return output.edges;
  }

  #groupBy(groupBy: unknown, scope: Scope, ctes: readonly CTE[], into: EdgeSet): void {
    if (!isPresent(groupBy)) return;
    if (!isObject(groupBy)) return unsupported('a GROUP BY clause of unknown shape');
    if (groupBy['all'] === true) {
      for (const output of scope.outputs) {
        if (!output.hasAggregate) addComposed(into, output.edges, 'GROUP_BY');
      }
    }
    for (const expression of asArray(groupBy['expressions'])) {
      const ordinal = this.#ordinal(expression);
      if (ordinal !== undefined) {
        addComposed(into, this.#outputAt(scope, ordinal, 'GROUP BY'), 'GROUP_BY');
      } else {
        this.#walk(expression, 'GROUP_BY', scope, ctes, into, { aggregate: false }, 'fallback');
      }
    }
  }

  // ---- FROM and joins ---------------------------------------------------------------------

  #addSource(scope: Scope, source: Source, datasetEdges: EdgeSet): void {
    scope.sources.push(source);
    addComposed(datasetEdges, source.relation.datasetEdges, 'IDENTITY');
  }

  #fromItem(item: unknown, ctes: readonly CTE[], outer: Scope | undefined, scope: Scope): Source {
    if (!isObject(item)) return unsupported('a FROM item of unknown shape');
    const entry = nodeKind(item);
    if (entry === undefined || !isObject(entry[1]))
      return unsupported('a FROM item of unknown shape');
    const [kind, payload] = entry;
    if (kind === 'table') return this.#tableSource(payload, ctes);
    if (kind === 'subquery') {
      const lateralScope: Scope | undefined =
        payload['lateral'] === true
          ? { ...scope, sources: [...scope.sources], parent: outer }
          : outer;
      let relation = this.#resolveQuery(payload['this'], ctes, lateralScope);
      const columnAliases = asArray(payload['column_aliases']);
      if (columnAliases.length > 0) {
        relation = this.#renameColumns(relation, columnAliases, 'a subquery');
      }
      const alias = isPresent(payload['alias'])
        ? identifier(payload['alias'], 'a subquery alias')
        : { name: '\u0000unnamed subquery', quoted: true };
      return { alias, relation };
    }
    if (kind === 'alias' || kind === 'function' || kind === 'unnest') {
      return unsupported('a table function or expression in FROM');
    }
    return unsupported(`a ${kind} in FROM`);
  }

  #tableSource(table: Payload, ctes: readonly CTE[]): Source {
    const name = identifier(table['name'], 'a table name');
    const parts = [table['catalog'], table['schema']]
      .filter(isPresent)
      .map((part) => identifier(part, 'a table qualifier'));
    parts.push(name);
    for (const key of ['when', 'hints', 'only']) {
      if (isPresent(table[key])) return unsupported(`a table reference with ${key}`);
    }
    const alias = isPresent(table['alias']) ? identifier(table['alias'], 'a table alias') : name;
    let relation: Relation | undefined;
    if (parts.length === 1) {
      for (let index = ctes.length - 1; index >= 0; index -= 1) {
        const cte = ctes[index] as CTE;
        if (identifiersEqual(name, cte.name, this.#dialect)) {
          relation = cte.relation;
          break;
        }
      }
    }
    relation ??= this.#inputRelation(parts);
    const columnAliases = asArray(table['column_aliases']);
    if (columnAliases.length > 0) {
      relation = this.#renameColumns(relation, columnAliases, `table ${show(name)}`);
    }
    return { alias, relation };
  }

  #inputRelation(parts: readonly WrittenIdentifier[]): Relation {
    if (this.#inputIndex === undefined) {
      this.#inputIndex = new Map();
      for (const key of Object.keys(this.#inputs)) {
        const indexKey = key
          .split('.')
          .map((part) => storedKey(part, this.#dialect))
          .join('\u0000');
        const list = this.#inputIndex.get(indexKey);
        if (list === undefined) this.#inputIndex.set(indexKey, [key]);
        else list.push(key);
      }
    }
    const matches =
      this.#inputIndex.get(parts.map((part) => writtenKey(part, this.#dialect)).join('\u0000')) ??
      [];
    const written = parts.map((part) => part.name).join('.');
    if (matches.length !== 1) {
      throw new Unresolvable(
        matches.length === 0 ? 'unknown-relation' : 'ambiguous-column',
        matches.length === 0
          ? `relation ${JSON.stringify(written)} is not among the input schemas (${
              Object.keys(this.#inputs)
                .map((key) => JSON.stringify(key))
                .join(', ') || 'none given'
            })`
          : `relation ${JSON.stringify(written)} matches inputs ${matches.map((key) => JSON.stringify(key)).join(' and ')}`,
      );
    }
    const dataset = matches[0] as string;
    const fields = this.#inputs[dataset] as readonly string[];
    if (fields.length === 0) {
      throw new Unresolvable(
        'unknown-relation',
        `relation ${JSON.stringify(dataset)} has no columns in the input schemas; its schema is unknown`,
      );
    }
    const columns = fields.map((field) => {
      const edges: EdgeSet = new Map();
      addEdge(edges, { dataset, field, subtype: 'IDENTITY' });
      return { name: field, edges };
    });
    return { columns, datasetEdges: new Map() };
  }

  #addJoin(
    scope: Scope,
    join: unknown,
    joinIndex: number,
    ctes: readonly CTE[],
    outer: Scope | undefined,
    datasetEdges: EdgeSet,
  ): void {
    if (!isObject(join)) return unsupported('a join of unknown shape');
    const kind = String(join['kind']);
    const natural = NATURAL_JOIN_KINDS.has(kind);
    if (!JOIN_KINDS.has(kind) && !natural) return unsupported(`a ${kind} join`);
    for (const key of ['match_condition', 'pivots', 'directed']) {
      if (isPresent(join[key])) return unsupported(`a join with ${key}`);
    }
    const leftCount = scope.sources.length;
    this.#addSource(scope, this.#fromItem(join['this'], ctes, outer, scope), datasetEdges);
    const rightIndex = leftCount;
    const right = scope.sources[rightIndex] as Source;
    const using = asArray(join['using']).map((name) => identifier(name, 'a USING column'));
    if (natural) {
      if (using.length > 0 || isPresent(join['on']))
        return unsupported('NATURAL join with ON/USING');
      for (const column of right.relation.columns) {
        if (column.name === undefined) continue;
        const written = { name: column.name, quoted: true };
        if (this.#leftMatches(scope, leftCount, written).length > 0) using.push(written);
      }
    }
    if (using.length > 0) {
      if (this.#dialect === 'clickhouse') return unsupported('USING in ClickHouse');
      const side = natural ? kind.replace('Natural', '') || 'Inner' : kind;
      for (const written of using) {
        this.#mergeUsing(scope, leftCount, rightIndex, written, side, joinIndex, datasetEdges);
      }
    }
    this.#walk(join['on'], 'JOIN', scope, ctes, datasetEdges, { aggregate: false }, 'never');
  }

  /** Columns named `written` on the left of a join: merged ones first, else one per source. */
  #leftMatches(scope: Scope, leftCount: number, written: WrittenIdentifier): EdgeSet[] {
    const merged = scope.merged.filter((column) =>
      identifierMatches(written, column.name, this.#dialect),
    );
    if (merged.length > 0) return merged.map((column) => column.edges);
    return scope.sources
      .slice(0, leftCount)
      .flatMap((source) => this.#columnsNamed(source.relation.columns, written))
      .map((column) => column.edges);
  }

  #mergeUsing(
    scope: Scope,
    leftCount: number,
    rightIndex: number,
    written: WrittenIdentifier,
    side: string,
    joinIndex: number,
    datasetEdges: EdgeSet,
  ): void {
    const leftEdges = this.#leftMatches(scope, leftCount, written);
    const right = scope.sources[rightIndex] as Source;
    const rightColumns = right.relation.columns
      .map((column, index) => [column, index] as const)
      .filter(
        ([column]) =>
          column.name !== undefined && identifierMatches(written, column.name, this.#dialect),
      );
    if (leftEdges.length !== 1 || rightColumns.length !== 1) {
      throw new Unresolvable(
        leftEdges.length === 0 || rightColumns.length === 0 ? 'unknown-column' : 'ambiguous-column',
        `join column ${show(written)} is on ${leftEdges.length} left and ${rightColumns.length} right relations; it must be on exactly one of each`,
      );
    }
    const [rightColumn, rightColumnIndex] = rightColumns[0] as readonly [RelationColumn, number];
    const left = leftEdges[0] as EdgeSet;
    addComposed(datasetEdges, left, 'JOIN');
    addComposed(datasetEdges, rightColumn.edges, 'JOIN');
    const edges: EdgeSet = new Map();
    if (side === 'Right') addComposed(edges, rightColumn.edges, 'IDENTITY');
    else if (side === 'Full') {
      addComposed(edges, left, 'TRANSFORMATION');
      addComposed(edges, rightColumn.edges, 'TRANSFORMATION');
    } else addComposed(edges, left, 'IDENTITY');

    const previous = scope.merged.findIndex((column) =>
      identifierMatches(written, column.name, this.#dialect),
    );
    const members: Array<readonly [number, number]> = [];
    if (previous >= 0) {
      members.push(...(scope.merged[previous] as MergedColumn).members);
      scope.merged.splice(previous, 1);
    } else {
      scope.sources.slice(0, leftCount).forEach((source, sourceIndex) =>
        source.relation.columns.forEach((column, columnIndex) => {
          if (column.name !== undefined && identifierMatches(written, column.name, this.#dialect)) {
            members.push([sourceIndex, columnIndex]);
          }
        }),
      );
    }
    members.push([rightIndex, rightColumnIndex]);
    const leftName = previous >= 0 ? undefined : this.#memberName(scope, members[0]);
    scope.merged.push({
      name: leftName ?? nameAsStored(written, this.#dialect),
      edges,
      members,
      join: joinIndex,
    });
  }

  #memberName(scope: Scope, member: readonly [number, number] | undefined): string | undefined {
    if (member === undefined) return undefined;
    return scope.sources[member[0]]?.relation.columns[member[1]]?.name;
  }

  // ---- select list ------------------------------------------------------------------------

  #addSelectItem(scope: Scope, item: unknown, ctes: readonly CTE[]): void {
    if (!isObject(item)) return unsupported('a select item of unknown shape');
    const entry = nodeKind(item);
    if (entry?.[0] === 'star') {
      this.#expandStar(scope, entry[1], ctes);
      return;
    }
    let expression: unknown = item;
    let name: string | undefined;
    if (entry?.[0] === 'alias' && isObject(entry[1])) {
      if (isPresent(entry[1]['column_aliases'])) return unsupported('an alias with column names');
      name = nameAsStored(identifier(entry[1]['alias'], 'a column alias'), this.#dialect);
      expression = entry[1]['this'];
    }
    const state: WalkState = { aggregate: false };
    const edges: EdgeSet = new Map();
    const bare = this.#bareColumn(expression);
    if (bare !== undefined) {
      const column = this.#resolveColumn(bare, scope, 'fallback');
      addComposed(edges, column.edges, 'IDENTITY');
      name ??= column.name;
    } else {
      this.#walk(expression, 'IDENTITY', scope, ctes, edges, state, 'fallback');
    }
    scope.outputs.push({ name, edges, hasAggregate: state.aggregate });
  }

  /** The column payload of an expression that is only a column reference (maybe in parens). */
  #bareColumn(expression: unknown): Payload | undefined {
    let current = expression;
    for (;;) {
      if (!isObject(current)) return undefined;
      const entry = nodeKind(current);
      if (entry === undefined || !isObject(entry[1])) return undefined;
      if (entry[0] === 'column') return entry[1];
      if (entry[0] !== 'paren') return undefined;
      current = entry[1]['this'];
    }
  }

  #expandStar(scope: Scope, star: unknown, ctes: readonly CTE[]): void {
    if (!isObject(star)) return unsupported('a * of unknown shape');
    for (const key of Object.keys(star)) {
      if (!STAR_KEYS.has(key) && isPresent(star[key])) return unsupported(`* with ${key}`);
    }
    if (isPresent(star['rename'])) return unsupported('* RENAME');
    let columns: RelationColumn[];
    if (isPresent(star['table'])) {
      const qualifier = identifier(star['table'], 'a * qualifier');
      const sources = scope.sources.filter((source) =>
        identifiersEqual(qualifier, source.alias, this.#dialect),
      );
      if (sources.length !== 1) {
        throw new Unresolvable(
          sources.length === 0 ? 'unknown-relation' : 'ambiguous-column',
          `${show(qualifier)}.* names ${sources.length === 0 ? 'no' : 'more than one'} relation of the FROM clause`,
        );
      }
      columns = [...(sources[0] as Source).relation.columns];
    } else {
      columns = this.#allColumns(scope);
    }
    const excluded = asArray(star['except']).map((name) => identifier(name, 'an EXCLUDE column'));
    for (const written of excluded) {
      const before = columns.length;
      columns = columns.filter(
        (column) =>
          column.name === undefined || !identifierMatches(written, column.name, this.#dialect),
      );
      if (columns.length === before) {
        throw new Unresolvable(
          'unknown-column',
          `EXCLUDE names ${show(written)}, which * does not select`,
        );
      }
    }
    const replacements = asArray(star['replace']);
    for (const replacement of replacements) {
      if (!isObject(replacement)) return unsupported('a REPLACE item of unknown shape');
      const written = identifier(replacement['alias'], 'a REPLACE name');
      const index = columns.findIndex(
        (column) =>
          column.name !== undefined && identifierMatches(written, column.name, this.#dialect),
      );
      if (index < 0) {
        throw new Unresolvable(
          'unknown-column',
          `REPLACE names ${show(written)}, which * does not select`,
        );
      }
      const edges: EdgeSet = new Map();
      this.#walk(
        replacement['this'],
        'IDENTITY',
        scope,
        ctes,
        edges,
        { aggregate: false },
        'never',
      );
      columns[index] = { name: (columns[index] as RelationColumn).name, edges };
    }
    for (const column of columns) {
      if (column.name === undefined) {
        throw new Unresolvable(
          'unnamed-column',
          '* selects a column whose name the SQL does not give',
        );
      }
      scope.outputs.push({ name: column.name, edges: column.edges, hasAggregate: false });
    }
  }

  /** The columns `*` selects, with USING/NATURAL join columns once. */
  #allColumns(scope: Scope): RelationColumn[] {
    if (scope.sources.length === 0) return unsupported('* without a FROM clause');
    const memberOf = new Map<string, MergedColumn>();
    for (const merged of scope.merged) {
      for (const [source, column] of merged.members) memberOf.set(`${source}:${column}`, merged);
    }
    const columns: RelationColumn[] = [];
    if (this.#dialect === 'postgresql' && scope.merged.length > 0) {
      if (new Set(scope.merged.map((merged) => merged.join)).size > 1) {
        return unsupported('* over several USING/NATURAL joins in PostgreSQL');
      }
      columns.push(...scope.merged.map((merged) => ({ name: merged.name, edges: merged.edges })));
    }
    scope.sources.forEach((source, sourceIndex) =>
      source.relation.columns.forEach((column, columnIndex) => {
        const merged = memberOf.get(`${sourceIndex}:${columnIndex}`);
        if (merged === undefined) {
          columns.push(column);
        } else if (
          this.#dialect !== 'postgresql' &&
          merged.members[0]?.[0] === sourceIndex &&
          merged.members[0]?.[1] === columnIndex
        ) {
          columns.push({ name: merged.name, edges: merged.edges });
        }
      }),
    );
    return columns;
  }

  // ---- column references --------------------------------------------------------------------

  /** The columns of `columns` that `written` names (through an index built on first use). */
  #columnsNamed(columns: readonly RelationColumn[], written: WrittenIdentifier): RelationColumn[] {
    let index = this.#nameIndexes.get(columns);
    if (index === undefined) {
      index = new Map();
      for (const column of columns) {
        if (column.name === undefined) continue;
        const key = storedKey(column.name, this.#dialect);
        const list = index.get(key);
        if (list === undefined) index.set(key, [column]);
        else list.push(column);
      }
      this.#nameIndexes.set(columns, index);
    }
    return index.get(writtenKey(written, this.#dialect)) ?? [];
  }

  #resolveColumn(column: Payload, scope: Scope, aliases: AliasLookup): RelationColumn {
    const written = identifier(column['name'], 'a column name');
    if (isPresent(column['join_mark'])) return unsupported('an Oracle (+) join mark');
    if (isPresent(column['table'])) {
      const qualifier = identifier(column['table'], 'a column qualifier');
      for (let current: Scope | undefined = scope; current; current = current.parent) {
        const sources = current.sources.filter((source) =>
          identifiersEqual(qualifier, source.alias, this.#dialect),
        );
        if (sources.length > 1) {
          throw new Unresolvable(
            'ambiguous-column',
            `${show(qualifier)} names more than one relation`,
          );
        }
        const source = sources[0];
        if (source !== undefined) {
          const matches = this.#columnsNamed(source.relation.columns, written);
          if (matches.length === 1) return matches[0] as RelationColumn;
          throw new Unresolvable(
            matches.length === 0 ? 'unknown-column' : 'ambiguous-column',
            `${show(qualifier)}.${show(written)}: the relation has ${matches.length === 0 ? 'no such column' : 'several columns of that name'}`,
          );
        }
      }
      throw new Unresolvable(
        'unknown-relation',
        `${show(qualifier)}.${show(written)}: no relation in scope is named ${show(qualifier)}`,
      );
    }
    for (let current: Scope | undefined = scope; current; current = current.parent) {
      const isOwn = current === scope;
      if (isOwn && aliases === 'first') {
        const output = this.#outputNamed(current, written);
        if (output !== undefined) return output;
      }
      const found = this.#unqualified(current, written);
      if (isOwn && aliases === 'either') {
        const output = this.#outputNamed(current, written);
        if (output !== undefined && found !== undefined && !sameEdges(output.edges, found.edges)) {
          throw new Unresolvable(
            'ambiguous-column',
            `${show(written)} in an ORDER BY expression is both a select-list alias and an input column`,
          );
        }
        if (output !== undefined) return output;
      }
      if (found !== undefined) return found;
      if (isOwn && aliases === 'fallback') {
        const output = this.#outputNamed(current, written);
        if (output !== undefined) return output;
      }
    }
    throw new Unresolvable(
      'unknown-column',
      `column ${show(written)} is in none of the relations in scope`,
    );
  }

  #outputNamed(scope: Scope, written: WrittenIdentifier): RelationColumn | undefined {
    const matches = scope.outputs.filter(
      (output) =>
        output.name !== undefined && identifierMatches(written, output.name, this.#dialect),
    );
    if (matches.length > 1) {
      throw new Unresolvable('ambiguous-column', `${show(written)} names several select items`);
    }
    const output = matches[0];
    return output === undefined ? undefined : { name: output.name, edges: output.edges };
  }

  #unqualified(scope: Scope, written: WrittenIdentifier): RelationColumn | undefined {
    const merged = scope.merged.filter((column) =>
      identifierMatches(written, column.name, this.#dialect),
    );
    if (merged.length === 1) {
      const column = merged[0] as MergedColumn;
      return { name: column.name, edges: column.edges };
    }
    const matches: RelationColumn[] = [];
    for (const source of scope.sources) {
      matches.push(...this.#columnsNamed(source.relation.columns, written));
    }
    if (matches.length > 1) {
      throw new Unresolvable(
        'ambiguous-column',
        `column ${show(written)} is in more than one relation; qualify it with the relation's name`,
      );
    }
    return matches[0];
  }

  // ---- expressions --------------------------------------------------------------------------

  /**
   * Adds to `out` the edges of every column `node` reads, each composed with `context`: the
   * subtype the value has for the output (IDENTITY until an operator changes it, or an INDIRECT
   * subtype for clauses that decide rows).
   */
  #walk(
    node: unknown,
    context: TransformationSubtype,
    scope: Scope,
    ctes: readonly CTE[],
    out: EdgeSet,
    state: WalkState,
    aliases: AliasLookup,
  ): void {
    if (node === null || typeof node !== 'object') return;
    this.#tick();
    if (Array.isArray(node)) {
      for (const child of node) this.#walk(child, context, scope, ctes, out, state, aliases);
      return;
    }
    const record = node as Payload;
    const entry = nodeKind(record);
    if (entry !== undefined && LEAF_KINDS.has(entry[0])) return;
    this.#depth += 1;
    try {
      if (this.#depth > MAX_DEPTH) {
        throw new Unresolvable(
          'too-complex',
          `the statement nests deeper than ${MAX_DEPTH} levels`,
        );
      }
      if (entry === undefined) {
        for (const [key, child] of Object.entries(record)) {
          if (key !== 'span') this.#walk(child, context, scope, ctes, out, state, aliases);
        }
      } else {
        this.#walkKind(entry[0], entry[1], context, scope, ctes, out, state, aliases);
      }
    } finally {
      this.#depth -= 1;
    }
  }

  #walkKind(
    kind: string,
    payload: unknown,
    context: TransformationSubtype,
    scope: Scope,
    ctes: readonly CTE[],
    out: EdgeSet,
    state: WalkState,
    aliases: AliasLookup,
  ): void {
    if (LEAF_KINDS.has(kind)) return;
    const walk = (child: unknown, childContext: TransformationSubtype): void =>
      this.#walk(child, childContext, scope, ctes, out, state, aliases);
    const transformed = isDirect(context) ? composeSubtype(context, 'TRANSFORMATION') : context;
    const indirect = (subtype: TransformationSubtype): TransformationSubtype =>
      isDirect(context) ? subtype : context;
    if (kind === 'column') {
      if (!isObject(payload)) return unsupported('a column of unknown shape');
      addComposed(out, this.#resolveColumn(payload, scope, aliases).edges, context);
      return;
    }
    if (TRANSPARENT_KINDS.has(kind)) {
      if (kind === 'alias' && isObject(payload)) return walk(payload['this'], context);
      return walk(payload, context);
    }
    if (BINDING_OR_UNKNOWN_KINDS.has(kind)) {
      return unsupported(`a ${kind} inside an expression`);
    }
    if (!isObject(payload)) {
      if (payload === null || payload === undefined || typeof payload !== 'object') return;
      return walk(payload, transformed);
    }
    if (QUERY_KINDS.has(kind)) {
      this.#subqueryExpression({ [kind]: payload }, context, scope, ctes, out, false);
      return;
    }
    switch (kind) {
      case 'exists':
        this.#subqueryExpression(payload['this'], context, scope, ctes, out, true);
        return;
      case 'in':
        walk(payload['this'], transformed);
        walk(payload['expressions'], transformed);
        if (isPresent(payload['query'])) {
          this.#subqueryExpression(payload['query'], transformed, scope, ctes, out, false);
        }
        if (isPresent(payload['unnest'])) walk(payload['unnest'], transformed);
        return;
      case 'case':
        walk(payload['operand'], indirect('CONDITIONAL'));
        for (const when of asArray(payload['whens'])) {
          const [condition, result] = asArray(when);
          walk(condition, indirect('CONDITIONAL'));
          walk(result, transformed);
        }
        walk(payload['else_'], transformed);
        return;
      case 'if_func':
        walk(payload['condition'], indirect('CONDITIONAL'));
        walk(payload['true_value'], transformed);
        walk(payload['false_value'], transformed);
        return;
      case 'window_function':
        this.#windowFunction(payload, context, walk, scope);
        return;
      case 'within_group':
        this.#aggregate(payload['this'], context, walk, state);
        state.aggregate = true;
        walk(payload['order_by'], isDirect(context) ? 'AGGREGATION' : context);
        return;
      case 'combined_parameterized_agg':
        state.aggregate = true;
        walk(payload['expressions'], isDirect(context) ? 'AGGREGATION' : context);
        walk(payload['params'], transformed);
        return;
      case 'function':
      case 'aggregate_function': {
        const name = String(payload['name']);
        if (isRefusedFunction(name)) return unsupported(`the ${name}() function`);
        if (kind === 'aggregate_function' || isAggregateFunction(name)) {
          this.#aggregatePayload(payload, context, walk, state);
          return;
        }
        for (const [key, child] of Object.entries(payload)) {
          if (key !== 'name') walk(child, transformed);
        }
        return;
      }
      default:
        if (!NOT_AGGREGATE_KINDS.has(kind) && isAggregateFunction(kind)) {
          this.#aggregatePayload(payload, context, walk, state);
          return;
        }
        for (const [key, child] of Object.entries(payload)) {
          if (key !== 'span') walk(child, transformed);
        }
    }
  }

  #aggregate(
    node: unknown,
    context: TransformationSubtype,
    walk: (child: unknown, childContext: TransformationSubtype) => void,
    state: WalkState,
  ): void {
    if (!isObject(node)) return unsupported('an aggregate of unknown shape');
    const entry = nodeKind(node);
    if (entry === undefined || !isObject(entry[1]))
      return unsupported('an aggregate of unknown shape');
    const name =
      entry[0] === 'function' || entry[0] === 'aggregate_function'
        ? String(entry[1]['name'])
        : entry[0];
    if (!isAggregateFunction(name) && entry[0] !== 'aggregate_function') {
      return unsupported(`WITHIN GROUP after ${name}()`);
    }
    this.#aggregatePayload(entry[1], context, walk, state);
  }

  #aggregatePayload(
    payload: Payload,
    context: TransformationSubtype,
    walk: (child: unknown, childContext: TransformationSubtype) => void,
    state: WalkState,
  ): void {
    state.aggregate = true;
    const aggregated = isDirect(context) ? 'AGGREGATION' : context;
    for (const [key, child] of Object.entries(payload)) {
      if (key === 'name' || key === 'original_name' || key === 'span') continue;
      if (key === 'filter') walk(child, isDirect(context) ? 'FILTER' : context);
      else if (key === 'order_by') walk(child, isDirect(context) ? 'SORT' : context);
      else walk(child, aggregated);
    }
  }

  #windowFunction(
    payload: Payload,
    context: TransformationSubtype,
    walk: (child: unknown, childContext: TransformationSubtype) => void,
    scope: Scope,
  ): void {
    // An aggregate over a window does not group the query: its own flag is not kept.
    const inner: WalkState = { aggregate: false };
    const fn = payload['this'];
    if (isObject(fn)) {
      const entry = nodeKind(fn);
      const name =
        entry === undefined
          ? ''
          : entry[0] === 'function' || entry[0] === 'aggregate_function'
            ? String((entry[1] as Payload | null)?.['name'])
            : entry[0];
      if (entry !== undefined && (entry[0] === 'aggregate_function' || isAggregateFunction(name))) {
        if (!isObject(entry[1])) return unsupported('a window aggregate of unknown shape');
        this.#aggregatePayload(entry[1], context, walk, inner);
      } else {
        walk(fn, isDirect(context) ? composeSubtype(context, 'TRANSFORMATION') : context);
      }
    }
    const over = payload['over'];
    if (!isObject(over)) return unsupported('a window function without OVER');
    const windowed = isDirect(context) ? 'WINDOW' : context;
    const specs: Payload[] = [over];
    let named = over['window_name'];
    while (isPresent(named)) {
      const name = nameAsStored(identifier(named, 'a window name'), this.#dialect);
      const spec = this.#namedWindow(scope, name);
      specs.push(spec);
      named = spec['window_name'];
    }
    for (const spec of specs) {
      for (const [key, child] of Object.entries(spec)) {
        if (key === 'window_name' || key === 'alias' || key === 'span') continue;
        walk(child, windowed);
      }
    }
  }

  #namedWindow(scope: Scope, name: string): Payload {
    for (let current: Scope | undefined = scope; current; current = current.parent) {
      const spec = current.windows.get(name);
      if (spec !== undefined) return spec;
    }
    throw new Unresolvable('unknown-column', `window ${JSON.stringify(name)} is not defined`);
  }

  /**
   * A subquery inside an expression: its output column's edges take the expression's context;
   * what decides its rows (its dataset edges) becomes per-field INDIRECT for the output.
   */
  #subqueryExpression(
    query: unknown,
    context: TransformationSubtype,
    scope: Scope,
    ctes: readonly CTE[],
    out: EdgeSet,
    existsOnly: boolean,
  ): void {
    const relation = this.#resolveQuery(query, ctes, scope);
    if (!existsOnly) {
      if (relation.columns.length !== 1) {
        throw new Unresolvable(
          'unsupported-construct',
          `a subquery used as a value returns ${relation.columns.length} columns`,
        );
      }
      addComposed(out, (relation.columns[0] as RelationColumn).edges, context);
    }
    addComposed(out, relation.datasetEdges, isDirect(context) ? 'IDENTITY' : context);
  }
}
