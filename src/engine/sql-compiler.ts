import { SluiceError } from '../core/errors.js';
import { quoteIdentifier, quoteLiteral } from '../core/type-mappings.js';
import { isDatasetRef, isParamRef } from '../define/ref.js';
import type { SQLStep, SQLTemplateValue } from '../define/steps.js';

/**
 * Turns a `sql` template into DuckDB SQL: `ref()`s become quoted dataset names, `param()`s and
 * plain values become escaped literals, so no value is ever pasted as SQL.
 *
 * @example
 * ```ts
 * compileSQL(sql`select * from ${ref('orders')} where region = ${param('region')}`, { region: 'EU' });
 * // select * from "orders" where region = 'EU'
 * ```
 */
export function compileSQL(step: SQLStep, params: Readonly<Record<string, string>>): string {
  let text = step.strings[0] ?? '';
  step.values.forEach((value, i) => {
    text += renderValue(value, params) + (step.strings[i + 1] ?? '');
  });
  return text.trim().replace(/;\s*$/, '');
}

function renderValue(value: SQLTemplateValue, params: Readonly<Record<string, string>>): string {
  if (isDatasetRef(value)) return quoteIdentifier(value.stepId);
  if (isParamRef(value)) {
    const bound = params[value.name];
    if (bound === undefined)
      throw new SluiceError('CONFIG_INVALID', `param("${value.name}") has no value`);
    return quoteLiteral(bound);
  }
  switch (typeof value) {
    case 'string':
      return quoteLiteral(value);
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value))
        throw new SluiceError('CONFIG_INVALID', `cannot use ${value} in SQL`);
      return String(value);
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    default:
      return 'NULL';
  }
}
