import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import {
  CHANGE_MERGE_ONLY,
  changeMergeFields,
  usesChangeOptionsInMergeOnly,
} from '../../core/merge-options.js';
import { quoteIdentifier, quoteLiteral, scalarLiteral } from '../../core/type-mappings.js';
import { DuckDBSession } from '../../contracts/duckdb-session.js';
import { fieldsFromColumns } from '../../contracts/duckdb-types.js';
import type { StreamRow } from '../../contracts/stream-connector.js';
import { defineStreamSink } from '../../contracts/stream-connector.js';
import { loadDeltaSnapshotIfExists } from '../../table/delta-log.js';
import { mergeDelta } from '../../table/delta-merge.js';
import { writeDelta } from '../../table/delta-writer.js';
import { openTableStore } from '../../table/table-store.js';

/**
 * Config of the `delta` stream sink.
 *
 * @example
 * ```ts
 * deltaStreamSinkConfig.parse({ path: 'lake/page_views', mode: 'merge', keys: ['page', 'window_start'] });
 * ```
 */
export const deltaStreamSinkConfig = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .describe(
        'The Delta table: a folder (relative to the working directory) or `s3://bucket/prefix`.',
      ),
    mode: z
      .enum(['append', 'merge'])
      .default('append')
      .describe("`append` adds each checkpoint's rows; `merge` upserts them by `keys`."),
    keys: z
      .array(z.string().min(1))
      .default([])
      .describe('With `merge`: the columns identifying a row.'),
    ...changeMergeFields('the last to arrive wins'),
    partitionBy: z
      .array(z.string().min(1))
      .default([])
      .describe('Partition columns of a new table.'),
  })
  .refine((c) => c.mode !== 'merge' || c.keys.length > 0, {
    message: 'merge needs keys: the columns that identify a row',
    path: ['keys'],
  })
  .refine(usesChangeOptionsInMergeOnly, CHANGE_MERGE_ONLY);

/** Config of the `delta` stream sink as written (defaults optional). */
export type DeltaStreamSinkConfig = z.input<typeof deltaStreamSinkConfig>;

/** Orders a checkpoint's rows as they arrived. */
const ARRIVAL = '__sluice_arrival';

/** Where the snapshots of the stream's commits are kept, inside the table's folder. */
const SNAPSHOTS = '_sluice_stream';

/**
 * Writes a stream into a Delta table, exactly once: each checkpoint's rows become one Delta
 * commit carrying `txn(appId = sluice-stream-<stream>, version = checkpoint)`, and the
 * checkpoint's snapshot is stored beside the log (`_sluice_stream/<appId>/<checkpoint>.json`,
 * written before the commit). After a crash the stream resumes from the snapshot of the
 * table's last committed checkpoint, and a commit the table already holds is skipped. Rows
 * wait in a local file until their checkpoint, so memory stays flat.
 *
 * @example
 * ```ts
 * streamSink.delta({ path: 'lake/page_views', mode: 'merge', keys: ['page', 'window_start'] });
 * ```
 */
export const deltaStreamSink = defineStreamSink({
  name: 'delta',
  summary: 'A Delta Lake table, one commit per checkpoint with txn(appId, version) (exactly once).',
  config: deltaStreamSinkConfig,
  delivery: 'exactly-once',
  async open(config, context) {
    const location = config.path.includes('://') ? config.path : resolve(config.path);
    const store = await openTableStore(location);
    const appId = `sluice-stream-${context.streamName}`;
    const session = await DuckDBSession.create();
    const connection = await session.connect('delta-stream-sink');
    const scratch = await mkdtemp(join(tmpdir(), 'sluice-delta-stream-'));
    const pending = join(scratch, 'rows.ndjson');
    let rowsPending = 0;
    const snapshotPath = (version: number): string =>
      `${SNAPSHOTS}/${appId}/${String(version).padStart(20, '0')}.json`;
    return {
      async write(rows) {
        if (rows.length === 0) return;
        await appendFile(pending, `${rows.map(toJSONLine).join('\n')}\n`);
        rowsPending += rows.length;
      },
      async commit({ checkpointId, snapshot }) {
        // Checkpoints without rows leave the table alone; the run store keeps their state.
        if (rowsPending === 0) return;
        await store.put(snapshotPath(checkpointId), JSON.stringify(snapshot ?? null));
        const batch = quoteIdentifier('stream_batch');
        await connection.run(
          `CREATE OR REPLACE TEMP TABLE ${batch} AS ${batchQuery(config, pending)}`,
        );
        const reader = await connection.raw.runAndReadAll(`SELECT * FROM ${batch} LIMIT 0`);
        const fields = fieldsFromColumns(reader.columnNames(), reader.columnTypes()).filter(
          (f) => !config.exclude.includes(f.name),
        );
        const transaction = { appId, version: checkpointId };
        if (config.mode === 'merge')
          await mergeDelta(connection, store, batch, fields, {
            keys: config.keys,
            transaction,
            ...(config.deleteWhen === undefined
              ? {}
              : {
                  deleteWhen: `${quoteIdentifier(config.deleteWhen.column)} = ${scalarLiteral(config.deleteWhen.equals)}`,
                }),
          });
        else
          await writeDelta(connection, store, batch, fields, {
            mode: 'append',
            partitionBy: config.partitionBy,
            transaction,
            operation: 'STREAMING UPDATE',
          });
        await connection.run(`DROP TABLE ${batch}`);
        await rm(pending, { force: true });
        rowsPending = 0;
      },
      async recover() {
        const table = await loadDeltaSnapshotIfExists(connection, store);
        const version = table?.appVersions.get(appId);
        if (version === undefined) return undefined;
        const snapshot: unknown = JSON.parse(await store.read(snapshotPath(version)));
        return { checkpointId: version, snapshot };
      },
      async close() {
        connection.close();
        session.close();
        await rm(scratch, { recursive: true, force: true });
      },
    };
  },
});

/**
 * The checkpoint's rows, in arrival order; for a merge only the latest row of each key (by
 * `latestBy`, else the last to arrive), since a merge takes one row per key.
 */
function batchQuery(config: z.output<typeof deltaStreamSinkConfig>, file: string): string {
  const rows = `SELECT *, row_number() OVER () AS ${ARRIVAL} FROM read_json_auto(${quoteLiteral(file)}, format = 'newline_delimited')`;
  if (config.mode !== 'merge')
    return `SELECT * EXCLUDE (${ARRIVAL}) FROM (${rows}) ORDER BY ${ARRIVAL}`;
  const keys = config.keys.map(quoteIdentifier).join(', ');
  const order = [
    ...(config.latestBy === undefined
      ? []
      : [`${quoteIdentifier(config.latestBy)} DESC NULLS LAST`]),
    `${ARRIVAL} DESC`,
  ].join(', ');
  return `SELECT * EXCLUDE (${ARRIVAL}) FROM (${rows}) QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${order}) = 1`;
}

/** A row as one JSON line: Dates as ISO text, bigints as numbers' text. */
function toJSONLine(row: StreamRow): string {
  return JSON.stringify(row, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}
