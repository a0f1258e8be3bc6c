import type { LogicalType } from '../core/types.js';
import { quoteIdentifier } from '../core/type-mappings.js';
import { ExpectationArgumentError, sqlLiteral } from './compile-context.js';
import { comparedAs, isMixed, orderedAs, valueIfType } from './mixed-values.js';

const PARSERS: readonly string[] = [
  'pandas',
  'great_expectations',
  'great_expectations__experimental__',
  'spark',
  'sql',
];

const NUMBER_KINDS = new Set([
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'float32',
  'float64',
  'decimal',
]);

/** The type of a column by name, when known, so comparisons follow the column's type. */
export type ColumnTypes = (name: string) => LogicalType | undefined;

/**
 * Turns a GX `row_condition` into a SQL predicate.
 *
 * With `condition_parser` `pandas` or `great_expectations` the condition is parsed as that
 * grammar (columns as names or `col("name")`, literals, `== != < <= > >=`, `&`/`and`, `|`/`or`,
 * `~`/`not`, parentheses, `.isnull()`/`.notnull()`) and compared as pandas does: `&` and `|` bind
 * after comparisons, a comparison with a missing value is false (`!=` true), and a column
 * holding values of several types compares value by value (`y == "abc"` is false for the
 * number 9; `y > 5` raises on text). A condition the grammar does not cover, or one for another
 * parser, is read as SQL after the same operator spellings are translated, so a suite written
 * for Sluice may use SQL directly.
 *
 * @example
 * ```ts
 * translateRowCondition('col("status")=="paid"', 'great_expectations'); // coalesce("status" = 'paid', false)
 * ```
 */
export function translateRowCondition(
  condition: unknown,
  parser: unknown,
  types: ColumnTypes = () => undefined,
): string {
  if (typeof condition !== 'string' || condition.trim() === '') {
    throw new ExpectationArgumentError('row_condition must be a non-empty string');
  }
  if (parser !== undefined && parser !== null && !PARSERS.includes(parser as string)) {
    throw new ExpectationArgumentError(
      `condition_parser ${JSON.stringify(parser)} is not a valid enumeration member; use one of ${PARSERS.join(', ')}`,
    );
  }
  if (
    parser === 'pandas' ||
    (typeof parser === 'string' && parser.startsWith('great_expectations'))
  ) {
    const parsed = parsePandasCondition(condition, types);
    if (parsed !== undefined) return parsed;
  }
  return translateAsSQL(condition);
}

function translateAsSQL(condition: string): string {
  return condition
    .replace(/\s&\s/g, ' AND ')
    .replace(/\s\|\s/g, ' OR ')
    .replace(/~\s*\(/g, 'NOT (')
    .replace(
      /col\(\s*"((?:[^"\\]|\\.)*)"\s*\)|col\(\s*'((?:[^'\\]|\\.)*)'\s*\)/g,
      (_m, a: string | undefined, b: string | undefined) =>
        `"${(a ?? b ?? '').replaceAll('"', '""')}"`,
    )
    .replace(/"((?:[^"]|"")*)"\.notnull\(\)/g, '"$1" IS NOT NULL')
    .replace(/"((?:[^"]|"")*)"\.isnull\(\)/g, '"$1" IS NULL')
    .replace(/([A-Za-z_][A-Za-z0-9_]*)\.notnull\(\)/g, '"$1" IS NOT NULL')
    .replace(/([A-Za-z_][A-Za-z0-9_]*)\.isnull\(\)/g, '"$1" IS NULL')
    .replace(/==/g, '=')
    .replace(/!=/g, '<>')
    .replace(
      /(=|<>|<|>)\s*"([^"]*)"/g,
      (_m, op: string, text: string) => `${op} '${text.replaceAll("'", "''")}'`,
    );
}

type Token =
  | { readonly kind: 'op'; readonly value: string }
  | { readonly kind: 'name'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'end' };

const OPERATORS = ['==', '!=', '<=', '>=', '<', '>', '&', '|', '~', '(', ')', '.', '-'];

