import { basename, dirname, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { defaultRegistry } from '../../registry.js';
import { loadPipelineFile } from '../../plan/load-pipeline-file.js';
import { CONFIG_FILES, Project } from '../../orchestrator/project.js';
import { planPipeline } from '../../plan/planner.js';
import type { Plan } from '../../plan/planner.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import { checkSpec } from '../specs/check.js';

/**
 * `sluice check <file>`: plans without running; prints the DAG, or every problem at once.
 *
 * @example
 * ```sh
 * sluice check pipelines/orders.ts --json
 * ```
 */
export const checkCommand: Command = {
  ...checkSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      const file = resolve(io.cwd, args[0] as string);
      if (CONFIG_FILES.includes(basename(file))) {
        // Opening the project reads sluice.config.ts; its alerts and lineage are checked here.
        const project = await Project.open(dirname(file));
        const alerts = project.alerts();
        const lineage = project.lineage();
        const summary = {
          status: 'ok',
          config: file,
          alerts: {
            rules: alerts.rules?.length ?? 0,
            routes: alerts.routes?.length ?? 0,
            channels: alerts.channels?.length ?? 0,
            maintenance: alerts.maintenance?.length ?? 0,
          },
          lineage: { transports: lineage?.transports?.map((t) => t.type) ?? [] },
        };
        io.stdout(
          json
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `Project config ${file} is valid: ${summary.alerts.rules} alert rules, ${summary.alerts.routes} routes, ${summary.alerts.channels} channels, ${summary.lineage.transports.length} lineage transports\n`,
        );
        return ExitCode.success;
      }
      const pipeline = await loadPipelineFile(file);
      const result = planPipeline(pipeline, { connectors: defaultRegistry.lookup });
      if (!result.ok) return presentError(new ConfigError(result.diagnostics), io, { json });
      io.stdout(
        json ? `${JSON.stringify(planAsJSON(result.plan), null, 2)}\n` : formatPlan(result.plan),
      );
      return ExitCode.success;
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

function planAsJSON(plan: Plan): object {
  return {
    status: 'ok',
    pipeline: plan.pipeline.name,
    params: plan.pipeline.params,
    steps: plan.steps.map((s) => ({
      id: s.id,
      kind: s.kind,
      ...(s.definition.kind === 'source' || s.definition.kind === 'sink'
        ? { connector: s.definition.connector }
        : {}),
      inputs: s.inputs,
      consumers: s.consumers,
      ...(s.definition.declaredAt.file === undefined
        ? {}
        : { declaredAt: s.definition.declaredAt }),
    })),
  };
}

function formatPlan(plan: Plan): string {
  const width = Math.max(...plan.steps.map((s) => s.id.length));
  const lines = plan.steps.map((s) => {
    const kind =
      s.definition.kind === 'source' || s.definition.kind === 'sink'
        ? `${s.kind}:${s.definition.connector}`
        : s.kind;
    const from = s.inputs.length === 0 ? '' : `  <- ${s.inputs.join(', ')}`;
    return `  ${s.id.padEnd(width)}  ${kind.padEnd(16)}${from}`.trimEnd();
  });
  return `Pipeline "${plan.pipeline.name}" is valid: ${plan.steps.length} steps in run order\n${lines.join('\n')}\n`;
}
