import { describe, expect, it } from 'vitest';
import { approxDistinct, avg, count, first, last, max, min, reduce, sum } from './aggregates.js';
import type { StreamRow } from '../contracts/stream-connector.js';
import { WatermarkTracker } from './watermarks.js';
import type { WindowOptions } from './windows.js';
import { session, sliding, tumbling, WindowAggregation } from './windows.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const s = (seconds: number): number => T0 + seconds * 1000;
const iso = (seconds: number): string => new Date(s(seconds)).toISOString();

/** Feeds events one batch at a time with a bounded-out-of-orderness watermark; collects output. */
function run(
  options: WindowOptions,
  batches: readonly (readonly [page: string, second: number, amount?: number])[][],
  outOfOrderSeconds = 0,
) {
  const op = new WindowAggregation(options);
  const watermarks = new WatermarkTracker({ maxOutOfOrdernessMs: outOfOrderSeconds * 1000 });
  const emitted: Record<string, unknown>[] = [];
  const late: StreamRow[] = [];
  for (const batch of batches) {
    const rows = batch.map(([page, , amount]) => ({ page, amount: amount ?? 1 }));
    const times = batch.map(([, second]) => s(second));
    const before = watermarks.current();
    op.add(rows, times, before, (row) => late.push(row));
    for (const time of times) watermarks.observe('', time);
    const { rows: out } = op.advance(watermarks.current());
    for (const row of out)
      emitted.push({
        ...row,
        window_start: (row['window_start'] as Date).toISOString(),
        window_end: (row['window_end'] as Date).toISOString(),
      });
  }
  return { emitted, late, op };
}

