import type { StepReport } from '../observe/run-report.js';

/**
 * Progress events for displays: a step started, moved rows, or finished; a sink's output was
 * published. A sink finishes when its output is staged; a sink that finished `success` and was
 * not published when the run fails finishes again, `canceled`.
 */
export type StepEvent =
  | { readonly type: 'step-started'; readonly stepId: string; readonly kind: string }
  | {
      readonly type: 'step-rows';
      readonly stepId: string;
      readonly rowsIn: number;
      readonly rowsOut: number;
    }
  | { readonly type: 'step-finished'; readonly step: StepReport }
  | { readonly type: 'step-published'; readonly stepId: string };
