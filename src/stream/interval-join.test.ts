import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import type { IntervalJoinOptions } from './interval-join.js';
import { IntervalJoinOperator, intervalJoin, intervalJoinSpec } from './interval-join.js';
import { createOperator } from './operators.js';
import type { StreamBatch, StreamOperator } from './operator-spec.js';
import type { StreamRow } from '../contracts/stream-connector.js';
import { markSource, sourceOf } from './union-source.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const s = (seconds: number): number => T0 + seconds * 1000;

type Event = readonly [source: string, row: StreamRow, second: number];
/** A batch of events and the watermark (in seconds) once the batch has been read. */
interface Step {
  readonly events: readonly Event[];
  readonly watermarkAfter: number;
}

/**
 * Runs batches through an operator as the runtime does: each batch is processed with the
 * watermark before it, then the watermark moves and the operator lets go of what it passed.
 */
function drive(operator: StreamOperator, steps: readonly Step[], start = -Infinity) {
  const out: { row: StreamRow; second: number }[] = [];
  const late: { row: StreamRow; reason: string }[] = [];
  const invalid: { row: StreamRow; reason: string }[] = [];
  let watermark = start;
  const sources: (string | undefined)[] = [];
  // Rows compared without the source mark, which `sources` keeps.
  const collect = (batch: StreamBatch): void =>
    batch.rows.forEach((row, i) => {
      out.push({
        row: Object.fromEntries(Object.entries(row)),
        second: ((batch.times[i] as number) - T0) / 1000,
      });
      sources.push(sourceOf(row));
    });
  for (const step of steps) {
    const batch: StreamBatch = {
      rows: step.events.map(([source, row]) => (source === '' ? row : markSource(row, source))),
      times: step.events.map(([, , second]) => s(second)),
    };
    collect(
      operator.process(batch, watermark, (row, _time, reason, kind = 'late') =>
        (kind === 'late' ? late : invalid).push({ row, reason }),
      ),
    );
    watermark = s(step.watermarkAfter);
    collect(operator.advance(watermark));
  }
  return { out, late, invalid, sources };
}

const bid = (label: string, auction: number | null, second: number): Event => [
  'bids',
  { bid: label, auction },
  second,
];
const auction = (label: string, id: number, second: number): Event => [
  'auctions',
  { name: label, id },
  second,
];
const labels = (l: StreamRow, r: StreamRow | null): StreamRow => ({
  bid: l['bid'],
  auction: r === null ? null : r['name'],
});

const join = (options: Partial<IntervalJoinOptions> = {}): StreamOperator =>
  createOperator(
    intervalJoin({
      left: 'bids',
      right: 'auctions',
      on: { left: 'auction', right: 'id' },
      between: ['-10s', '5s'],
      select: labels,
      ...options,
    }),
  );

/** Three batches of out-of-order and late bids and auctions, and their hand-computed joins. */
const THREE_BATCHES: readonly Step[] = [
  {
    events: [
      bid('l1', 1, 20),
      auction('r1', 1, 12), // 12 - 20 = -8: in [-10, 5]
      auction('r2', 1, 26), // 26 - 20 = 6: outside
      bid('l2', 2, 15), // out of order
      auction('r3', 2, 3), // 3 - 15 = -12: outside; let go at watermark 14 (3 + 10 < 14)
    ],
    watermarkAfter: 14,
  },
  {
    events: [
      auction('r4', 2, 18), // l2: 18 - 15 = 3
      bid('l3', 1, 24), // r1: -12 no; r2: 26 - 24 = 2
      bid('l4', 2, 10), // 10 < watermark 14: late
      auction('r5', 1, 13), // late
      auction('r6', 1, 30), // l1: 10 no; l3: 6 no
    ],
    // l1 (until 25), l2 (until 20), r1 (until 22) are let go.
    watermarkAfter: 26,
  },
  {
    events: [
      bid('l5', 1, 31), // r2: -5, r6: -1
      bid('l6', 2, 26), // at the watermark: on time; r4: 18 - 26 = -8
    ],
    watermarkAfter: 100,
  },
];

const THREE_BATCHES_JOINED = [
  { row: { bid: 'l1', auction: 'r1' }, second: 20 },
  { row: { bid: 'l2', auction: 'r4' }, second: 18 },
  { row: { bid: 'l3', auction: 'r2' }, second: 26 },
  { row: { bid: 'l5', auction: 'r2' }, second: 31 },
  { row: { bid: 'l5', auction: 'r6' }, second: 31 },
  { row: { bid: 'l6', auction: 'r4' }, second: 26 },
];

