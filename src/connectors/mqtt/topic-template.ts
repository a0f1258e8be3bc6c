import type { StreamRow } from '../../stream/stream-connector.js';

type TemplatePart = { readonly text: string } | { readonly column: string };

/** Whether a topic name to publish to cannot hold `text`: it has a wildcard or NUL. */
function notInTopic(text: string): boolean {
  return text.includes('+') || text.includes('#') || text.includes(String.fromCharCode(0));
}

/** Why a row has no topic: a column without a value, or a value a topic cannot hold. */
export type TopicProblem =
  | { readonly kind: 'missing'; readonly column: string }
  | { readonly kind: 'invalid'; readonly column: string; readonly value: string };

/**
 * A topic with `{column}` placeholders filled from each row; `{{` and `}}` stand for literal
 * braces. Values may hold `/` (they add topic levels) but not the wildcards `+` and `#`.
 *
 * @example
 * ```ts
 * const template = TopicTemplate.parse('alerts/{region}');
 * template.render({ region: 'eu' }); // "alerts/eu"
 * ```
 */
export class TopicTemplate {
  readonly #parts: readonly TemplatePart[];

  private constructor(parts: readonly TemplatePart[]) {
    this.#parts = parts;
  }

  /** Parses a template; throws a plain `Error` saying what is wrong with it. */
  static parse(template: string): TopicTemplate {
    const parts: TemplatePart[] = [];
    let text = '';
    for (let i = 0; i < template.length; i += 1) {
      const char = template[i]!;
      if ((char === '{' || char === '}') && template[i + 1] === char) {
        text += char;
        i += 1;
      } else if (char === '{') {
        const end = template.indexOf('}', i);
        const column = end < 0 ? '' : template.slice(i + 1, end);
        if (column === '' || column.includes('{')) {
          throw new Error(
            `"${template}" has a "{" at ${i} without a column name and "}" after it (write "{{" for a literal brace)`,
          );
        }
        if (text !== '') parts.push({ text });
        text = '';
        parts.push({ column });
        i = end;
      } else if (char === '}') {
        throw new Error(
          `"${template}" has a "}" at ${i} without "{" (write "}}" for a literal brace)`,
        );
      } else if (notInTopic(char)) {
        throw new Error(
          `"${template}" holds "${char}": a topic to publish to cannot hold wildcards`,
        );
      } else {
        text += char;
      }
    }
    if (text !== '') parts.push({ text });
    return new TopicTemplate(parts);
  }

  /** The topic of a row, or why it has none. */
  render(row: StreamRow): string | TopicProblem {
    let out = '';
    for (const part of this.#parts) {
      if ('text' in part) {
        out += part.text;
        continue;
      }
      const value = row[part.column];
      if (value === undefined || value === null) return { kind: 'missing', column: part.column };
      const text = value instanceof Date ? value.toISOString() : String(value);
      if (notInTopic(text)) return { kind: 'invalid', column: part.column, value: text };
      out += text;
    }
    return out;
  }
}