function tokenize(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space !== null) {
      i += space[0].length;
      continue;
    }
    const string = /^"((?:[^"\\]|\\.)*)"|^'((?:[^'\\]|\\.)*)'/.exec(rest);
    if (string !== null) {
      const body = string[1] ?? string[2] ?? '';
      tokens.push({ kind: 'string', value: body.replace(/\\(.)/g, '$1') });
      i += string[0].length;
      continue;
    }
    const number = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(rest);
    if (number !== null) {
      tokens.push({ kind: 'number', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const backtick = /^`([^`]+)`/.exec(rest);
    if (backtick !== null) {
      tokens.push({ kind: 'name', value: backtick[1] as string });
      i += backtick[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (name !== null) {
      tokens.push({ kind: 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op === undefined) return undefined;
    tokens.push({ kind: 'op', value: op });
    i += op.length;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

/** An operand: a column (with its type) or a literal. */
type Operand =
  | { readonly kind: 'column'; readonly name: string }
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'predicate'; readonly sql: string };

class NotInGrammar extends Error {}

class ConditionParser {
  private position = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly types: ColumnTypes,
  ) {}

  parse(): string {
    const sql = this.or();
    if (this.peek().kind !== 'end') throw new NotInGrammar();
    return sql;
  }

  private peek(): Token {
    return this.tokens[this.position] as Token;
  }

  private take(): Token {
    return this.tokens[this.position++] as Token;
  }

  private isOp(value: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === value;
  }

  private isWord(value: string): boolean {
    const t = this.peek();
    return t.kind === 'name' && t.value === value;
  }

  private expectOp(value: string): void {
    if (!this.isOp(value)) throw new NotInGrammar();
    this.take();
  }

  private or(): string {
    const parts = [this.and()];
    while (this.isOp('|') || this.isWord('or')) {
      this.take();
      parts.push(this.and());
    }
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`;
  }

  private and(): string {
    const parts = [this.not()];
    while (this.isOp('&') || this.isWord('and')) {
      this.take();
      parts.push(this.not());
    }
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`;
  }

  private not(): string {
    if (this.isOp('~') || this.isWord('not')) {
      this.take();
      return `(NOT ${this.not()})`;
    }
    return this.comparison();
  }

  private comparison(): string {
    const left = this.operand();
    const t = this.peek();
    if (t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.value)) {
      this.take();
      return this.compare(left, t.value, this.operand());
    }
    if (left.kind === 'predicate') return left.sql;
    if (left.kind === 'column') return `coalesce(${quoteIdentifier(left.name)}, false)`;
    throw new NotInGrammar();
  }

  private operand(): Operand {
    const t = this.take();
    if (t.kind === 'op' && t.value === '(') {
      const sql = this.or();
      this.expectOp(')');
      return { kind: 'predicate', sql };
    }
    if (t.kind === 'string') return { kind: 'literal', value: t.value };
    if (t.kind === 'number') return { kind: 'literal', value: t.value };
    if (t.kind === 'op' && t.value === '-') {
      const number = this.take();
      if (number.kind !== 'number') throw new NotInGrammar();
      return { kind: 'literal', value: -number.value };
    }
    if (t.kind !== 'name') throw new NotInGrammar();
    if (t.value === 'True' || t.value === 'False')
      return { kind: 'literal', value: t.value === 'True' };
    if (t.value === 'None') return { kind: 'literal', value: null };
    let name = t.value;
    if (t.value === 'col' && this.isOp('(')) {
      this.take();
      const inner = this.take();
      if (inner.kind !== 'string') throw new NotInGrammar();
      this.expectOp(')');
      name = inner.value;
    }
    if (this.isOp('.')) {
      this.take();
      const method = this.take();
      if (method.kind !== 'name') throw new NotInGrammar();
      this.expectOp('(');
      this.expectOp(')');
      const m = method.value.toLowerCase();
      const column = quoteIdentifier(name);
      if (m === 'isnull' || m === 'isna') return { kind: 'predicate', sql: `(${column} IS NULL)` };
      if (m === 'notnull' || m === 'notna')
        return { kind: 'predicate', sql: `(${column} IS NOT NULL)` };
      throw new NotInGrammar();
    }
    return { kind: 'column', name };
  }

  /** The column's name when a typed (not mixed) column meets a literal of another type. */
  private typeMismatch(left: Operand, right: Operand): string | undefined {
    if (left.kind !== 'column' || right.kind !== 'literal' || right.value === null)
      return undefined;
    const type = this.types(left.name);
    if (type === undefined) return undefined;
    const columnAs = NUMBER_KINDS.has(type.kind)
      ? 'number'
      : type.kind === 'string'
        ? 'text'
        : undefined;
    if (columnAs === undefined) return undefined;
    const literalAs = comparedAs(right.value);
    return literalAs === columnAs ? undefined : left.name;
  }

  private compare(left: Operand, operator: string, right: Operand): string {
    if (left.kind === 'predicate' || right.kind === 'predicate') throw new NotInGrammar();
    // A literal on the left reads as the mirrored comparison.
    if (left.kind === 'literal' && right.kind === 'column') {
      const mirror: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
      return this.compare(right, mirror[operator] ?? operator, left);
    }
    const sqlOperator = operator === '==' ? '=' : operator === '!=' ? '=' : operator;
    const negate = operator === '!=';
    const side = (operand: Operand, other: Operand): string => {
      if (operand.kind === 'literal') return sqlLiteral(operand.value);
      const column = quoteIdentifier((operand as { name: string }).name);
      const type = this.types((operand as { name: string }).name);
      if (type === undefined || !isMixed(type) || other.kind !== 'literal') return column;
      const as = comparedAs(other.value);
      return operator === '==' || operator === '!='
        ? valueIfType(column, as)
        : orderedAs(column, (operand as { name: string }).name, as);
    };
    const mismatch = this.typeMismatch(left, right);
    if (mismatch !== undefined) {
      if (operator === '==' || operator === '!=') return negate ? 'true' : 'false';
      throw new ExpectationArgumentError(
        `row_condition compares column "${mismatch}" with ${JSON.stringify((right as { value: unknown }).value)}, a value of another type; only == and != compare across types`,
      );
    }
    if (right.kind === 'literal' && right.value === null) {
      // Python: x == None is false for every value in pandas; x != None true.
      return negate ? 'true' : 'false';
    }
    const comparison = `coalesce(${side(left, right)} ${sqlOperator} ${side(right, left)}, false)`;
    return negate ? `(NOT ${comparison})` : comparison;
  }
}

function parsePandasCondition(condition: string, types: ColumnTypes): string | undefined {
  const tokens = tokenize(condition);
  if (tokens === undefined) return undefined;
  try {
    return new ConditionParser(tokens, types).parse();
  } catch (error) {
    if (error instanceof NotInGrammar) return undefined;
    if (error instanceof RangeError)
      throw new ExpectationArgumentError('row_condition nests too deeply to read');
    throw error;
  }
}
