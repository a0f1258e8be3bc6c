import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quoteLiteral } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { DeltaAction } from './delta-actions.js';
import type { DeltaSnapshot } from './delta-log.js';

/** Write a checkpoint after every this many commits (Delta's default interval). */
export const CHECKPOINT_INTERVAL = 10;

const MAP = 'MAP(VARCHAR, VARCHAR)';
/** The checkpoint schema of the Delta protocol (the actions a reader needs to rebuild state). */
const CHECKPOINT_COLUMNS: Readonly<Record<string, string>> = {
  txn: 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
  add: `STRUCT(path VARCHAR, partitionValues ${MAP}, size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags ${MAP})`,
  remove: `STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues ${MAP}, size BIGINT)`,
  metaData: `STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options ${MAP}), schemaString VARCHAR, partitionColumns VARCHAR[], configuration ${MAP}, createdTime BIGINT)`,
  protocol:
    'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])',
};

/**
 * Writes the checkpoint of a snapshot: `_delta_log/<version>.checkpoint.parquet` with one row per
 * action (protocol, metaData, txn per application, add per active file, remove per tombstone) in
 * the checkpoint schema, then `_last_checkpoint`. Both are replaced atomically through the
 * table's store (a rename on local disk, a single put on S3), so readers never see a partial
 * checkpoint.
 *
 * @example
 * ```ts
 * if (version % CHECKPOINT_INTERVAL === 0) await writeCheckpoint(connection, snapshot);
 * ```
 */
export async function writeCheckpoint(
  connection: EngineConnection,
  snapshot: DeltaSnapshot,
): Promise<void> {
  const { store } = snapshot;
  const name = `_delta_log/${String(snapshot.version).padStart(20, '0')}.checkpoint.parquet`;
  const actions: DeltaAction[] = [
    { protocol: snapshot.protocol },
    { metaData: snapshot.metadata },
    ...[...snapshot.appVersions.entries()].map(([appId, version]) => ({ txn: { appId, version } })),
    ...snapshot.files.map((add) => ({ add: { ...add, path: encodePath(add.path) } })),
    ...snapshot.tombstones.map((remove) => ({
      remove: { ...remove, path: encodePath(remove.path) },
    })),
  ];
  const id = randomUUID();
  const scratch = await store.scratchFolder();
  const source = join(scratch, `checkpoint-${id}.ndjson`);
  const staged = join(scratch, `checkpoint-${id}.parquet`);
  await writeFile(source, `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`);
  try {
    const columns = Object.entries(CHECKPOINT_COLUMNS)
      .map(([column, type]) => `${quoteLiteral(column)}: ${quoteLiteral(type)}`)
      .join(', ');
    await connection.run(
      `COPY (SELECT * FROM read_json(${quoteLiteral(source)}, format = 'newline_delimited', columns = {${columns}}))
       TO ${quoteLiteral(staged)} (FORMAT parquet)`,
    );
    await store.putFile(name, staged);
    await store.put(
      '_delta_log/_last_checkpoint',
      JSON.stringify({ version: snapshot.version, size: actions.length }),
    );
  } finally {
    await rm(source, { force: true });
    await rm(staged, { force: true });
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
