import type { StreamRow } from '../../stream/stream-connector.js';

type TemplatePart = { readonly text: string } | { readonly column: string };

/**
 * A key (or topic) with `{column}` placeholders filled from each row; `{{` and `}}` stand for
 * literal braces. A row without a value for a placeholder's column gets `undefined`, so the
 * caller can refuse it before writing anything.
 *
 * @example
 * ```ts
 * const template = KeyTemplate.parse('alerts:{region}');
 * template.render({ region: 'eu' }); // "alerts:eu"
 * ```
 */
export class KeyTemplate {
  readonly #parts: readonly TemplatePart[];
  /** The columns the template reads. */
  readonly columns: readonly string[];

  private constructor(parts: readonly TemplatePart[]) {
    this.#parts = parts;
    this.columns = parts.flatMap((part) => ('column' in part ? [part.column] : []));
  }

  /** Parses a template; throws a plain `Error` saying what is wrong with it. */
  static parse(template: string): KeyTemplate {
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
      } else {
        text += char;
      }
    }
    if (text !== '') parts.push({ text });
    return new KeyTemplate(parts);
  }

  /** The key of a row, or `undefined` when a placeholder's column is missing or null. */
  render(row: StreamRow): string | undefined {
    let out = '';
    for (const part of this.#parts) {
      if ('text' in part) {
        out += part.text;
        continue;
      }
      const value = row[part.column];
      if (value === undefined || value === null) return undefined;
      out += value instanceof Date ? value.toISOString() : String(value);
    }
    return out;
  }
}
