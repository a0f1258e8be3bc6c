import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import type { ResultFormat, SuiteResult } from '../../quality/expectation.js';
import { suiteFromGX } from '../../quality/suite.js';
import { validateDataFile } from '../../quality/validate-data-file.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import { validateSpec } from '../specs/validate.js';

const RESULT_FORMATS: readonly ResultFormat[] = ['BOOLEAN_ONLY', 'BASIC', 'SUMMARY', 'COMPLETE'];

/**
 * `sluice validate <data-file> --suite <suite.json>`: runs a Great Expectations suite on a data
 * file and prints the result. Exit 0 when the suite passes, 1 when it fails, 2 on bad usage or
 * unreadable input.
 *
 * @example
 * ```sh
 * sluice validate orders.csv --suite orders.json --format json --result-format SUMMARY
 * ```
 */
export const validateCommand: Command = {
  ...validateSpec,
  async run(args, options, io) {
    const format = String(options['format'] ?? 'text');
    const json = format === 'json';
    try {
      if (format !== 'json' && format !== 'text')
        throw new UsageError(`--format must be json or text, got "${format}"`);
      const resultFormat = String(options['resultFormat'] ?? 'BASIC').toUpperCase() as ResultFormat;
      if (!RESULT_FORMATS.includes(resultFormat)) {
        throw new UsageError(
          `--result-format must be one of ${RESULT_FORMATS.join(', ')}, got "${String(options['resultFormat'])}"`,
        );
      }
      const suitePath = options['suite'];
      if (typeof suitePath !== 'string') throw new UsageError('--suite <suite.json> is required');
      const suite = suiteFromGX(await readSuite(resolve(io.cwd, suitePath)), 'suite');
      const validation = await validateDataFile(resolve(io.cwd, args[0] as string), suite, {
        resultFormat,
        stateDir: resolve(io.cwd, String(options['stateDir'] ?? '.sluice')),
      });
      const { result } = validation;
      if (json) {
        io.stdout(
          `${JSON.stringify({ success: result.success, statistics: result.statistics, results: result.results, suite_name: result.suite_name, quality_score: result.quality_score, rows_read: validation.rowsRead, rows_unreadable: validation.rowsUnreadable }, null, 2)}\n`,
        );
      } else {
        io.stdout(
          formatSuiteResult(
            result,
            validation.rowsRead,
            validation.rowsUnreadable,
            validation.quarantineFile,
          ),
        );
      }
      return result.success ? ExitCode.success : ExitCode.runFailed;
    } catch (error) {
      // Unreadable input is a usage problem here (exit 2), as the contract says.
      const code = presentError(error, io, { json });
      return code === ExitCode.runFailed ? ExitCode.badUsage : code;
    }
  },
};

async function readSuite(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new UsageError(`cannot read suite ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new UsageError(`suite ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

function formatSuiteResult(
  result: SuiteResult,
  rowsRead: number,
  rowsUnreadable: number,
  quarantineFile: string | undefined,
): string {
  const { statistics } = result;
  const lines = [
    `Suite "${result.suite_name}": ${result.success ? 'PASSED' : 'FAILED'} (${statistics.successful_expectations}/${statistics.evaluated_expectations} expectations, quality score ${result.quality_score === null ? '-' : result.quality_score.toFixed(1)})`,
    `Rows read: ${rowsRead}${rowsUnreadable > 0 ? `, ${rowsUnreadable} unreadable (set aside in ${quarantineFile ?? 'the quarantine'})` : ''}`,
    '',
  ];
  for (const r of result.results) {
    const mark = r.success ? 'ok  ' : 'FAIL';
    let detail = '';
    if (r.exception_info.raised_exception)
      detail = `error: ${r.exception_info.exception_message ?? ''}`;
    else if (r.result.unexpected_count !== undefined) {
      const sample = r.result.partial_unexpected_list ?? [];
      detail = `${r.result.unexpected_count} unexpected of ${r.result.element_count ?? '?'}${sample.length > 0 ? `, e.g. ${JSON.stringify(sample.slice(0, 5))}` : ''}`;
    } else if (r.result.observed_value !== undefined)
      detail = `observed ${JSON.stringify(r.result.observed_value)}`;
    lines.push(`${mark} ${r.expectation_config.id}${detail === '' ? '' : `: ${detail}`}`);
  }
  return `${lines.join('\n')}\n`;
}
