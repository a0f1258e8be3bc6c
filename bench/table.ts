/**
 * The `table` group: Delta commit latency of small appends, a merge of 100k changed rows into a
 * 5M-row table (how much of the table it rewrites, and its time against rewriting the whole
 * table), and reading a 100-version table with and without its checkpoint.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Field } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import { deltaScanSQL, loadDeltaSnapshot, mergeDelta, writeDelta } from '../src/table/index.js';
import type { BenchResult } from './common.js';
import { assert, envInteger, log } from './common.js';

const FIELDS: Field[] = [
  { name: 'order_id', type: { kind: 'int64' }, nullable: false },
  { name: 'status', type: { kind: 'string' }, nullable: true },
  { name: 'amount', type: { kind: 'float64' }, nullable: true },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Runs the group and returns its figures. */
export async function runTableGroup(): Promise<BenchResult[]> {
  const rows = envInteger('BENCH_ROWS', 5_000_000);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-table-'));
  const session = await DuckDBSession.create();
  const connection = await session.connect();
  try {
    // Append latency: 50 one-row commits to a small table.
    const small = join(dir, 'small');
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const began = performance.now();
      await writeDelta(
        connection,
        small,
        `(SELECT ${i}::BIGINT AS order_id, 'paid' AS status, 1.0::DOUBLE AS amount)`,
        FIELDS,
        { mode: 'append' },
      );
      latencies.push(performance.now() - began);
    }
    const appendP50 = median(latencies);
    log(`  table: append commit p50 ${appendP50.toFixed(1)} ms`);

    // A big table in 50 files of contiguous order ids (as appends of daily batches produce).
    const big = join(dir, 'big');
    const batches = 50;
    const perBatch = Math.ceil(rows / batches);
    for (let b = 0; b < batches; b++) {
      await writeDelta(
        connection,
        big,
        `(SELECT range::BIGINT AS order_id, 'paid' AS status, (range % 1000)::DOUBLE AS amount FROM range(${b * perBatch}, ${Math.min(rows, (b + 1) * perBatch)}))`,
        FIELDS,
        { mode: 'append' },
      );
    }
    // 2% changed rows: the most recent orders changing status, as a CDC feed would bring.
    const changed = Math.floor(rows * 0.02);
    const changes = `(SELECT range::BIGINT AS order_id, 'refunded' AS status, 0.0::DOUBLE AS amount FROM range(${rows - changed}, ${rows}))`;
    let began = performance.now();
    const merge = await mergeDelta(connection, big, changes, FIELDS, { keys: ['order_id'] });
    const mergeSeconds = (performance.now() - began) / 1000;
    const snapshot = await loadDeltaSnapshot(connection, big);
    const [check] = await connection.rows(
      `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'refunded') AS refunded FROM ${deltaScanSQL(snapshot)}`,
    );
    assert(
      Number(check?.['n']) === rows && Number(check?.['refunded']) === changed,
      'the merge lost or duplicated rows',
    );
    began = performance.now();
    await writeDelta(
      connection,
      big,
      `(SELECT order_id, CASE WHEN order_id >= ${rows - changed} THEN 'refunded' ELSE status END AS status, amount FROM ${deltaScanSQL(snapshot)})`,
      FIELDS,
      { mode: 'overwrite' },
    );
    const rewriteSeconds = (performance.now() - began) / 1000;
    log(
      `  table: merge ${mergeSeconds.toFixed(2)} s rewriting ${merge.filesRewritten}/${merge.filesInTable} files; full rewrite ${rewriteSeconds.toFixed(2)} s`,
    );

    // Reading the state of a 100-version table (the small table plus 50 more commits).
    for (let i = 50; i < 100; i++) {
      await writeDelta(
        connection,
        small,
        `(SELECT ${i}::BIGINT AS order_id, 'paid' AS status, 1.0::DOUBLE AS amount)`,
        FIELDS,
        { mode: 'append' },
      );
    }
    const timeLoad = async (): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        const hundred = await loadDeltaSnapshot(connection, small);
        times.push(performance.now() - start);
        assert(
          hundred.version === 99 && hundred.files.length === 100,
          'the 100-version table did not load',
        );
      }
      return times.sort((a, b) => a - b)[2] as number;
    };
    const loadMs = await timeLoad();
    const logDir = join(small, '_delta_log');
    for (const name of await readdir(logDir))
      if (name.includes('checkpoint')) await rm(join(logDir, name));
    const loadWithoutCheckpointMs = await timeLoad();
    log(
      `  table: load 100 versions ${loadMs.toFixed(1)} ms with a checkpoint, ${loadWithoutCheckpointMs.toFixed(1)} ms replaying every commit`,
    );

    return [
      {
        id: 'table.append_commit_p50_ms',
        value: appendP50,
        unit: 'ms',
        note: 'one-row appends to a local table, 50 commits',
      },
      {
        id: 'table.merge_rewrite_fraction',
        value: merge.filesRewritten / merge.filesInTable,
        unit: 'share of files',
        note: `${changed.toLocaleString('en-US')} changed rows (the newest 2% of order ids) merged into ${rows.toLocaleString('en-US')} rows in ${merge.filesInTable} files`,
      },
      {
        id: 'table.merge_s',
        value: mergeSeconds,
        unit: 's',
        note: `merge; rewriting the whole table took ${rewriteSeconds.toFixed(2)} s`,
      },
      {
        id: 'table.full_rewrite_s',
        value: rewriteSeconds,
        unit: 's',
        note: 'the same change as an overwrite of the table',
      },
      {
        id: 'table.load_100_versions_ms',
        value: loadMs,
        unit: 'ms',
        note: 'checkpoint at version 90 plus 9 JSON commits (median of 5)',
      },
      {
        id: 'table.load_100_versions_no_checkpoint_ms',
        value: loadWithoutCheckpointMs,
        unit: 'ms',
        note: 'replay of 100 JSON commits, checkpoints removed (median of 5)',
      },
    ];
  } finally {
    session.close();
    await rm(dir, { recursive: true, force: true });
  }
}
