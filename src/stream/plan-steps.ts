import type { Diagnostic } from '../core/errors.js';
import { expectRowsProblems } from './expect-operator.js';
import { resolveKeys } from './key-by.js';
import type { OperatorSpec } from './operator-spec.js';

/**
 * Checks a stream's steps and resolves them for the runtime: keyed steps get the key of the
 * `keyBy` before them, `expectRows` suites are checked for expectations a record cannot answer.
 * Every problem goes to `problem`.
 *
 * @example
 * ```ts
 * const operators = planSteps(definition.steps ?? [], (code, message, extra) => problems.push({ code, message, ...extra }));
 * ```
 */
export function planSteps(
  steps: readonly OperatorSpec[],
  problem: (code: string, message: string, extra?: Partial<Diagnostic>) => void,
): OperatorSpec[] {
  steps.forEach((step, i) => {
    if (step.kind !== 'expect') return;
    for (const p of expectRowsProblems(step.suite, `steps[${i}]`))
      problem(p.code, p.message, {
        ...(p.path === undefined ? {} : { path: p.path }),
        ...(p.hint === undefined ? {} : { hint: p.hint }),
      });
  });
  return resolveKeys(steps, (message, path, hint) =>
    problem('invalid-config', message, { path, hint }),
  );
}
