import type { z } from 'zod';
import { EngineError, SourceError } from '../../core/errors.js';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type {
  SourceFingerprintContext,
  SourceReadContext,
  SourceReadResult,
} from '../../contracts/batch-connector.js';
import { loadDeltaSnapshot } from '../../table/delta-log.js';
import { deltaScanSQL, fetchDeltaFiles } from '../../table/delta-scan.js';
import { skipFiles } from '../../table/delta-skipping.js';
import { openTableStore, resolveTableLocation } from '../../table/table-store.js';
import type { deltaSourceConfig } from './delta-configs.js';

/**
 * `deltaSource.read`, loaded on first use.
 *
 * @example
 * ```ts
 * await readDelta(config, context);
 * ```
 */
export async function readDelta(
  config: z.output<typeof deltaSourceConfig>,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const loaded = await loadDeltaSnapshot(
    context.connection,
    resolveTableLocation(context.baseDir, config.path),
    {
      ...(config.version === undefined ? {} : { version: config.version }),
      ...(config.timestamp === undefined ? {} : { timestamp: config.timestamp }),
    },
  );
  const path = loaded.root;
  const snapshot =
    config.where === undefined ? loaded : await skipFiles(context.connection, loaded, config.where);
  const wanted = config.columns ?? snapshot.fields.map((f) => f.name);
  const missing = wanted.filter((c) => !snapshot.fields.some((f) => f.name === c));
  if (missing.length > 0) {
    throw new SourceError(
      context.stepId,
      `column(s) ${missing.join(', ')} are not in the table ${path} (it has ${snapshot.fields.map((f) => f.name).join(', ')})`,
    );
  }
  const where = config.where === undefined ? '' : ` WHERE ${config.where}`;
  await fetchDeltaFiles(snapshot);
  try {
    await context.connection.run(
      `CREATE VIEW ${quoteIdentifier(context.stepId)} AS SELECT ${wanted.map(quoteIdentifier).join(', ')} FROM ${deltaScanSQL(snapshot)}${where}`,
    );
    const [row] = await context.connection.rows(
      `SELECT count(*) AS n FROM ${quoteIdentifier(context.stepId)}`,
    );
    return {
      rowsRead: Number(row?.['n'] ?? 0),
      rowsQuarantined: 0,
      fields: wanted.map((c) => snapshot.fields.find((f) => f.name === c)!),
      inputs: [`${path}@v${snapshot.version}`],
    };
  } catch (cause) {
    if (!(cause instanceof EngineError)) throw cause;
    throw new SourceError(
      context.stepId,
      `cannot read the Delta table ${path} at version ${snapshot.version}: ${cause.message}`,
      { cause, hint: 'check the where predicate, and that no data file was deleted by hand' },
    );
  }
}

/**
 * `deltaSource.fingerprint`, loaded on first use.
 *
 * @example
 * ```ts
 * await fingerprintDelta(config, context);
 * ```
 */
export async function fingerprintDelta(
  config: z.output<typeof deltaSourceConfig>,
  context: SourceFingerprintContext,
): Promise<string | undefined> {
  const location = resolveTableLocation(context.baseDir, config.path);
  const pinned = config.version ?? config.timestamp;
  if (pinned !== undefined) return `delta[${location}@${String(pinned)}]`;
  const store = await openTableStore(location);
  const commits = (await store.list('_delta_log')).filter((name) => /^\d{20}\.json$/.test(name));
  return `delta[${location}@${commits.sort().at(-1) ?? 'none'}]`;
}
