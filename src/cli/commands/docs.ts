import { relative, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { buildDataDocs } from '../../observe/data-docs.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import { docsSpec } from '../specs/docs.js';

/**
 * `sluice docs`: writes the data docs, a static HTML site of every checked dataset's quality
 * (latest suite result, failed samples, quality score and metric history charts, recent runs),
 * from the run reports and metric history in the state folder. Exit 0 when the site was written
 * (also when there is nothing to show yet), 2 when the state folder is missing or the output
 * folder cannot be replaced.
 *
 * @example
 * ```sh
 * sluice docs --state-dir .sluice --out public/data-docs
 * ```
 */
export const docsCommand: Command = {
  ...docsSpec,
  async run(_args, options, io) {
    const json = options['json'] === true;
    try {
      const runsPerDataset = Number(options['runsPerDataset'] ?? '200');
      if (!Number.isInteger(runsPerDataset) || runsPerDataset <= 0) {
        throw new UsageError(
          `--runs-per-dataset must be a positive integer, got "${String(options['runsPerDataset'])}"`,
        );
      }
      const stateDir = resolve(io.cwd, String(options['stateDir'] ?? '.sluice'));
      const out = options['out'];
      const result = await buildDataDocs({
        stateDir,
        runsPerDataset,
        ...(typeof out === 'string' ? { outDir: resolve(io.cwd, out) } : {}),
      });
      if (json) {
        io.stdout(`${JSON.stringify({ status: 'success', ...result }, null, 2)}\n`);
        return ExitCode.success;
      }
      const shown = (path: string): string => {
        const rel = relative(io.cwd, path);
        return rel === '' || rel.startsWith('..') ? path : rel;
      };
      const lines: string[] = [];
      if (result.runsRead === 0) {
        lines.push(
          `No run reports in ${shown(stateDir)}/runs yet: wrote an index that says so.`,
          'Run a pipeline with a check step (sluice run <file>), then sluice docs again.',
        );
      } else {
        const failing = result.datasets.filter((d) => !d.success).length;
        lines.push(
          `Data docs for ${result.datasets.length} dataset(s) from ${result.runsRead} run report(s)${result.datasets.length > 0 ? `, ${failing} failing their latest validation` : ''}, in ${(result.durationMs / 1000).toFixed(2)}s.`,
        );
        for (const d of result.datasets) {
          const score = d.qualityScore === null ? '-' : d.qualityScore.toFixed(1);
          lines.push(
            `  ${d.success ? 'passed' : 'FAILED'}  ${score.padStart(5)}  ${d.name} (${d.runs} run(s))`,
          );
        }
      }
      lines.push(`Open ${shown(result.indexFile)}`);
      io.stdout(`${lines.join('\n')}\n`);
      if (result.reportsSkipped > 0) {
        io.stderr(
          `note: skipped ${result.reportsSkipped} file(s) in ${shown(stateDir)}/runs that are not usable run reports, e.g. ${result.skipped
            .slice(0, 3)
            .map((s) => `${s.file} (${s.reason})`)
            .join('; ')}\n`,
        );
      }
      return ExitCode.success;
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};
