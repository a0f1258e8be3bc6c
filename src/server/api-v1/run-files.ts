import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isValidStepId } from '../../core/ids.js';
import type { RunReport } from '../../observe/run-report.js';

/** One quarantined record as the API shows it. */
export interface QuarantineSample {
  readonly step: string;
  readonly reason: string;
  readonly record: string;
}

/** A run id safe to use as a folder name under `<stateDir>/runs` (no separators, no dots only). */
function safeRunId(runId: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,256}$/.test(runId) && !/^\.+$/.test(runId);
}

/**
 * The run report a run wrote to `<stateDir>/runs/<runId>.json`, or undefined when there is none
 * (queued, never started, or written on another machine).
 *
 * @example
 * ```ts
 * const report = await readRunReport(project.stateDir, run.id);
 * ```
 */
export async function readRunReport(
  stateDir: string,
  runId: string,
): Promise<RunReport | undefined> {
  if (!safeRunId(runId)) return undefined;
  try {
    return JSON.parse(await readFile(join(stateDir, 'runs', `${runId}.json`), 'utf8')) as RunReport;
  } catch {
    return undefined;
  }
}

/**
 * The first `limit` records a run quarantined (of one step, or of all in step order) with their
 * reasons, and how many there are in all. Reads `<stateDir>/runs/<runId>/quarantine/<step>.ndjson`
 * line by line, so a large file is counted without being held in memory.
 *
 * @example
 * ```ts
 * const { samples, total } = await readQuarantine(project.stateDir, run.id, undefined, 100);
 * ```
 */
export async function readQuarantine(
  stateDir: string,
  runId: string,
  step: string | undefined,
  limit: number,
): Promise<{ samples: QuarantineSample[]; total: number }> {
  const samples: QuarantineSample[] = [];
  let total = 0;
  if (!safeRunId(runId)) return { samples, total };
  const folder = join(stateDir, 'runs', runId, 'quarantine');
  const files = (await readdir(folder).catch(() => [] as string[]))
    .filter((file) => file.endsWith('.ndjson'))
    .map((file) => file.slice(0, -'.ndjson'.length))
    .filter((id) => isValidStepId(id) && (step === undefined || id === step))
    .sort();
  for (const id of files) {
    const lines = createInterface({
      input: createReadStream(join(folder, `${id}.ndjson`), 'utf8'),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      total += 1;
      if (samples.length >= limit) continue;
      samples.push(sampleOf(id, line));
    }
  }
  return { samples, total };
}

function sampleOf(step: string, line: string): QuarantineSample {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { step, reason: 'unreadable quarantine line', record: line };
  }
  const value = entry['record'];
  const record =
    typeof value === 'string'
      ? entry['record_encoding'] === 'base64'
        ? Buffer.from(value, 'base64').toString('utf8')
        : value
      : JSON.stringify(value);
  return { step, reason: String(entry['reason'] ?? ''), record };
}
