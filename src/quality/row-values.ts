/**
 * How row checks read a single value the way the catalog's SQL does: comparisons, the text of a
 * value, lengths, regexes and LIKE patterns.
 */

/**
 * Compares two non-null values like GX and the engine compare a column with a literal: numbers
 * numerically, text by code point (ISO-8601 timestamps of one format thus sort by time),
 * Dates by time (with ISO-8601 text on the other side), booleans false before true. Undefined
 * when the kinds do not compare.
 *
 * @example
 * ```ts
 * compareValues(2, 10); // negative
 * compareValues('b', 'a'); // positive
 * compareValues('5', 5); // undefined
 * ```
 */
export function compareValues(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' || typeof a === 'bigint') {
    if (typeof b !== 'number' && typeof b !== 'bigint') return undefined;
    const x = Number(a);
    const y = Number(b);
    if (x !== x || y !== y) return (x !== x ? 1 : 0) - (y !== y ? 1 : 0);
    return x - y;
  }
  if (typeof a === 'string') {
    if (b instanceof Date) return compareTimes(isoTime(a), b.getTime());
    if (typeof b !== 'string') return undefined;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (a instanceof Date) {
    if (b instanceof Date) return a.getTime() - b.getTime();
    if (typeof b === 'string') return compareTimes(a.getTime(), isoTime(b));
    return undefined;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return undefined;
}

function compareTimes(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Epoch ms of ISO-8601 text; without a zone the time is read as UTC, as the engine does. */
function isoTime(text: string): number | undefined {
  const m = ISO_TIME.exec(text);
  if (m === null) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ?? ''}${zoneOf(m[8])}`;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? undefined : time;
}

/** An ISO-8601 zone as `Date.parse` reads it: none is UTC; `+02` and `+0200` become `+02:00`. */
function zoneOf(zone: string | undefined): string {
  if (zone === undefined || zone === 'Z') return 'Z';
  const digits = zone.slice(1).replace(':', '');
  return `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2, 4) || '00'}`;
}

/**
 * A value as the engine casts it to text (`CAST(x AS VARCHAR)`).
 *
 * @example
 * ```ts
 * textOf(1.5); // '1.5'
 * textOf(true); // 'true'
 * ```
 */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date)
    return value
      .toISOString()
      .replace('T', ' ')
      .replace(/(\.000)?Z$/, '');
  return JSON.stringify(value) ?? '';
}

/**
 * A key that is equal for equal values (1 and 1.0 alike; 1 and '1' not).
 *
 * @example
 * ```ts
 * identity(1) === identity(1.0); // true
 * identity(1) === identity('1'); // false
 * ```
 */
export function identity(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return `n${Number(value)}`;
  if (typeof value === 'string') return `s${value}`;
  if (value instanceof Date) return `d${value.getTime()}`;
  return `j${JSON.stringify(value)}`;
}

/**
 * The length of text in characters (code points), as the engine counts it.
 *
 * @example
 * ```ts
 * codePoints('😀x'); // 2
 * ```
 */
export function codePoints(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) length--;
  }
  return length;
}

const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/**
 * Whether text is JSON; NaN and Infinity count, as Python's json.loads reads them.
 *
 * @example
 * ```ts
 * isJSON('{"a":1}'); // true
 * isJSON('NaN'); // true
 * isJSON('{a:1}'); // false
 * ```
 */
export function isJSON(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return NON_FINITE.has(text.trim());
  }
}

/**
 * A regex as GX writes them (Python `re`) for JavaScript: named groups `(?P<name>...)`, leading
 * inline flags `(?i)`, and the anchors `\A`, `\Z`, `\z`. Throws a SyntaxError for an invalid one.
 *
 * @example
 * ```ts
 * pythonRegex('(?i)^abc').test('ABC'); // true
 * ```
 */
export function pythonRegex(source: string): RegExp {
  let flags = '';
  let body = source.replace(/^\(\?([imsx]+)\)/, (_m, f: string) => {
    flags = [...new Set(f.replace('x', ''))].join('');
    return '';
  });
  body = body
    .replaceAll('(?P<', '(?<')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replaceAll('\\A', '^')
    .replace(/\\[Zz]/g, '$');
  return new RegExp(body, flags);
}

/**
 * SQL LIKE as an anchored regex: `%` any text, `_` one character, no escape character.
 *
 * @example
 * ```ts
 * likeRegex('a_c%').test('abcd'); // true
 * ```
 */
export function likeRegex(pattern: string): RegExp {
  let body = '';
  for (const char of pattern) {
    if (char === '%') body += '[\\s\\S]*';
    else if (char === '_') body += '[\\s\\S]';
    else body += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${body}$`, 'u');
}

/**
 * What kind of value this is, for messages: `a number`, `text`, `a timestamp`...
 *
 * @example
 * ```ts
 * kindOf('x'); // 'text'
 * ```
 */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'bigint') return 'a number';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'a boolean';
  if (value instanceof Date) return 'a timestamp';
  return Array.isArray(value) ? 'a list' : 'an object';
}

/**
 * A value for messages, cut at 80 characters.
 *
 * @example
 * ```ts
 * show('GBP'); // '"GBP"'
 * ```
 */
export function show(value: unknown): string {
  const text =
    value === undefined
      ? 'null'
      : typeof value === 'bigint'
        ? value.toString()
        : value instanceof Date
          ? value.toISOString()
          : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
