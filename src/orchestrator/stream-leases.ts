import type { PartitionLease, PartitionLeases } from '../stream/scale-out.js';
import type { RunStore } from './run-store.js';

/**
 * Partition leases and live workers of streams, in the run store (embedded or PostgreSQL), so
 * several `sluice stream` processes share a stream. Times are the workers' clocks: keep them
 * in sync (NTP) within a fraction of the lease timeout.
 *
 * @example
 * ```ts
 * const leases = new StreamLeases(store);
 * const held = await leases.acquire('clicks', 'clicks.0', 'host-a-4121', 15_000);
 * ```
 */
export class StreamLeases implements PartitionLeases {
  constructor(private readonly store: RunStore) {}

  async heartbeat(stream: string, worker: string, timeoutMs: number): Promise<readonly string[]> {
    const now = Date.now();
    const { db } = this.store;
    if (
      (await db.run('UPDATE stream_workers SET seen_at = ? WHERE stream = ? AND worker = ?', [
        now,
        stream,
        worker,
      ])) === 0
    )
      await db.run(
        'INSERT INTO stream_workers (stream, worker, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        [stream, worker, now],
      );
    const rows = await db.all(
      'SELECT worker FROM stream_workers WHERE stream = ? AND seen_at >= ? ORDER BY worker',
      [stream, now - timeoutMs],
    );
    return rows.map((row) => String(row['worker']));
  }

  async acquire(
    stream: string,
    partition: string,
    worker: string,
    timeoutMs: number,
  ): Promise<boolean> {
    const now = Date.now();
    const { db } = this.store;
    const updated = await db.run(
      `UPDATE stream_leases SET owner = ?, expires_at = ?
        WHERE stream = ? AND partition_name = ? AND (owner = ? OR expires_at < ?)`,
      [worker, now + timeoutMs, stream, partition, worker, now],
    );
    if (updated > 0) return true;
    const inserted = await db.run(
      `INSERT INTO stream_leases (stream, partition_name, owner, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
      [stream, partition, worker, now + timeoutMs],
    );
    return inserted > 0;
  }

  async release(stream: string, partition: string, worker: string): Promise<void> {
    await this.store.db.run(
      'DELETE FROM stream_leases WHERE stream = ? AND partition_name = ? AND owner = ?',
      [stream, partition, worker],
    );
  }

  async leave(stream: string, worker: string): Promise<void> {
    await this.store.db.run('DELETE FROM stream_workers WHERE stream = ? AND worker = ?', [
      stream,
      worker,
    ]);
  }

  async list(stream: string): Promise<readonly PartitionLease[]> {
    return this.#leases('WHERE stream = ?', [stream]);
  }

  /** Every stream's leases, for `sluice runs --streams`. */
  async all(): Promise<readonly (PartitionLease & { readonly stream: string })[]> {
    return this.#leases('', []);
  }

  async #leases(
    where: string,
    params: readonly string[],
  ): Promise<(PartitionLease & { readonly stream: string })[]> {
    const rows = await this.store.db.all(
      `SELECT stream, partition_name, owner, expires_at FROM stream_leases ${where} ORDER BY stream, partition_name`,
      params,
    );
    return rows.map((row) => ({
      stream: String(row['stream']),
      partition: String(row['partition_name']),
      owner: String(row['owner']),
      expiresAt: Number(row['expires_at']),
    }));
  }
}
