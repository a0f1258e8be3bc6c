import { UsageError } from '../../core/errors.js';
import {
  MAX_LINEAGE_DEPTH,
  columnLineage,
  datasetLineage,
  lineageImpact,
} from '../../orchestrator/lineage-graph.js';
import type { LineageDirection } from '../../orchestrator/lineage-graph.js';
import { lineageNodeId, resolveLineageArgument } from '../../orchestrator/lineage-node.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import type { LineageFormat } from '../lineage-format.js';
import { formatLineageGraph, formatLineageImpact } from '../lineage-format.js';
import { withProjectStore } from '../orchestrator-options.js';
import { presentError } from '../present-error.js';
import { lineageSpec } from '../specs/lineage.js';

/**
 * `sluice lineage <dataset|dataset.column> [--upstream|--downstream] [--depth N]
 * [--impact] [--json|--dot|--mermaid]`: the dataset graph of a dataset (jobs and datasets), the
 * column graph of a column, or with `--impact` what changes if it changes; read from the run
 * store's lineage.
 *
 * @example
 * ```sh
 * sluice lineage silver_orders --upstream --mermaid
 * sluice lineage raw_orders.amount --impact
 * ```
 */
export const lineageCommand: Command = {
  ...lineageSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      const format = outputFormat(options);
      const direction = directionOf(options);
      const depth = Number(options['depth'] ?? 20);
      if (!Number.isInteger(depth) || depth < 0 || depth > MAX_LINEAGE_DEPTH)
        throw new UsageError(`--depth must be a whole number from 0 to ${MAX_LINEAGE_DEPTH}`);
      const impact = options['impact'] === true;
      if (impact && (format === 'dot' || format === 'mermaid' || direction !== 'both'))
        throw new UsageError('--impact prints text or --json, always downstream', {
          hint: 'for a picture of what is downstream use --downstream --dot (or --mermaid)',
        });
      return await withProjectStore(options, io, async ({ store }) => {
        const node = await resolveLineageArgument(store.db, String(args[0]));
        if (impact) {
          const result = await lineageImpact(store.db, node);
          io.stdout(json ? `${JSON.stringify(result)}\n` : formatLineageImpact(result));
          return ExitCode.success;
        }
        const query = { depth, direction };
        const graph =
          node.kind === 'datasetField'
            ? await columnLineage(store.db, node, query)
            : await datasetLineage(store.db, node, query);
        const title = `${lineageNodeId(node)} (${direction === 'both' ? 'upstream and downstream' : direction}, depth ${depth}): `;
        io.stdout(formatLineageGraph(graph, format, title));
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

function outputFormat(options: Readonly<Record<string, unknown>>): LineageFormat {
  const chosen = (['json', 'dot', 'mermaid'] as const).filter((f) => options[f] === true);
  if (chosen.length > 1)
    throw new UsageError(`choose one output: ${chosen.map((f) => `--${f}`).join(' or ')}`);
  return chosen[0] ?? 'text';
}

function directionOf(options: Readonly<Record<string, unknown>>): LineageDirection {
  const up = options['upstream'] === true;
  const down = options['downstream'] === true;
  return up === down ? 'both' : up ? 'upstream' : 'downstream';
}
