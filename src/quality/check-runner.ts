import { QualityGateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Field } from '../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { QuarantineStore } from '../contracts/quarantine-store.js';
import type { Suite, SuiteResult } from './expectation.js';
import type { ValidationTarget } from './validate.js';
import { quarantineRules, validateSuite } from './validate.js';

/** Inputs of {@link runCheck}. */
export interface CheckRun {
  readonly connection: EngineConnection;
  readonly stepId: string;
  /** Quoted name of the dataset to check. */
  readonly input: string;
  readonly fields: readonly Field[];
  readonly suite: Suite;
  readonly quarantine: QuarantineStore;
  readonly logger: Logger;
  /** Relations of the pipeline's other datasets, for relationships and cross-table counts. */
  readonly datasets: (name: string) => string | undefined;
  /** Earlier runs' values of a metric of this dataset, for anomaly expectations. */
  readonly history?: ValidationTarget['history'];
}

/** What a check leaves behind. */
export interface CheckOutcome {
  readonly result: SuiteResult;
  readonly rowsQuarantined: number;
}

/**
 * Runs a suite as a gate on a dataset and creates the step's dataset (a view named after the
 * step): the input without the rows failing `quarantine` expectations, which go to the
 * quarantine store with the expectation ids as the reason. Throws {@link QualityGateError} when
 * an `error` expectation failed; `warn` failures are logged.
 *
 * @example
 * ```ts
 * const { result } = await runCheck({ connection, stepId: 'orders_ok', input: '"orders"', fields, suite, quarantine, logger, datasets });
 * ```
 */
export async function runCheck(options: CheckRun): Promise<CheckOutcome> {
  const { connection, stepId, fields } = options;
  const columns = fields.map((f) => quoteIdentifier(f.name)).join(', ');
  // One instant for suite parameters (now()), so quarantine and results agree at the boundary.
  const now = new Date();
  const rules = quarantineRules(options.suite, fields, options.datasets, now);
  let relation = options.input;
  let rowsQuarantined = 0;
  if (rules.length === 0) {
    await connection.run(
      `CREATE VIEW ${quoteIdentifier(stepId)} AS SELECT * FROM ${options.input}`,
    );
  } else {
    const table = quoteIdentifier(`__sluice_checked_${stepId}`);
    const flags = rules.map((rule, i) => `${rule.failing} AS __sluice_q${i}`).join(', ');
    const failing = rules.map((_, i) => `__sluice_q${i}`).join(' OR ');
    await connection.run(`CREATE TABLE ${table} AS SELECT *, ${flags} FROM ${options.input}`);
    const reasons = rules
      .map((rule, i) => `CASE WHEN __sluice_q${i} THEN ${quoteLiteral(rule.reason)} END`)
      .join(', ');
    rowsQuarantined = await options.quarantine.writeQuery(
      connection,
      stepId,
      `SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS line, CAST(NULL AS VARCHAR) AS "column",
              concat_ws('; ', ${reasons}) AS reason,
              to_json(struct_pack(${fields.map((f) => `${quoteIdentifier(f.name)} := ${quoteIdentifier(f.name)}`).join(', ')})) AS record
       FROM ${table} WHERE ${failing}`,
    );
    await connection.run(
      `CREATE VIEW ${quoteIdentifier(stepId)} AS SELECT ${columns} FROM ${table} WHERE NOT (${failing})`,
    );
    relation = `(SELECT ${columns} FROM ${table})`;
  }
  const result = await validateSuite(
    {
      connection,
      relation,
      columns: fields,
      datasets: options.datasets,
      ...(options.history === undefined ? {} : { history: options.history }),
    },
    options.suite,
    { now },
  );
  const failed = result.results.filter((r) => !r.success);
  for (const r of failed.filter((r) => r.expectation_config.severity === 'warn')) {
    options.logger.warn(
      { expectation: r.expectation_config.id, result: summarizeFailure(r) },
      'expectation failed (warn)',
    );
  }
  const errors = failed.filter((r) => r.expectation_config.severity === 'error');
  if (errors.length > 0) {
    throw new QualityGateError(
      stepId,
      errors.map((r) => `${r.expectation_config.id}: ${summarizeFailure(r)}`),
      result,
    );
  }
  return { result, rowsQuarantined };
}

function summarizeFailure(r: SuiteResult['results'][number]): string {
  if (r.exception_info.raised_exception)
    return `error: ${r.exception_info.exception_message ?? ''}`;
  const {
    unexpected_count: unexpected,
    element_count: elements,
    observed_value: observed,
  } = r.result;
  if (unexpected !== undefined) return `${unexpected} of ${elements ?? '?'} rows unexpected`;
  return `observed ${JSON.stringify(observed)}`;
}
