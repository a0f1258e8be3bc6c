import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { readDataFile } from '../connectors/files/read-data-file.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import { QuarantineStore } from '../contracts/quarantine-store.js';
import type { DatasetProfile, ProfileOptions } from './profile.js';
import { profileRelation } from './profile.js';

/** How many quarantined records a file profile carries (the count is always complete). */
export const QUARANTINE_SAMPLE_SIZE = 10;

/** A record the file source could not use, so it is not in the profile. */
export interface QuarantinedRecord {
  /** 1-based line in the file, when the reader knows it. */
  readonly line: number | null;
  readonly column: string | null;
  readonly reason: string;
  /** The record, or the raw text of a line that could not be parsed. */
  readonly record: unknown;
}

/** Where a file profile's rows came from, and what the reader set aside. */
export interface ProfiledSource {
  /** The path as given. */
  readonly path: string;
  /** The format read, from the extension: `csv`, `tsv`, `ndjson`, `json`, `parquet`, with `.gz`/`.zst` kept. */
  readonly format: string;
  /** Records in the input, profiled or not: `rowCount + rowsQuarantined`. */
  readonly rowsRead: number;
  /** Records the reader could not use (malformed lines, invalid JSON); not profiled. */
  readonly rowsQuarantined: number;
  /** The first {@link QUARANTINE_SAMPLE_SIZE} of them, with their reasons. */
  readonly quarantined: readonly QuarantinedRecord[];
}

/** The profile of a data file: where it came from, then the {@link DatasetProfile}. */
export interface FileProfile extends DatasetProfile {
  readonly source: ProfiledSource;
}

/** How {@link profileFile} reads and profiles. */
export interface ProfileFileOptions extends ProfileOptions {
  /** Relative paths start here. Default: the process's working directory. */
  readonly baseDir?: string;
  /** DuckDB memory limit, e.g. `2GB`; larger work spills to a temporary folder. */
  readonly memoryLimit?: string;
}

/**
 * Reads a data file with the file source for its extension (schema inferred) and profiles it.
 * Records the source quarantines (malformed CSV lines, invalid JSON lines) are not profiled; they
 * are counted in `source.rowsQuarantined` with a sample and their reasons. Everything runs in a
 * throwaway DuckDB and temporary folder, removed before returning.
 *
 * @example
 * ```ts
 * const profile = await profileFile('data/orders.csv');
 * console.log(profile.rowCount, profile.source.rowsQuarantined);
 * ```
 */
export async function profileFile(
  path: string,
  options: ProfileFileOptions = {},
): Promise<FileProfile> {
  const workDir = await mkdtemp(join(tmpdir(), 'sluice-profile-'));
  let session: DuckDBSession | undefined;
  try {
    session = await DuckDBSession.create({
      tempDirectory: join(workDir, 'spill'),
      ...(options.memoryLimit === undefined ? {} : { memoryLimit: options.memoryLimit }),
    });
    const quarantine = new QuarantineStore(join(workDir, 'quarantine'), 'profile');
    const stepId = 'profile';
    const data = await readDataFile(session, resolve(options.baseDir ?? process.cwd(), path), {
      stepId,
      runId: 'profile',
      quarantine,
    });
    const connection = await session.connect('profile_stats');
    const profile = await profileRelation(connection, data.relation, options);
    const quarantined =
      data.rowsQuarantined === 0
        ? []
        : await readQuarantineSample(quarantine.pathFor(stepId), QUARANTINE_SAMPLE_SIZE);
    return {
      source: {
        path,
        format: formatOf(path),
        rowsRead: data.rowsRead,
        rowsQuarantined: data.rowsQuarantined,
        quarantined,
      },
      ...profile,
    };
  } finally {
    session?.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** `orders.csv` is `csv`, `events.jsonl.gz` is `ndjson.gz`. */
function formatOf(path: string): string {
  const match = /\.(csv|tsv|ndjson|jsonl|json|parquet)(\.gz|\.zst)?$/i.exec(basename(path));
  if (match === null) return 'unknown';
  const format = (match[1] ?? '').toLowerCase();
  return `${format === 'jsonl' ? 'ndjson' : format}${(match[2] ?? '').toLowerCase()}`;
}

async function readQuarantineSample(file: string, limit: number): Promise<QuarantinedRecord[]> {
  const records: QuarantinedRecord[] = [];
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      records.push({
        line: typeof entry['line'] === 'number' ? entry['line'] : null,
        column: typeof entry['column'] === 'string' ? entry['column'] : null,
        reason: String(entry['reason']),
        record: entry['record'],
      });
      if (records.length >= limit) break;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return records;
}
