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
export function compileSQL(
  step: SQLStep,
  params: Readonly<Record<string, string>>,
  dialect: SQLDialect = DUCKDB,
): string {
  let text = step.strings[0] ?? '';
  step.values.forEach((value, i) => {
    text += renderValue(value, params, dialect) + (step.strings[i + 1] ?? '');
  });
  return text.trim().replace(/;\s*$/, '');
}

/**
 * How refs and strings are written in the SQL a step runs in (DuckDB, or a warehouse).
 *
 * @example
 * ```ts
 * const dialect: SQLDialect = { relation: (id) => tables.get(id)!, literal: quoteLiteral };
 * ```
 */
export interface SQLDialect {
  /** The relation a `ref()` to this step reads. */
  relation(stepId: string): string;
  literal(text: string): string;
}

const DUCKDB: SQLDialect = { relation: quoteIdentifier, literal: quoteLiteral };

function renderValue(
  value: SQLTemplateValue,
  params: Readonly<Record<string, string>>,
  dialect: SQLDialect,
): string {
  if (isDatasetRef(value)) return dialect.relation(value.stepId);
  if (isParamRef(value)) {
    const bound = Object.hasOwn(params, value.name) ? params[value.name] : undefined;
    if (bound === undefined)
      throw new SluiceError('CONFIG_INVALID', `param("${value.name}") has no value`);
    return dialect.literal(bound);
  }
  switch (typeof value) {
    case 'string':
      return dialect.literal(value);
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
