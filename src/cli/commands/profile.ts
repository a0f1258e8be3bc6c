import { basename } from 'node:path';
import { SchemaMismatchError, SourceError, UsageError } from '../../core/errors.js';
import { profileFile } from '../../quality/profile-file.js';
import { formatProfile } from '../../quality/profile-format.js';
import { renderSuiteTS, suggestSuite } from '../../quality/profile-suggest.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import { profileSpec } from '../specs/profile.js';

/**
 * `sluice profile <data-file>`: profiles a CSV, TSV, NDJSON, JSON or Parquet file and prints the
 * profile (a table, or JSON), or with `--suggest` a starting expectation suite.
 *
 * @example
 * ```sh
 * sluice profile data/orders.csv --suggest --suggest-format ts > orders.suite.ts
 * ```
 */
export const profileCommand: Command = {
  ...profileSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      const file = args[0] as string;
      const suggest = options['suggest'] === true;
      const format = suggestFormat(options['suggestFormat'], suggest, json);
      if (options['suiteName'] !== undefined && !suggest) {
        throw new UsageError('--suite-name only applies with --suggest');
      }
      if (options['exact'] === true && options['approximate'] === true) {
        throw new UsageError('--exact and --approximate exclude each other; pick one');
      }
      const mode =
        options['exact'] === true
          ? 'exact'
          : options['approximate'] === true
            ? 'approximate'
            : 'auto';
      const profile = await profileFile(file, { baseDir: io.cwd, mode });
      if (!suggest) {
        io.stdout(json ? `${JSON.stringify(profile, null, 2)}\n` : formatProfile(profile));
        return ExitCode.success;
      }
      const name = String(options['suiteName'] ?? suiteNameOf(file));
      const suite = suggestSuite(profile, { name });
      io.stdout(
        format === 'ts'
          ? renderSuiteTS(suite, { source: file })
          : `${JSON.stringify(suite, null, 2)}\n`,
      );
      if (profile.source.rowsQuarantined > 0) {
        io.stderr(
          `note: ${profile.source.rowsQuarantined} record(s) of ${file} could not be read and are not covered by the suggestion; run sluice profile ${file} to see why\n`,
        );
      }
      return ExitCode.success;
    } catch (error) {
      const code = presentError(error, io, { json });
      // A file that is missing, unreadable or not in the format its extension says is bad input.
      return error instanceof SourceError || error instanceof SchemaMismatchError
        ? ExitCode.badUsage
        : code;
    }
  },
};

function suggestFormat(value: unknown, suggest: boolean, json: boolean): 'json' | 'ts' {
  if (value === undefined) return 'json';
  if (!suggest) throw new UsageError('--suggest-format only applies with --suggest');
  if (value !== 'json' && value !== 'ts') {
    throw new UsageError(`--suggest-format must be json or ts, got "${String(value)}"`);
  }
  if (value === 'ts' && json) {
    throw new UsageError('--json prints the suite as JSON; drop it to get --suggest-format ts');
  }
  return value;
}

/** `data/orders-2026-03.ndjson.gz` becomes `orders-2026-03`. */
function suiteNameOf(file: string): string {
  const name = basename(file).replace(/\.(gz|zst)$/i, '');
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
