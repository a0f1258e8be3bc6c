import { ExpectationArgumentError } from './compile-context.js';

/**
 * The value of a suite parameter expression: a number, an instant (a `Date`, read as UTC) or a
 * duration in milliseconds.
 */
type Value =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'datetime'; readonly ms: number }
  | { readonly kind: 'timedelta'; readonly ms: number };

/** Inputs of {@link evaluateSuiteParameter} and {@link resolveSuiteParameters}. */
export interface SuiteParameterOptions {
  /** What `now()` returns (default: the current time). */
  readonly now?: Date;
  /** Named parameters an expression may use by name (GX `suite_parameters`). */
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** Longer expressions are refused (they are typed by people; this bounds the parser's recursion). */
const MAX_EXPRESSION_LENGTH = 1000;

const TIMEDELTA_UNITS: Readonly<Record<string, number>> = {
  weeks: 7 * 86_400_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
};

type Token =
  | { readonly kind: 'number'; readonly value: number; readonly at: number }
  | { readonly kind: 'name'; readonly value: string; readonly at: number }
  | { readonly kind: 'symbol'; readonly value: string; readonly at: number }
  | { readonly kind: 'end'; readonly at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const number = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (number !== null) {
      tokens.push({ kind: 'number', value: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (name !== null) {
      tokens.push({ kind: 'name', value: name[0], at: i });
      i += name[0].length;
      continue;
    }
    if ('+-*/(),='.includes(ch)) {
      tokens.push({ kind: 'symbol', value: ch, at: i });
      i++;
      continue;
    }
    throw syntaxError(text, i, `unexpected character ${JSON.stringify(ch)}`);
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

function syntaxError(text: string, at: number, what: string): ExpectationArgumentError {
  return new ExpectationArgumentError(
    `suite parameter ${JSON.stringify(text)}: ${what} at position ${at}; expressions may use numbers, now(), datetime(y, m, d[, h, min, s]), timedelta(weeks=, days=, hours=, minutes=, seconds=), + - * / and parentheses`,
  );
}

/** A recursive-descent parser and evaluator of GX's suite parameter expressions. */
class Evaluator {
  private position = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly options: SuiteParameterOptions,
  ) {}

  run(): Value {
    const value = this.sum();
    const next = this.peek();
    if (next.kind !== 'end') throw syntaxError(this.text, next.at, 'unexpected text');
    return value;
  }

  private peek(): Token {
    return this.tokens[this.position] as Token;
  }

  private take(): Token {
    return this.tokens[this.position++] as Token;
  }

  private isSymbol(value: string): boolean {
    const token = this.peek();
    return token.kind === 'symbol' && token.value === value;
  }

  private expect(value: string): void {
    const token = this.take();
    if (token.kind !== 'symbol' || token.value !== value)
      throw syntaxError(this.text, token.at, `expected "${value}"`);
  }

  private sum(): Value {
    let left = this.product();
    while (this.isSymbol('+') || this.isSymbol('-')) {
      const operator = (this.take() as { value: string }).value;
      left = this.combine(operator, left, this.product());
    }
    return left;
  }

  private product(): Value {
    let left = this.unary();
    while (this.isSymbol('*') || this.isSymbol('/')) {
      const operator = (this.take() as { value: string }).value;
      left = this.combine(operator, left, this.unary());
    }
    return left;
  }

  private unary(): Value {
    if (this.isSymbol('-')) {
      this.take();
      return this.combine('*', { kind: 'number', value: -1 }, this.unary());
    }
    if (this.isSymbol('+')) {
      this.take();
      return this.unary();
    }
    return this.primary();
  }

  private primary(): Value {
    const token = this.take();
    if (token.kind === 'number') return { kind: 'number', value: token.value };
    if (token.kind === 'symbol' && token.value === '(') {
      const value = this.sum();
      this.expect(')');
      return value;
    }
    if (token.kind !== 'name') throw syntaxError(this.text, token.at, 'expected a value');
    if (!this.isSymbol('(')) return this.named(token.value, token.at);
    this.take();
    const args: Value[] = [];
    const named: Record<string, Value> = {};
    while (!this.isSymbol(')')) {
      const next = this.peek();
      const following = this.tokens[this.position + 1];
      if (next.kind === 'name' && following?.kind === 'symbol' && following.value === '=') {
        this.take();
        this.take();
        if (named[next.value] !== undefined)
          throw syntaxError(this.text, next.at, `"${next.value}" is given twice`);
        named[next.value] = this.sum();
      } else {
        if (Object.keys(named).length > 0)
          throw syntaxError(this.text, next.at, 'a positional argument after a named one');
        args.push(this.sum());
      }
      if (!this.isSymbol(',')) break;
      this.take();
    }
    this.expect(')');
    return this.call(token.value, token.at, args, named);
  }

  private named(name: string, at: number): Value {
    const value = this.options.parameters?.[name];
    if (value === undefined)
      throw syntaxError(this.text, at, `unknown name "${name}" (no suite parameter of that name)`);
    if (typeof value === 'number') return { kind: 'number', value };
    if (value instanceof Date) return { kind: 'datetime', ms: value.getTime() };
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value)))
      return { kind: 'datetime', ms: Date.parse(value) };
    throw syntaxError(this.text, at, `suite parameter "${name}" is not a number or a datetime`);
  }

  private call(name: string, at: number, args: Value[], named: Record<string, Value>): Value {
    const numbers = (values: Value[]): number[] =>
      values.map((v) => {
        if (v.kind !== 'number')
          throw syntaxError(this.text, at, `${name}() takes numbers, got a ${v.kind}`);
        return v.value;
      });
    switch (name) {
      case 'now':
        if (args.length > 0 || Object.keys(named).length > 0)
          throw syntaxError(this.text, at, 'now() takes no arguments');
        return { kind: 'datetime', ms: (this.options.now ?? new Date()).getTime() };
      case 'datetime': {
        const order = ['year', 'month', 'day', 'hour', 'minute', 'second', 'microsecond'];
        const parts = numbers(args);
        for (const [key, value] of Object.entries(named)) {
          const index = order.indexOf(key);
          if (index < 0 || parts[index] !== undefined)
            throw syntaxError(this.text, at, `datetime() has no argument "${key}" here`);
          parts[index] = numbers([value])[0] as number;
        }
        if (parts.length > order.length || [0, 1, 2].some((i) => parts[i] === undefined))
          throw syntaxError(this.text, at, 'datetime() needs year, month and day');
        const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micro = 0] = parts;
        if (
          parts.some((p) => p !== undefined && !Number.isInteger(p)) ||
          month < 1 ||
          month > 12 ||
          day < 1 ||
          day > new Date(Date.UTC(year, month, 0)).getUTCDate() ||
          hour > 23 ||
          minute > 59 ||
          second > 59 ||
          micro > 999_999 ||
          [hour, minute, second, micro].some((p) => p < 0)
        )
          throw syntaxError(this.text, at, `datetime(${parts.join(', ')}) is not a valid date`);
        const date = new Date(0);
        date.setUTCFullYear(year, month - 1, day);
        date.setUTCHours(hour, minute, second, Math.floor(micro / 1000));
        return { kind: 'datetime', ms: date.getTime() };
      }
      case 'timedelta': {
        if (args.length > 0)
          throw syntaxError(this.text, at, 'timedelta() takes named arguments such as days=1');
        let ms = 0;
        for (const [key, value] of Object.entries(named)) {
          const unit = TIMEDELTA_UNITS[key];
          if (unit === undefined)
            throw syntaxError(
              this.text,
              at,
              `timedelta() has no argument "${key}"; use ${Object.keys(TIMEDELTA_UNITS).join(', ')}`,
            );
          ms += (numbers([value])[0] as number) * unit;
        }
        return { kind: 'timedelta', ms };
      }
      default:
        throw syntaxError(this.text, at, `unknown function ${name}()`);
    }
  }

  private combine(operator: string, left: Value, right: Value): Value {
    const fail = (): never => {
      throw new ExpectationArgumentError(
        `suite parameter ${JSON.stringify(this.text)}: cannot apply "${operator}" to a ${left.kind} and a ${right.kind}`,
      );
    };
    if (left.kind === 'number' && right.kind === 'number') {
      if (operator === '/' && right.value === 0)
        throw new ExpectationArgumentError(
          `suite parameter ${JSON.stringify(this.text)}: division by zero`,
        );
      const value =
        operator === '+'
          ? left.value + right.value
          : operator === '-'
            ? left.value - right.value
            : operator === '*'
              ? left.value * right.value
              : left.value / right.value;
      return { kind: 'number', value };
    }
    if (operator === '+' || operator === '-') {
      const sign = operator === '+' ? 1 : -1;
      if (left.kind === 'datetime' && right.kind === 'timedelta')
        return { kind: 'datetime', ms: left.ms + sign * right.ms };
      if (left.kind === 'timedelta' && right.kind === 'datetime' && sign === 1)
        return { kind: 'datetime', ms: left.ms + right.ms };
      if (left.kind === 'timedelta' && right.kind === 'timedelta')
        return { kind: 'timedelta', ms: left.ms + sign * right.ms };
      if (left.kind === 'datetime' && right.kind === 'datetime' && sign === -1)
        return { kind: 'timedelta', ms: left.ms - right.ms };
      return fail();
    }
    if (left.kind === 'timedelta' && right.kind === 'number')
      return {
        kind: 'timedelta',
        ms: operator === '*' ? left.ms * right.value : left.ms / right.value,
      };
    if (left.kind === 'number' && right.kind === 'timedelta' && operator === '*')
      return { kind: 'timedelta', ms: left.value * right.ms };
    return fail();
  }
}

/**
 * Evaluates a Great Expectations suite parameter expression (the text of `{"$PARAMETER": ...}`)
 * with a small parser of its grammar: numbers, `now()`, `datetime(y, m, d[, h, min, s])`,
 * `timedelta(weeks=, days=, hours=, minutes=, seconds=)`, `+ - * /` and parentheses. Nothing is
 * ever evaluated as code. Datetimes are UTC; the result is a number or a `Date`.
 *
 * @example
 * ```ts
 * evaluateSuiteParameter('now() - timedelta(days=1)', { now: new Date('2026-01-02T00:00:00Z') });
 * // Date 2026-01-01T00:00:00.000Z
 * ```
 */
export function evaluateSuiteParameter(
  expression: string,
  options: SuiteParameterOptions = {},
): number | Date {
  if (expression.length > MAX_EXPRESSION_LENGTH)
    throw new ExpectationArgumentError(
      `a suite parameter expression is at most ${MAX_EXPRESSION_LENGTH} characters, got ${expression.length}`,
    );
  const value = new Evaluator(expression, tokenize(expression), options).run();
  if (value.kind === 'number') return value.value;
  if (value.kind === 'datetime') {
    const date = new Date(value.ms);
    if (Number.isNaN(date.getTime()))
      throw new ExpectationArgumentError(
        `suite parameter ${JSON.stringify(expression)} is outside the range of dates`,
      );
    return date;
  }
  throw new ExpectationArgumentError(
    `suite parameter ${JSON.stringify(expression)} is a duration; add it to a datetime, e.g. now() - timedelta(days=1)`,
  );
}

/** Whether a kwarg value is a GX suite parameter reference `{"$PARAMETER": "..."}`. */
export function isSuiteParameter(value: unknown): value is { readonly $PARAMETER: unknown } {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    Object.keys(value).length === 1 &&
    '$PARAMETER' in value
  );
}

/**
 * The kwargs with every top-level `{"$PARAMETER": "expression"}` replaced by its value (see
 * {@link evaluateSuiteParameter}); the same object when there is none.
 *
 * @example
 * ```ts
 * resolveSuiteParameters({ column: 'ts', max_value: { $PARAMETER: 'now()' } });
 * // { column: 'ts', max_value: Date(now) }
 * ```
 */
export function resolveSuiteParameters(
  kwargs: Readonly<Record<string, unknown>>,
  options: SuiteParameterOptions = {},
): Readonly<Record<string, unknown>> {
  if (!Object.values(kwargs).some(isSuiteParameter)) return kwargs;
  const now = options.now ?? new Date();
  return Object.fromEntries(
    Object.entries(kwargs).map(([key, value]) => {
      if (!isSuiteParameter(value)) return [key, value];
      const expression = value.$PARAMETER;
      if (typeof expression !== 'string')
        throw new ExpectationArgumentError(`"${key}": $PARAMETER must be a string expression`);
      return [key, evaluateSuiteParameter(expression, { ...options, now })];
    }),
  );
}
