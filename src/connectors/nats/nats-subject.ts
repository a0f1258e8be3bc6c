/** A subject template split into fixed text and `{column}` parts. */
export interface SubjectTemplate {
  readonly parts: readonly (string | { readonly column: string })[];
  /** What is wrong with the template, when something is. */
  readonly problem?: string;
}

/**
 * Splits a subject template such as `totals.{region}` into fixed text and column parts, and says
 * what is wrong with it when it cannot make valid subjects.
 *
 * @example
 * ```ts
 * parseSubjectTemplate('totals.{region}').parts; // ['totals.', { column: 'region' }]
 * ```
 */
export function parseSubjectTemplate(text: string): SubjectTemplate {
  const parts: (string | { column: string })[] = [];
  let rest = text;
  while (rest !== '') {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (open === -1 && close === -1) {
      parts.push(rest);
      break;
    }
    if (close !== -1 && (open === -1 || close < open)) {
      return { parts, problem: `"}" without "{" in subject template "${text}"` };
    }
    if (close === -1) return { parts, problem: `"{" without "}" in subject template "${text}"` };
    const column = rest.slice(open + 1, close).trim();
    if (column === '' || column.includes('{')) {
      return { parts, problem: `"{${column}}" names no column in subject template "${text}"` };
    }
    if (open > 0) parts.push(rest.slice(0, open));
    parts.push({ column });
    rest = rest.slice(close + 1);
  }
  const sample = parts.map((part) => (typeof part === 'string' ? part : 'x')).join('');
  const problem = subjectProblem(sample);
  return problem === undefined ? { parts } : { parts, problem: `subject template: ${problem}` };
}

/**
 * What makes `subject` unusable for publishing (empty tokens, whitespace, wildcards), or
 * undefined when it is fine.
 *
 * @example
 * ```ts
 * subjectProblem('orders..eu'); // 'subject "orders..eu" has an empty token'
 * ```
 */
export function subjectProblem(subject: string): string | undefined {
  if (/\s/.test(subject)) return `subject "${subject}" holds whitespace`;
  const tokens = subject.split('.');
  if (tokens.some((token) => token === '')) return `subject "${subject}" has an empty token`;
  if (tokens.some((token) => token === '*' || token === '>')) {
    return `subject "${subject}" holds a wildcard ("*" or ">"); messages are published to plain subjects`;
  }
  return undefined;
}

/**
 * Makes a function that fills a parsed template from a row. It returns the subject, or a
 * problem naming the column when the row cannot fill it (missing, null, not a scalar, or a
 * value that makes an invalid subject).
 *
 * @example
 * ```ts
 * compileSubject(parseSubjectTemplate('totals.{region}'))({ region: 'eu' }); // { subject: 'totals.eu' }
 * ```
 */
export function compileSubject(
  template: SubjectTemplate,
): (row: Readonly<Record<string, unknown>>) => { subject: string } | { problem: string } {
  const { parts } = template;
  if (parts.every((part) => typeof part === 'string')) {
    const subject = parts.join('');
    return () => ({ subject });
  }
  return (row) => {
    let subject = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        subject += part;
        continue;
      }
      const value = row[part.column];
      if (value === undefined || value === null) {
        return { problem: `column "${part.column}" of the subject template is missing or null` };
      }
      if (
        typeof value !== 'string' &&
        typeof value !== 'number' &&
        typeof value !== 'bigint' &&
        typeof value !== 'boolean'
      ) {
        return {
          problem: `column "${part.column}" of the subject template holds a ${describeType(value)}, not text or a number`,
        };
      }
      subject += String(value);
    }
    const problem = subjectProblem(subject);
    return problem === undefined ? { subject } : { problem };
  };
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'date';
  return typeof value;
}
