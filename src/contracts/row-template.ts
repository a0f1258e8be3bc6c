import { ownValue } from '../core/own-keys.js';
import type { StreamRow } from './stream-connector.js';

type TemplatePart = { readonly text: string } | { readonly column: string };

/** Why a row has no rendering: a column without a value, or a value the target cannot hold. */
export type TemplateProblem =
  | { readonly kind: 'missing'; readonly column: string }
  | { readonly kind: 'invalid'; readonly column: string; readonly value: string };

/**
 * A name (a stream key, a topic, a subject) with `{column}` placeholders filled from each row;
 * `{{` and `}}` stand for literal braces. `forbidden` names characters the target cannot hold
 * (in the template's text and in values), such as MQTT's wildcards.
 *
 * @example
 * ```ts
 * const template = RowTemplate.parse('alerts:{region}');
 * template.render({ region: 'eu' }); // "alerts:eu"
 * ```
 */
export class RowTemplate {
  readonly #parts: readonly TemplatePart[];
  readonly #forbidden: (text: string) => boolean;
  /** The columns the template reads. */
  readonly columns: readonly string[];

  private constructor(parts: readonly TemplatePart[], forbidden: (text: string) => boolean) {
    this.#parts = parts;
    this.#forbidden = forbidden;
    this.columns = parts.flatMap((part) => ('column' in part ? [part.column] : []));
  }

  /** Parses a template; throws a plain `Error` saying what is wrong with it. */
  static parse(
    template: string,
    options: { readonly forbidden?: (text: string) => boolean; readonly what?: string } = {},
  ): RowTemplate {
    const forbidden = options.forbidden ?? (() => false);
    const parts: TemplatePart[] = [];
    let text = '';
    for (let i = 0; i < template.length; i += 1) {
      const char = template[i] as string;
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
      } else if (forbidden(char)) {
        throw new Error(
          `"${template}" holds "${char}", which ${options.what ?? 'a name'} cannot hold`,
        );
      } else {
        text += char;
      }
    }
    if (text !== '') parts.push({ text });
    return new RowTemplate(parts, forbidden);
  }

  /** The name for a row, or why it has none. Dates render as ISO-8601 text. */
  render(row: StreamRow): string | TemplateProblem {
    let out = '';
    for (const part of this.#parts) {
      if ('text' in part) {
        out += part.text;
        continue;
      }
      const value = ownValue(row, part.column);
      if (value === undefined || value === null) return { kind: 'missing', column: part.column };
      const text = value instanceof Date ? value.toISOString() : String(value);
      if (this.#forbidden(text)) return { kind: 'invalid', column: part.column, value: text };
      out += text;
    }
    return out;
  }
}
