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
  const done = new Set<string>();
  const started = new Set<string>();
  const running = new Map<string, Promise<string>>();
  for (;;) {
    if (!stopped()) {
      for (const step of plan.steps) {
        if (running.size >= limit) break;
        if (started.has(step.id) || !step.inputs.every((i) => done.has(i))) continue;
        started.add(step.id);
        running.set(
          step.id,
          execute(step).then(() => step.id),
        );
      }
    }
    if (running.size === 0) return;
    const finished = await Promise.race(running.values());
    running.delete(finished);
    done.add(finished);
  }
}
