import type { SavedCheckpoint } from '../stream/runtime.js';
import type { RunStore } from './run-store.js';
import type { SqlRow } from './sql-database.js';

/** A committed checkpoint of a stream, as the run store keeps it. */
export type StreamCheckpoint = SavedCheckpoint;

/** How many checkpoints of a stream the store keeps (older ones are deleted). */
const KEPT = 10;

/**
 * Stream checkpoints in the run store (embedded or PostgreSQL): the newest ones per stream.
 *
 * @example
 * ```ts
 * const checkpoints = new StreamCheckpoints(store);
 * const last = await checkpoints.last('clicks');
 * ```
 */
export class StreamCheckpoints {
  constructor(private readonly store: RunStore) {}

  /** Saves a checkpoint and forgets all but the newest ten of the stream; answers its size in bytes. */
  async save(checkpoint: StreamCheckpoint): Promise<number> {
    const snapshot = JSON.stringify(checkpoint.snapshot);
    await this.store.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO stream_checkpoints
           (stream, checkpoint_id, snapshot, watermark, records_in, records_out, state_size, lag, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          checkpoint.stream,
          checkpoint.checkpointId,
          snapshot,
          checkpoint.watermark ?? null,
          checkpoint.recordsIn,
          checkpoint.recordsOut,
          checkpoint.stateSize,
          checkpoint.lag ?? null,
          checkpoint.createdAt,
        ],
      );
      await tx.run('DELETE FROM stream_checkpoints WHERE stream = ? AND checkpoint_id <= ?', [
        checkpoint.stream,
        checkpoint.checkpointId - KEPT,
      ]);
    });
    return Buffer.byteLength(snapshot);
  }

  /** The stream's newest checkpoint, or undefined when it has none. */
  async last(stream: string): Promise<StreamCheckpoint | undefined> {
    const [row] = await this.store.db.all(
      'SELECT * FROM stream_checkpoints WHERE stream = ? ORDER BY checkpoint_id DESC LIMIT 1',
      [stream],
    );
    return row === undefined ? undefined : fromRow(row);
  }

  /**
   * Every stream's newest checkpoint, with its throughput: records read per second between its
   * two newest checkpoints (undefined with only one).
   */
  async list(): Promise<(StreamCheckpoint & { readonly recordsPerSecond: number | undefined })[]> {
    const rows = await this.store.db.all(
      `SELECT c.* FROM stream_checkpoints c
        WHERE c.checkpoint_id >= (SELECT max(checkpoint_id) - 1 FROM stream_checkpoints WHERE stream = c.stream)
        ORDER BY c.stream, c.checkpoint_id DESC`,
      [],
    );
    const byStream = new Map<string, StreamCheckpoint[]>();
    for (const row of rows) {
      const checkpoint = fromRow(row);
      byStream.set(checkpoint.stream, [...(byStream.get(checkpoint.stream) ?? []), checkpoint]);
    }
    return [...byStream.values()].map(([newest, previous]) => {
      const last = newest as StreamCheckpoint;
      const seconds = previous === undefined ? 0 : (last.createdAt - previous.createdAt) / 1000;
      return {
        ...last,
        recordsPerSecond:
          previous === undefined || seconds <= 0
            ? undefined
            : (last.recordsIn - previous.recordsIn) / seconds,
      };
    });
  }

  /** Forgets a stream's checkpoints, so its next start reads from where it is told to. */
  async reset(stream: string): Promise<void> {
    await this.store.db.run('DELETE FROM stream_checkpoints WHERE stream = ?', [stream]);
  }
}

function fromRow(row: SqlRow): StreamCheckpoint {
  return {
    stream: String(row['stream']),
    checkpointId: Number(row['checkpoint_id']),
    snapshot: JSON.parse(String(row['snapshot'])),
    watermark: row['watermark'] === null ? undefined : Number(row['watermark']),
    recordsIn: Number(row['records_in']),
    recordsOut: Number(row['records_out']),
    stateSize: Number(row['state_size']),
    lag: row['lag'] === null || row['lag'] === undefined ? undefined : Number(row['lag']),
    createdAt: Number(row['created_at']),
  };
}