describe('interval join', () => {
  it('joins records of the two sources whose event times are within the bounds, out of order, late ones aside', () => {
    const { out, late, invalid } = drive(join(), THREE_BATCHES);
    expect(out).toEqual(THREE_BATCHES_JOINED);
    expect(late.map((l) => l.row['bid'] ?? l.row['name'])).toEqual(['l4', 'r5']);
    expect(late[0]?.reason).toMatch(
      /a "bids" record at event time 2024-01-01T00:00:10.000Z arrived after the watermark \(2024-01-01T00:00:14.000Z\)/,
    );
    expect(invalid).toEqual([]);
  });

  it('holds each record until the watermark passes its time plus the bound, then lets it go', () => {
    const operator = join();
    drive(operator, THREE_BATCHES.slice(0, 1));
    // l1, l2, r1, r2 held; r3 let go (3 + 10 < 14).
    expect(operator.stateSize()).toBe(4);
    drive(operator, THREE_BATCHES.slice(1, 2), s(14));
    // l3, r2, r4, r6 held.
    expect(operator.stateSize()).toBe(4);
    drive(operator, THREE_BATCHES.slice(2), s(26));
    expect(operator.stateSize()).toBe(0);
  });

  it('resumes from a JSON snapshot with the same results, Dates and bigints intact', () => {
    const operator = join({
      select: (l, r) => ({ ...labels(l, r), placed: l['placed'], amount: l['amount'] }),
    });
    const first: Step = {
      events: [
        ['bids', { bid: 'l1', auction: 1, placed: new Date(s(20)), amount: 2n ** 70n }, 20],
        auction('r1', 1, 30),
      ],
      watermarkAfter: 14,
    };
    drive(operator, [first]);
    const saved = JSON.parse(JSON.stringify(operator.snapshot())) as unknown;
    const resumed = join({
      select: (l, r) => ({ ...labels(l, r), placed: l['placed'], amount: l['amount'] }),
    });
    resumed.restore(saved);
    expect(resumed.stateSize()).toBe(2);
    const { out } = drive(
      resumed,
      [{ events: [auction('r2', 1, 22), auction('r3', 1, 26)], watermarkAfter: 60 }],
      s(14),
    );
    expect(out).toEqual([
      {
        row: { bid: 'l1', auction: 'r2', placed: new Date(s(20)), amount: 2n ** 70n },
        second: 22,
      },
    ]);
    expect(resumed.stateSize()).toBe(0);

    // The uninterrupted run gives the same.
    const straight = drive(join(), [
      { events: [bid('l1', 1, 20), auction('r1', 1, 30)], watermarkAfter: 14 },
      { events: [auction('r2', 1, 22), auction('r3', 1, 26)], watermarkAfter: 60 },
    ]);
    expect(straight.out).toEqual([{ row: { bid: 'l1', auction: 'r2' }, second: 22 }]);
  });

  it('restores the snapshot of the three-batch run mid-way and gives the same joins', () => {
    const operator = join();
    const before = drive(operator, THREE_BATCHES.slice(0, 2));
    const resumed = join();
    resumed.restore(JSON.parse(JSON.stringify(operator.snapshot())));
    const after = drive(resumed, THREE_BATCHES.slice(2), s(26));
    expect([...before.out, ...after.out]).toEqual(THREE_BATCHES_JOINED);
  });

  it('left join: emits a left record that matched nothing when it is let go, right columns NULL', () => {
    const operator = createOperator(
      intervalJoin({
        left: 'bids',
        right: 'auctions',
        on: { left: 'auction', right: 'id' },
        between: ['-10s', '2s'],
        type: 'left',
      }),
    );
    const { out, sources } = drive(operator, [
      {
        events: [
          bid('l1', 1, 10),
          bid('l2', 9, 12),
          auction('r1', 1, 5), // l1: 5 - 10 = -5
          bid('l3', null, 11), // NULL key: never matches, out at once
        ],
        watermarkAfter: 11,
      },
      // l1 (until 12) and l2 (until 14) are let go at 15; l2 matched nothing (20 - 12 > 2).
      { events: [auction('r2', 9, 20)], watermarkAfter: 15 },
    ]);
    expect(out).toEqual([
      { row: { bid: 'l1', auction: 1, name: 'r1', id: 1 }, second: 10 },
      { row: { bid: 'l3', auction: null, name: null, id: null }, second: 11 },
      // Emitted at 12 + 2: the last moment a partner could have had.
      { row: { bid: 'l2', auction: 9, name: null, id: null }, second: 14 },
    ]);
    // Joined rows count as records of the left source.
    expect(sources).toEqual(['bids', 'bids', 'bids']);
  });

  it('left join with select: the right side is null for a record that matched nothing', () => {
    const { out, late } = drive(join({ type: 'left', between: ['0s', '0s'] }), [
      { events: [bid('l1', 1, 10), auction('r1', 1, 10), bid('l2', 1, 11)], watermarkAfter: 10 },
      { events: [auction('r2', 1, 9)], watermarkAfter: 20 }, // late: 9 < 10
    ]);
    expect(out).toEqual([
      { row: { bid: 'l1', auction: 'r1' }, second: 10 },
      { row: { bid: 'l2', auction: null }, second: 11 },
    ]);
    expect(late.map((l) => l.row['name'])).toEqual(['r2']);
  });

  it('default output: the key once when both sides name it the same, clashing right columns renamed', () => {
    const operator = createOperator(
      intervalJoin({ left: 'a', right: 'b', on: ['region', 'id'], between: [0, 0] }),
    );
    const { out } = drive(operator, [
      {
        events: [
          ['a', { region: 'eu', id: 7, note: 'from a', x: 1 }, 5],
          ['b', { region: 'eu', id: 7, note: 'from b', y: 2 }, 5],
          ['b', { region: 'us', id: 7, note: 'other region', y: 3 }, 5],
        ],
        watermarkAfter: 10,
      },
    ]);
    expect(out).toEqual([
      { row: { region: 'eu', id: 7, note: 'from a', x: 1, b_note: 'from b', y: 2 }, second: 5 },
    ]);
  });

  it('passes records of other sources through and sends records without a source to the invalid output', () => {
    const { out, invalid } = drive(join(), [
      {
        events: [
          ['persons', { person: 'p1' }, 3],
          ['', { bid: 'orphan', auction: 1 }, 4],
        ],
        watermarkAfter: 5,
      },
    ]);
    expect(out).toEqual([{ row: { person: 'p1' }, second: 3 }]);
    expect(invalid).toEqual([
      { row: { bid: 'orphan', auction: 1 }, reason: expect.stringMatching(/has no source/) },
    ]);
  });

  it('a negative upper bound: the right record must come before the left one', () => {
    const { out } = drive(join({ between: ['-1m', '-1s'] }), [
      {
        events: [
          auction('r1', 1, 0),
          bid('l1', 1, 0), // 0 - 0 = 0: after -1s
          bid('l2', 1, 30),
          bid('l3', 1, 60),
          bid('l4', 1, 61), // 0 - 61: before -1m
        ],
        watermarkAfter: 200,
      },
    ]);
    expect(out).toEqual([
      { row: { bid: 'l2', auction: 'r1' }, second: 30 },
      { row: { bid: 'l3', auction: 'r1' }, second: 60 },
    ]);
  });

  it('refuses bad options with every problem listed', () => {
    let error: unknown;
    try {
      intervalJoinSpec({
        left: 'bids',
        right: 'bids',
        on: { left: ['a', 'b'], right: 'c' },
        between: ['1h', 'soon'],
        type: 'outer' as 'left',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).diagnostics.map((d) => d.path)).toEqual([
      'right',
      'on',
      'between.1',
      'type',
    ]);
    expect(() =>
      intervalJoinSpec({ left: 'a', right: 'b', on: 'k', between: ['1h', '-1h'] }),
    ).toThrow(/the lower bound \(1h\) is after the upper bound \(-1h\)/);
    expect(
      intervalJoinSpec({ left: 'a', right: 'b', on: 'k', between: ['-1h30m', 500] }),
    ).toMatchObject({
      lowerMs: -5_400_000,
      upperMs: 500,
      leftKey: ['k'],
      rightKey: ['k'],
      type: 'inner',
    });
    expect(
      new IntervalJoinOperator(
        intervalJoinSpec({ left: 'a', right: 'b', on: 'k', between: [0, 0] }),
      ).stateSize(),
    ).toBe(0);
  });
});
