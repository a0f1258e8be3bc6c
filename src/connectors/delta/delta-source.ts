import { EngineError, SourceError } from '../../core/errors.js';
import { quoteIdentifier } from '../../core/type-mappings.js';
import { defineSource } from '../../contracts/batch-connector.js';
import { loadDeltaSnapshot } from '../../table/delta-log.js';
import { deltaScanSQL, fetchDeltaFiles } from '../../table/delta-scan.js';
import { skipFiles } from '../../table/delta-skipping.js';
import { openTableStore, resolveTableLocation } from '../../table/table-store.js';
import { deltaSourceConfig } from './delta-configs.js';

/**
 * Reads a Delta Lake table (a local folder or an `s3://bucket/prefix` URL): the latest version,
 * a `version`, or the state at a `timestamp`. With `where`, files whose partition values or
 * stats rule out a match are not read (nor, for S3 tables, downloaded).
 *
 * @example
 * ```ts
 * source.delta({ path: 'lake/orders', where: "order_date >= DATE '2026-03-01'" });
 * source.delta({ path: 's3://lake/orders', version: 12 });
 * ```
 */
export const deltaSource = defineSource({
  name: 'delta',
  summary: 'A Delta Lake table, at its latest version, a version or a time.',
  config: deltaSourceConfig,
  async read(config, context) {
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
      config.where === undefined
        ? loaded
        : await skipFiles(context.connection, loaded, config.where);
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
  },
  async fingerprint(config, context) {
    const location = resolveTableLocation(context.baseDir, config.path);
    const pinned = config.version ?? config.timestamp;
    if (pinned !== undefined) return `delta[${location}@${String(pinned)}]`;
    const store = await openTableStore(location);
    const commits = (await store.list('_delta_log')).filter((name) => /^\d{20}\.json$/.test(name));
    return `delta[${location}@${commits.sort().at(-1) ?? 'none'}]`;
  },
});
