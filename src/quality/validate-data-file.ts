import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { newRunId } from '../core/ids.js';
import { readDataFile } from '../connectors/files/read-data-file.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import { QuarantineStore } from '../contracts/quarantine-store.js';
import type { ResultFormat, Suite, SuiteResult } from './expectation.js';
import { validateSuite } from './validate.js';

/** What {@link validateDataFile} returns: the suite result and how the file was read. */
export interface DataFileValidation {
  readonly result: SuiteResult;
  readonly rowsRead: number;
  /** Records the reader could not read at all (they are not part of the validation). */
  readonly rowsUnreadable: number;
  readonly quarantineFile: string | undefined;
}

/**
 * Validates a data file (CSV, TSV, NDJSON, JSON or Parquet, by extension) against a suite on a
 * fresh embedded engine. This is what `sluice validate` runs.
 *
 * @example
 * ```ts
 * const { result } = await validateDataFile('orders.csv', suiteFromGX(json), { resultFormat: 'SUMMARY' });
 * process.exitCode = result.success ? 0 : 1;
 * ```
 */
export async function validateDataFile(
  path: string,
  suite: Suite,
  options: { readonly resultFormat?: ResultFormat; readonly stateDir?: string } = {},
): Promise<DataFileValidation> {
  const runId = newRunId();
  const stateDir = resolve(options.stateDir ?? '.sluice');
  const tempDirectory = join(stateDir, 'tmp', runId);
  await mkdir(tempDirectory, { recursive: true });
  const quarantine = new QuarantineStore(join(stateDir, 'runs', runId, 'quarantine'), runId);
  const session = await DuckDBSession.create({ tempDirectory });
  try {
    const data = await readDataFile(session, resolve(path), { stepId: 'data', runId, quarantine });
    const connection = await session.connect('validate');
    const result = await validateSuite(
      { connection, relation: data.relation, columns: data.fields },
      suite,
      options.resultFormat === undefined ? {} : { resultFormat: options.resultFormat },
    );
    return {
      result,
      rowsRead: data.rowsRead,
      rowsUnreadable: data.rowsQuarantined,
      quarantineFile: data.rowsQuarantined > 0 ? quarantine.pathFor('data') : undefined,
    };
  } finally {
    session.close();
    await rm(tempDirectory, { recursive: true, force: true });
  }
}
