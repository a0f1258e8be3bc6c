import { basename, dirname } from 'node:path';
import { UsageError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import type { BatchSourceConnector } from '../../contracts/batch-connector.js';
import type { DuckDBSession } from '../../contracts/duckdb-session.js';
import type { QuarantineStore } from '../../contracts/quarantine-store.js';
import { silentLogger } from '../../core/logger.js';
import { csvSource, tsvSource } from './csv-source.js';
import { jsonSource, ndjsonSource } from '../shared/json-source.js';
import { parquetSource } from './parquet-source.js';

/** A data file loaded as a dataset of a session. */
export interface LoadedDataFile {
  /** The quoted name of the dataset. */
  readonly relation: string;
  readonly fields: readonly Field[];
  readonly rowsRead: number;
  readonly rowsQuarantined: number;
}

const BY_EXTENSION: readonly [RegExp, BatchSourceConnector<never>][] = [
  [/\.csv(\.gz|\.zst)?$/i, csvSource as unknown as BatchSourceConnector<never>],
  [/\.tsv(\.gz|\.zst)?$/i, tsvSource as unknown as BatchSourceConnector<never>],
  [/\.(ndjson|jsonl)(\.gz|\.zst)?$/i, ndjsonSource as unknown as BatchSourceConnector<never>],
  [/\.json(\.gz|\.zst)?$/i, jsonSource as unknown as BatchSourceConnector<never>],
  [/\.parquet$/i, parquetSource as unknown as BatchSourceConnector<never>],
];

/**
 * Loads one data file into a session with the file source its extension names (CSV, TSV,
 * NDJSON/JSONL, JSON, Parquet; `.gz`/`.zst` for the text formats), inferring the schema. Records
 * the source cannot read are quarantined and counted, as in a pipeline.
 *
 * @example
 * ```ts
 * const data = await readDataFile(session, 'orders.csv', { stepId: 'data', runId, quarantine });
 * await validateSuite({ connection, relation: data.relation, columns: data.fields }, suite);
 * ```
 */
export async function readDataFile(
  session: DuckDBSession,
  path: string,
  options: {
    readonly stepId: string;
    readonly runId: string;
    readonly quarantine: QuarantineStore;
  },
): Promise<LoadedDataFile> {
  const source = BY_EXTENSION.find(([pattern]) => pattern.test(path))?.[1];
  if (source === undefined) {
    throw new UsageError(`cannot tell the format of ${basename(path)} from its extension`, {
      hint: 'use .csv, .tsv, .ndjson, .jsonl, .json or .parquet (text formats may end in .gz or .zst)',
    });
  }
  const connection = await session.connect(options.stepId);
  const config = source.config.parse({ path }) as never;
  const result = await source.read(config, {
    stepId: options.stepId,
    runId: options.runId,
    baseDir: dirname(path),
    stateDir: dirname(path),
    connection,
    extractedAt: new Date(),
    quarantine: options.quarantine,
    logger: silentLogger,
    signal: new AbortController().signal,
  });
  return {
    relation: `"${options.stepId.replaceAll('"', '""')}"`,
    fields: result.fields,
    rowsRead: result.rowsRead,
    rowsQuarantined: result.rowsQuarantined,
  };
}
