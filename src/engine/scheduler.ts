import type { Plan, PlannedStep } from '../plan/planner.js';

/**
 * Runs each step as soon as all its inputs have finished, at most `limit` at a time. Starts no
 * new step once `stopped()` is true, and resolves when every started step has settled.
 * `execute` must not reject: it records a step's failure itself.
 *
 * @example
 * ```ts
 * await scheduleSteps(plan, 4, (step) => execute(step), () => failed);
 * ```
 */
export async function scheduleSteps(
  plan: Plan,
  limit: number,
  execute: (step: PlannedStep) => Promise<void>,
  stopped: () => boolean,
): Promise<void> {
  const position = new Map(plan.steps.map((step, i) => [step.id, i]));
  const waitingOn = new Map(plan.steps.map((step) => [step.id, step.inputs.length]));
  const dependents = new Map<string, PlannedStep[]>();
  for (const step of plan.steps)
    for (const input of step.inputs) {
      const list = dependents.get(input);
      if (list === undefined) dependents.set(input, [step]);
      else list.push(step);
    }
  // Ready steps start in plan order, so the order of independent steps is stable.
  const ready = plan.steps.filter((step) => step.inputs.length === 0);
  const makeReady = (step: PlannedStep): void => {
    const at = position.get(step.id) ?? 0;
    let i = ready.length;
    while (i > 0 && (position.get((ready[i - 1] as PlannedStep).id) ?? 0) > at) i--;
    ready.splice(i, 0, step);
  };
  const finished: string[] = [];
  let wake: (() => void) | undefined;
  let running = 0;
  for (;;) {
    while (!stopped() && running < limit && ready.length > 0) {
      const step = ready.shift() as PlannedStep;
      running += 1;
      void execute(step).then(() => {
        finished.push(step.id);
        wake?.();
      });
    }
    if (running === 0) return;
    if (finished.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    for (const id of finished.splice(0)) {
      running -= 1;
      for (const dependent of dependents.get(id) ?? []) {
        const left = (waitingOn.get(dependent.id) ?? 1) - 1;
        waitingOn.set(dependent.id, left);
        if (left === 0) makeReady(dependent);
      }
    }
  }
}
