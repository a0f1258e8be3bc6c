/**
 * Semantic kinds detected in string columns by `sluice profile`: each kind is a regular
 * expression (RE2 for DuckDB, and written in the subset Python's `re` reads the same way, so a
 * suggested `expect_column_values_to_match_regex` ports to Great Expectations) plus, for some
 * kinds, extra checks in SQL that a regex cannot express (Luhn for card numbers).
 */

/** Every semantic kind the profiler looks for. */
export type SemanticKind =
  | 'email'
  | 'url'
  | 'uuid'
  | 'ipv4'
  | 'ipv6'
  | 'ip'
  | 'credit_card'
  | 'phone'
  | 'iso_date'
  | 'iso_datetime';

/** How one kind is recognised. */
export interface SemanticKindDefinition {
  /** One line for docs and the text report. */
  readonly description: string;
  /**
   * Anchored regular expression a matching value satisfies. Suggested suites use it as is;
   * detection may add checks on top (see {@link semanticPredicate}).
   */
  readonly regex: string;
  /**
   * Kinds that, when also detected on the same column, make this one redundant (`ip` is only
   * reported when neither `ipv4` nor `ipv6` is).
   */
  readonly supersededBy?: readonly SemanticKind[];
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_BODY = `(${OCTET}\\.){3}${OCTET}`;
const H = '[0-9A-Fa-f]{1,4}';
const IPV6_BODY = [
  `(${H}:){7}${H}`,
  `(${H}:){1,7}:`,
  `(${H}:){1,6}:${H}`,
  `(${H}:){1,5}(:${H}){1,2}`,
  `(${H}:){1,4}(:${H}){1,3}`,
  `(${H}:){1,3}(:${H}){1,4}`,
  `(${H}:){1,2}(:${H}){1,5}`,
  `${H}:(:${H}){1,6}`,
  `:((:${H}){1,7}|:)`,
  `::([fF]{4}(:0{1,4})?:)?${IPV4_BODY}`,
  `(${H}:){1,4}:${IPV4_BODY}`,
].join('|');
const DATE_BODY = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])';
const TIME_BODY =
  '([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?';

/**
 * The definition of every kind, keyed by kind so a new kind does not compile until it has one.
 * Kinds are listed from most to least specific; the text report keeps this order.
 */
export const SEMANTIC_KINDS: { readonly [K in SemanticKind]: SemanticKindDefinition } = {
  email: {
    description: 'e-mail address (local@domain.tld)',
    regex: "^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$",
  },
  url: {
    description: 'http, https or ftp URL',
    regex: '^(https?|ftp)://[^\\s/?#]+([/?#]\\S*)?$',
  },
  uuid: {
    description: 'UUID in 8-4-4-4-12 hex form (any version)',
    regex: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$',
  },
  ipv4: {
    description: 'IPv4 address in dotted-quad form',
    regex: `^${IPV4_BODY}$`,
  },
  ipv6: {
    description: 'IPv6 address (full, compressed or with an embedded IPv4 tail)',
    regex: `^(${IPV6_BODY})$`,
  },
  ip: {
    description: 'IP address, v4 or v6 (a column mixing both)',
    regex: `^(${IPV4_BODY}|${IPV6_BODY})$`,
    supersededBy: ['ipv4', 'ipv6'],
  },
  credit_card: {
    description: 'payment card number: 13-19 digits, optionally grouped, passing the Luhn check',
    regex: '^[0-9]([ -]?[0-9]){12,18}$',
  },
  phone: {
    description:
      'phone number: E.164 (+4420...) or grouped digits ((555) 123-4567, +44 20 7946 0958), 7-15 digits, not shaped like a date or an IPv4 address',
    regex:
      '^(\\+[1-9][0-9]{6,14}|(\\+[0-9]{1,3}[ .-]?)?(\\([0-9]{1,4}\\)[ .-]?[0-9]{2,4}([ .-]?[0-9]{2,4}){1,3}|[0-9]{1,4}([ .-][0-9]{2,4}){2,4}))$',
  },
  iso_date: {
    description: 'ISO 8601 calendar date (2026-03-01)',
    regex: `^${DATE_BODY}$`,
  },
  iso_datetime: {
    description: 'ISO 8601 date and time (2026-03-01T09:52:00Z, 2026-03-01 09:52)',
    regex: `^${DATE_BODY}[T ]${TIME_BODY}$`,
  },
};