describe('event-time windows', () => {
  it('fires tumbling windows per key when the watermark passes their end, out-of-order records included', () => {
    const { emitted, late } = run(
      { key: 'page', window: tumbling('10s'), aggregate: { views: count(), total: sum('amount') } },
      [
        [
          ['a', 1, 5],
          ['b', 3],
          ['a', 12],
        ],
        // 7 is out of order but within the 5 s bound: the watermark is 12 - 5 = 7, [0,10) still open
        [['a', 7, 2]],
        // watermark 16 - 5 = 11 closes [0,10)
        [['b', 16]],
        // watermark 31 - 5 = 26 closes [10,20); 4 arrives after [0,10) closed: late
        [
          ['a', 31],
          ['a', 4],
        ],
      ],
      5,
    );
    expect(emitted).toEqual([
      { page: 'a', window_start: iso(0), window_end: iso(10), views: 2, total: 7 },
      { page: 'b', window_start: iso(0), window_end: iso(10), views: 1, total: 1 },
      { page: 'a', window_start: iso(10), window_end: iso(20), views: 1, total: 1 },
      { page: 'b', window_start: iso(10), window_end: iso(20), views: 1, total: 1 },
    ]);
    expect(late).toEqual([{ page: 'a', amount: 1 }]);
  });

  it('updates a fired window with records inside the allowed lateness, then sends later ones to the late output', () => {
    const { emitted, late, op } = run(
      {
        key: 'page',
        window: tumbling('10s'),
        aggregate: { views: count() },
        allowedLatenessMs: 10_000,
      },
      [
        [['a', 1]],
        [['a', 11]], // closes [0,10): a=1
        [['a', 5]], // watermark 11 < 10 + 10: the window is updated to 2 and emitted again
        [['a', 21]], // watermark 21 >= 20: [10,20) fires, [0,10) is forgotten
        [['a', 6]], // too late now
      ],
    );
    expect(emitted.map((r) => [r['window_start'], r['views']])).toEqual([
      [iso(0), 1],
      [iso(0), 2],
      [iso(10), 1],
    ]);
    expect(late).toEqual([{ page: 'a', amount: 1 }]);
    expect(op.stateSize()).toBe(2); // [10,20) kept for its lateness, [20,30) open
  });

  it('puts each record in size/slide sliding windows', () => {
    const { emitted } = run({ window: sliding('10s', '5s'), aggregate: { n: count() } }, [
      [
        ['x', 3],
        ['x', 7],
        ['x', 12],
      ],
      [['x', 40]],
    ]);
    expect(emitted.map((r) => [r['window_start'], r['window_end'], r['n']])).toEqual([
      [iso(-5), iso(5), 1],
      [iso(0), iso(10), 2],
      [iso(5), iso(15), 2],
      [iso(10), iso(20), 1],
    ]);
  });

  it('merges session windows that come within the gap, also when a record bridges two sessions', () => {
    const { emitted } = run(
      {
        key: 'page',
        window: session('5s'),
        aggregate: { n: count(), firstAt: first('amount'), lastAt: last('amount') },
      },
      [
        [
          ['u', 0, 1],
          ['u', 3, 2],
          ['u', 10, 3], // a second session [10,15)
        ],
        [['u', 7, 4]], // bridges [0,8) and [10,15): one session [0,15)
        [['u', 30, 5]],
      ],
      5,
    );
    expect(emitted).toEqual([
      { page: 'u', window_start: iso(0), window_end: iso(15), n: 4, firstAt: 1, lastAt: 3 },
    ]);
  });

  it('emits changed windows after every batch with emit: update', () => {
    const { emitted } = run(
      { key: 'page', window: tumbling('10s'), aggregate: { n: count() }, emit: 'update' },
      [
        [
          ['a', 1],
          ['a', 2],
        ],
        [['a', 3]],
        [['a', 15]],
      ],
    );
    expect(emitted.map((r) => [r['window_start'], r['n']])).toEqual([
      [iso(0), 2],
      [iso(0), 3],
      [iso(10), 1],
    ]);
  });

  it('computes avg, min, max, first, last, approximate distinct counts and user reducers', () => {
    const op = new WindowAggregation({
      window: tumbling('1m'),
      aggregate: {
        mean: avg('v'),
        low: min('v'),
        high: max('v'),
        earliest: first('v'),
        latest: last('v'),
        users: approxDistinct('user'),
        product: reduce({
          name: 'product',
          create: () => ({ p: 1 }),
          add: (acc, row) => {
            acc.p *= Number(row['v']);
          },
          result: (acc) => acc.p,
        }),
      },
    });
    const rows = [
      { v: 4, user: 'a' },
      { v: null, user: 'b' },
      { v: 1, user: 'a' },
      { v: 3, user: 'c' },
    ];
    op.add(rows.slice(0, 2), [s(20), s(30)], -Infinity, () => undefined);
    op.add(rows.slice(2), [s(10), s(50)], -Infinity, () => undefined);
    const [result] = op.advance(s(60)).rows;
    expect(result).toMatchObject({
      mean: 8 / 3,
      low: 1,
      high: 4,
      earliest: 1,
      latest: 3,
      users: 3,
    });
    expect(result?.['product']).toBe(0); // null * ... = 0 in JS: user reducers see raw values
  });

  it('estimates distinct counts within 2% on 100,000 values', () => {
    const op = new WindowAggregation({
      window: tumbling('1m'),
      aggregate: { users: approxDistinct('u') },
    });
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ u: `user-${i % 100_000}` }));
    op.add(
      rows,
      rows.map(() => s(1)),
      -Infinity,
      () => undefined,
    );
    const estimate = Number(op.advance(s(60)).rows[0]?.['users']);
    expect(Math.abs(estimate - 100_000) / 100_000).toBeLessThan(0.02);
  });

  it('restores from a snapshot and continues as if nothing happened', () => {
    const options: WindowOptions = {
      key: 'page',
      window: tumbling('10s'),
      aggregate: { n: count(), users: approxDistinct('page'), mean: avg('amount') },
    };
    const a = new WindowAggregation(options);
    a.add(
      [
        { page: 'x', amount: 2 },
        { page: 'y', amount: 4 },
      ],
      [s(1), s(2)],
      -Infinity,
      () => undefined,
    );
    const b = new WindowAggregation(options);
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    for (const op of [a, b]) op.add([{ page: 'x', amount: 6 }], [s(3)], -Infinity, () => undefined);
    expect(b.advance(s(10)).rows).toEqual(a.advance(s(10)).rows);
  });
});

describe('watermarks', () => {
  it('take the smallest partition watermark, leave idle partitions out and never go back', () => {
    let now = 0;
    const watermarks = new WatermarkTracker({
      maxOutOfOrdernessMs: 1000,
      idleTimeoutMs: 10_000,
      now: () => now,
    });
    watermarks.observe('p1', s(10));
    watermarks.observe('p2', s(4));
    expect(watermarks.current()).toBe(s(3));
    now = 5_000;
    watermarks.observe('p1', s(20));
    expect(watermarks.current()).toBe(s(3));
    now = 12_000; // p2 quiet for 12 s > 10 s: idle
    watermarks.observe('p1', s(21));
    expect(watermarks.idlePartitions()).toEqual(['p2']);
    expect(watermarks.current()).toBe(s(20));
    watermarks.observe('p2', s(5)); // back, but behind: the watermark stays
    expect(watermarks.current()).toBe(s(20));
    const copy = new WatermarkTracker({ maxOutOfOrdernessMs: 1000 });
    copy.restore(watermarks.snapshot());
    expect(copy.current()).toBe(s(20));
  });
});
