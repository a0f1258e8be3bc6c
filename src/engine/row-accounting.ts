import { RowsUnaccountedError } from '../core/errors.js';
import type { SourceReadResult } from '../contracts/batch-connector.js';

/**
 * Fails a source step whose parser typed or quarantined fewer (or more) records than the input
 * holds by the source's own independent count: a record must never vanish silently.
 *
 * @example
 * ```ts
 * assertSourceAccounted('orders', 'csv', { rowsRead: 5001, recordsInInput: 9999, ... });
 * // throws RowsUnaccountedError (ROWS_UNACCOUNTED)
 * ```
 */
export function assertSourceAccounted(
  stepId: string,
  connector: string,
  result: Pick<SourceReadResult, 'rowsRead' | 'rowsQuarantined' | 'recordsInInput' | 'inputs'>,
): void {
  const expected = result.recordsInInput;
  if (expected === undefined || expected === result.rowsRead) return;
  const typed = result.rowsRead - result.rowsQuarantined;
  throw new RowsUnaccountedError(
    stepId,
    `the input holds ${expected} records by an independent count, but the ${connector} reader accounted for ${result.rowsRead} (${typed} typed + ${result.rowsQuarantined} quarantined); ${Math.abs(expected - result.rowsRead)} ${expected > result.rowsRead ? 'would have been lost' : 'cannot be traced to the input'}, so nothing was loaded`,
    {
      hint: `check the input for malformed records (an unbalanced quote, a broken line) in ${result.inputs.slice(0, 3).join(', ') || 'the source'}; the run's log and quarantine show what was read`,
    },
  );
}

/**
 * Fails a step whose rows do not add up: rows in must equal rows out plus rows quarantined.
 *
 * @example
 * ```ts
 * assertStepAccounted('enrich', { rowsIn: 10, rowsOut: 9, rowsQuarantined: 1 }); // passes
 * ```
 */
export function assertStepAccounted(
  stepId: string,
  counts: {
    readonly rowsIn: number | undefined;
    readonly rowsOut: number | undefined;
    readonly rowsQuarantined: number;
  },
): void {
  const { rowsIn, rowsOut, rowsQuarantined } = counts;
  if (rowsIn === undefined || rowsOut === undefined) return;
  if (rowsIn === rowsOut + rowsQuarantined) return;
  throw new RowsUnaccountedError(
    stepId,
    `rows do not add up: ${rowsIn} in, ${rowsOut} out + ${rowsQuarantined} quarantined (${rowsIn - rowsOut - rowsQuarantined} unaccounted)`,
    {
      hint: 'this is a bug in the step or its connector; the run was stopped so no record is lost',
    },
  );
}
