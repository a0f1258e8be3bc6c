import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { glob } from 'tinyglobby';
import type { Pipeline } from '../define/pipeline.js';
import { openTableStore, resolveTableLocation } from '../table/table-store.js';
import type { RunRecord } from './run-types.js';

const FILE_CONNECTORS = new Set(['csv', 'tsv', 'json', 'ndjson', 'parquet']);

/**
 * The cache key of a run: pipeline, code hash, data interval, params and the versions of
 * everything its sources read (each file's size and modification time, each Delta table's
 * latest version, or the version/timestamp it pins). Two runs with the same key do the same
 * work on the same data. Undefined when a source's input cannot be fingerprinted (a source
 * other than files and Delta tables), so such runs are never skipped.
 *
 * @example
 * ```ts
 * const key = await runCacheKey(pipeline, run, codeHash, dirname(file));
 * ```
 */
export async function runCacheKey(
  pipeline: Pipeline,
  run: RunRecord,
  codeHash: string,
  baseDir: string,
): Promise<string | undefined> {
  const inputs: string[] = [];
  for (const [stepId, step] of Object.entries(pipeline.steps)) {
    if (step.kind !== 'source') continue;
    const fingerprint = await sourceFingerprint(step.connector, step.config, baseDir);
    if (fingerprint === undefined) return undefined;
    inputs.push(`${stepId}=${fingerprint}`);
  }
  const params = Object.entries(run.params).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256')
    .update(
      JSON.stringify({
        pipeline: pipeline.name,
        codeHash,
        interval: run.interval ?? null,
        params,
        inputs,
      }),
    )
    .digest('hex');
}

async function sourceFingerprint(
  connector: string,
  config: Readonly<Record<string, unknown>>,
  baseDir: string,
): Promise<string | undefined> {
  if (FILE_CONNECTORS.has(connector)) {
    const patterns = ([] as unknown[]).concat(config['path']).map(String);
    const files = (await glob(patterns, { cwd: baseDir, absolute: true, onlyFiles: true })).sort();
    const versions = await Promise.all(
      files.map(async (file) => {
        const info = await stat(file);
        return `${file}:${info.size}:${info.mtimeMs}`;
      }),
    );
    return `files[${versions.join(',')}]`;
  }
  if (connector === 'delta') {
    const pinned = config['version'] ?? config['timestamp'];
    const location = resolveTableLocation(baseDir, String(config['path']));
    if (pinned !== undefined) return `delta[${location}@${String(pinned)}]`;
    const store = await openTableStore(location);
    const commits = (await store.list('_delta_log')).filter((name) => /^\d{20}\.json$/.test(name));
    return `delta[${location}@${commits.sort().at(-1) ?? 'none'}]`;
  }
  return undefined;
}