/** Every kind, in report order. */
export const SEMANTIC_KIND_NAMES = Object.keys(SEMANTIC_KINDS) as SemanticKind[];

/** Date-shaped (2026-03-01, 01.03.2026) and IPv4-shaped values are not phone numbers. */
const NOT_PHONE =
  '[0-9]{4}[.-][0-9]{1,2}[.-][0-9]{1,2}|[0-9]{1,2}[.-][0-9]{1,2}[.-][0-9]{4}|[0-9]{1,3}(\\.[0-9]{1,3}){3}';

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const matches = (value: string, kind: SemanticKind): string =>
  `regexp_full_match(${value}, ${sqlString(SEMANTIC_KINDS[kind].regex)})`;

/**
 * Luhn checksum over a string of digits, in SQL: from the right, every second digit is doubled
 * (minus 9 when that exceeds 9); the sum must be a multiple of 10.
 */
function luhnSQL(digits: string): string {
  const digit = `CAST(${digits}[length(${digits}) - i] AS INTEGER)`;
  return `(list_sum(list_transform(range(length(${digits})), lambda i: CASE WHEN i % 2 = 0 THEN ${digit} ELSE ${digit} * 2 - CASE WHEN ${digit} >= 5 THEN 9 ELSE 0 END END)) % 10 = 0)`;
}

/**
 * A SQL boolean expression: whether the non-null string `value` is of `kind`. Cheap checks
 * (length, a required character) come first inside a CASE, so the regex runs only on plausible
 * values; DuckDB evaluates a CASE branch only for the rows that reach it.
 *
 * @example
 * ```ts
 * `count(*) FILTER (WHERE ${semanticPredicate('"email"', 'email')})`;
 * ```
 */
export function semanticPredicate(value: string, kind: SemanticKind): string {
  const length = `length(${value})`;
  switch (kind) {
    case 'email':
      return `CASE WHEN contains(${value}, '@') THEN ${matches(value, kind)} ELSE false END`;
    case 'url':
      return `CASE WHEN contains(${value}, '://') THEN ${matches(value, kind)} ELSE false END`;
    case 'uuid':
      return `CASE WHEN ${length} = 36 THEN ${matches(value, kind)} ELSE false END`;
    case 'ipv4':
      return `CASE WHEN ${length} BETWEEN 7 AND 15 THEN ${matches(value, kind)} ELSE false END`;
    case 'ipv6':
      return `CASE WHEN contains(${value}, ':') AND ${length} <= 45 THEN ${matches(value, kind)} ELSE false END`;
    case 'ip':
      return `CASE WHEN ${length} BETWEEN 2 AND 45 THEN ${matches(value, kind)} ELSE false END`;
    case 'credit_card': {
      const digits = `regexp_replace(${value}, '[^0-9]', '', 'g')`;
      return `CASE WHEN ${length} BETWEEN 13 AND 37 AND ${matches(value, kind)} THEN ${luhnSQL(digits)} ELSE false END`;
    }
    case 'phone': {
      const digitCount = `length(regexp_replace(${value}, '[^0-9]', '', 'g'))`;
      return `CASE WHEN ${length} BETWEEN 7 AND 24 AND ${matches(value, kind)}
        THEN ${digitCount} BETWEEN 7 AND 15 AND NOT regexp_full_match(${value}, ${sqlString(NOT_PHONE)})
        ELSE false END`;
    }
    case 'iso_date':
      return `CASE WHEN ${length} = 10 THEN ${matches(value, kind)} ELSE false END`;
    case 'iso_datetime':
      return `CASE WHEN ${length} BETWEEN 16 AND 35 THEN ${matches(value, kind)} ELSE false END`;
  }
}
