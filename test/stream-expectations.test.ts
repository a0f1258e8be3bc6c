import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, SluiceError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { expect as gx, suite } from '../src/quality/suite.js';
import {
  defaultStreamRegistry,
  expectRows,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
import type { OperatorSpec, StreamProgress } from '../src/stream/index.js';
import { readNDJSON, tempDir } from './helpers.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');

/** The same suite a batch pipeline could attach to its orders dataset. */
const orders = suite('orders', [
  gx.notNull('order_id', { severity: 'quarantine' }),
  gx.between('amount', { min: 0, max: 10_000 }, { severity: 'quarantine' }),
  gx.matchesRegex('customer_id', '^c-[0-9]{3}$', { severity: 'quarantine' }),
  gx.inSet('currency', ['EUR', 'USD', 'GBP'], { severity: 'warn' }),
]);

interface Order {
  readonly order_id: number | null;
  readonly amount: number | string | null;
  readonly customer_id: string;
  readonly currency: string;
}

function ordersStream(dir: string, steps: readonly OperatorSpec[]) {
  return planStream(
    stream('orders', {
      source: streamSource.files({ path: join(dir, 'in') }),
      eventTime: 'ts',
      steps,
      sink: streamSink.files({ path: join(dir, 'out') }),
      checkpoint: { every: '50ms' },
    }),
    defaultStreamRegistry,
  );
}

async function writeOrders(dir: string, orders: readonly Order[]): Promise<void> {
  await mkdir(join(dir, 'in'), { recursive: true });
  const lines = orders.map((o, i) => JSON.stringify({ ...o, ts: T0 + i * 1000 }));
  await writeFile(join(dir, 'in', 'orders.ndjson'), `${lines.join('\n')}\n`);
}

async function output(dir: string): Promise<Record<string, unknown>[]> {
  const folder = join(dir, 'out');
  const names = (await readdir(folder).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.ndjson'))
    .sort();
  const rows: Record<string, unknown>[] = [];
  for (const name of names) rows.push(...(await readNDJSON(join(folder, name))));
  return rows;
}

describe('row expectations in a stream', () => {
  it('writes passing records to the sink and quarantines failing ones with the expectation and reason', async () => {
    const dir = await tempDir();
    const input: Order[] = [
      { order_id: 1, amount: 12.5, customer_id: 'c-001', currency: 'EUR' }, // passes
      { order_id: null, amount: 3, customer_id: 'c-002', currency: 'USD' }, // no order_id
      { order_id: 3, amount: -5, customer_id: 'c-003', currency: 'EUR' }, // negative amount
      { order_id: 4, amount: 7, customer_id: 'C4', currency: 'EUR' }, // bad customer id
      { order_id: 5, amount: null, customer_id: 'c-005', currency: 'CHF' }, // passes: null amount is not checked, CHF only warns
      { order_id: null, amount: 20_000, customer_id: 'c-006', currency: 'GBP' }, // two failures
      { order_id: 7, amount: 'lots', customer_id: 'c-007', currency: 'USD' }, // text amount
      { order_id: 8, amount: 10_000, customer_id: 'c-008', currency: 'GBP' }, // passes: the maximum
    ];
    await writeOrders(dir, input);
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const stop = new AbortController();
    try {
      const progress: StreamProgress = await runStream(ordersStream(dir, [expectRows(orders)]), {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'quarantine'), 'orders'),
        signal: stop.signal,
        logger: silentLogger,
        onCheckpoint: (p) => {
          if (p.recordsIn >= input.length) stop.abort();
        },
      });

      expect((await output(dir)).map((r) => r['order_id'])).toEqual([1, 5, 8]);
      const quarantined = await readNDJSON(join(dir, 'quarantine', 'invalid.ndjson'));
      expect(quarantined.map((q) => [(q['record'] as Order).order_id, q['reason']])).toEqual([
        [
          null,
          'expectation "column_values_to_not_be_null(order_id)" (expect_column_values_to_not_be_null) failed: order_id is null',
        ],
        [
          3,
          'expectation "column_values_to_be_between(amount)" (expect_column_values_to_be_between) failed: amount = -5 is not between 0 and 10000',
        ],
        [
          4,
          'expectation "column_values_to_match_regex(customer_id)" (expect_column_values_to_match_regex) failed: customer_id = "C4" does not match /^c-[0-9]{3}$/',
        ],
        [
          null,
          'expectation "column_values_to_not_be_null(order_id)" (expect_column_values_to_not_be_null) failed: order_id is null; ' +
            'expectation "column_values_to_be_between(amount)" (expect_column_values_to_be_between) failed: amount = 20000 is not between 0 and 10000',
        ],
        [
          7,
          'expectation "column_values_to_be_between(amount)" (expect_column_values_to_be_between) failed: amount = "lots" is text, which cannot be compared with number bounds',
        ],
      ]);
      expect(quarantined[0]).toMatchObject({
        step: 'invalid',
        record: { order_id: null, amount: 3, customer_id: 'c-002', currency: 'USD' },
      });
      // Every record read is either in the sink or in the quarantine.
      expect(progress).toMatchObject({ recordsIn: 8, recordsOut: 3, recordsInvalid: 5 });
      expect(progress.recordsIn).toBe(progress.recordsOut + progress.recordsInvalid);
    } finally {
      await store.close();
    }
  });

  it('stops the stream with a clear error on a record failing an error expectation, committing nothing after the last checkpoint', async () => {
    const dir = await tempDir();
    await writeOrders(dir, [
      { order_id: 1, amount: 1, customer_id: 'c-001', currency: 'EUR' },
      { order_id: 2, amount: -40, customer_id: 'c-002', currency: 'EUR' },
      { order_id: 3, amount: 2, customer_id: 'c-003', currency: 'EUR' },
    ]);
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const strict = suite('orders', [gx.between('amount', { min: 0 })]);
    const run = (): Promise<StreamProgress> =>
      runStream(ordersStream(dir, [expectRows(strict)]), {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'quarantine'), 'orders'),
        signal: new AbortController().signal,
        logger: silentLogger,
      });
    try {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).code).toBe('QUALITY_GATE_FAILED');
      expect((error as SluiceError).message).toMatch(
        /expectation "column_values_to_be_between\(amount\)" \(expect_column_values_to_be_between\) failed: amount = -40 is not at least 0, in record \{"order_id":2,"amount":-40,/,
      );
      expect((error as SluiceError).hint).toMatch(/resumes from its last one/);
      expect(await output(dir)).toEqual([]);
      expect(await new StreamCheckpoints(store).last('orders')).toBeUndefined();
      // A restart meets the same record again: nothing is skipped.
      await expect(run()).rejects.toThrow(/amount = -40/);
    } finally {
      await store.close();
    }
  });

  it('refuses at plan time a suite with expectations a record cannot answer', () => {
    const dir = '/nonexistent';
    const attempt = (): unknown =>
      ordersStream(dir, [
        expectRows(
          suite('orders', [
            gx.notNull('order_id'),
            gx.rowCountBetween({ min: 1 }),
            gx.compoundUnique(['order_id', 'line']),
          ]),
        ),
      ]);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /steps\[0\]\.expectations\[1\].*"table_row_count_to_be_between" \(expect_table_row_count_to_be_between\) judges a whole dataset/,
    );
    expect(attempt).toThrow(
      /steps\[0\]\.expectations\[2\].*compares each record with other records/,
    );
  });
});
