import { describe, expect, it } from 'vitest';
import { ConfigError, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { expect as gx, suite, suiteFromGX } from '../quality/suite.js';
import { ExpectOperator, expectRows } from './expect-operator.js';
import type { SideOutput, StreamBatch } from './operator-spec.js';
import { createOperator } from './operators.js';
import type { StreamRow } from '../contracts/stream-connector.js';

interface SetAside {
  readonly row: StreamRow;
  readonly time: number;
  readonly reason: string;
  readonly kind: string | undefined;
}

function collector(): { side: SideOutput; aside: SetAside[] } {
  const aside: SetAside[] = [];
  return { side: (row, time, reason, kind) => aside.push({ row, time, reason, kind }), aside };
}

function recordingLogger(): { logger: Logger; warnings: { fields: object; message?: string }[] } {
  const warnings: { fields: object; message?: string }[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (fields, message) =>
      warnings.push({ fields, ...(message === undefined ? {} : { message }) }),
    error: () => undefined,
    child: () => logger,
  };
  return { logger, warnings };
}

const batchOf = (rows: StreamRow[]): StreamBatch => ({ rows, times: rows.map((_, i) => 1000 + i) });

const orders = suite('orders', [
  gx.notNull('order_id', { severity: 'quarantine' }),
  gx.between('amount', { min: 0, max: 100 }, { severity: 'quarantine' }),
  gx.inSet('currency', ['EUR', 'USD'], { severity: 'warn' }),
]);

describe('expectRows', () => {
  it('passes records that meet every expectation and sets aside, as invalid, those failing a quarantine one', () => {
    const operator = new ExpectOperator(orders);
    const { side, aside } = collector();
    const rows: StreamRow[] = [
      { order_id: 1, amount: 10, currency: 'EUR' }, // passes
      { order_id: null, amount: 5, currency: 'USD' }, // no order_id
      { order_id: 3, amount: -1, currency: 'EUR' }, // below 0
      { order_id: 4, amount: null, currency: 'GBP' }, // amount missing (not checked), GBP only warns
      { order_id: null, amount: 500, currency: 'EUR' }, // both quarantine expectations fail
      { order_id: 6, amount: 'ten', currency: 'EUR' }, // text cannot be compared with 0..100
    ];
    const out = operator.process(batchOf(rows), 0, side);

    expect(out.rows).toEqual([rows[0], rows[3]]);
    expect(out.times).toEqual([1000, 1003]);
    expect(aside.map((a) => [a.row, a.time, a.kind])).toEqual([
      [rows[1], 1001, 'invalid'],
      [rows[2], 1002, 'invalid'],
      [rows[4], 1004, 'invalid'],
      [rows[5], 1005, 'invalid'],
    ]);
    expect(aside.map((a) => a.reason)).toEqual([
      'expectation "column_values_to_not_be_null(order_id)" (expect_column_values_to_not_be_null) failed: order_id is null',
      'expectation "column_values_to_be_between(amount)" (expect_column_values_to_be_between) failed: amount = -1 is not between 0 and 100',
      'expectation "column_values_to_not_be_null(order_id)" (expect_column_values_to_not_be_null) failed: order_id is null; ' +
        'expectation "column_values_to_be_between(amount)" (expect_column_values_to_be_between) failed: amount = 500 is not between 0 and 100',
      'expectation "column_values_to_be_between(amount)" (expect_column_values_to_be_between) failed: amount = "ten" is text, which cannot be compared with number bounds',
    ]);
    expect(operator.counts()).toEqual({
      'column_values_to_not_be_null(order_id)': { checked: 6, missing: 0, failed: 2 },
      'column_values_to_be_between(amount)': { checked: 6, missing: 1, failed: 3 },
      'column_values_to_be_in_set(currency)': { checked: 6, missing: 0, failed: 1 },
    });
  });

  it('returns a batch that passes whole as it is, without copying it', () => {
    const operator = new ExpectOperator(orders);
    const batch = batchOf([{ order_id: 1, amount: 1, currency: 'USD' }]);
    expect(operator.process(batch, 0, collector().side)).toBe(batch);
  });

  it('logs warn failures once per checkpoint with their count and an example, and lets the records pass', () => {
    const operator = new ExpectOperator(
      suite('s', [gx.inSet('currency', ['EUR'], { severity: 'warn' })]),
    );
    const { logger, warnings } = recordingLogger();
    operator.open({ stream: 'payments', logger });
    const rows = [
      { currency: 'EUR' },
      { currency: 'GBP' },
      { currency: null },
      { currency: 'JPY' },
    ];
    expect(operator.process(batchOf(rows), 0, collector().side).rows).toHaveLength(4);
    operator.snapshot();
    expect(warnings).toEqual([
      {
        message: 'expectation failed (warn)',
        fields: {
          stream: 'payments',
          expectation: 'column_values_to_be_in_set(currency)',
          type: 'expect_column_values_to_be_in_set',
          unexpected: 2,
          checked: 3,
          missing: 1,
          example:
            'expectation "column_values_to_be_in_set(currency)" (expect_column_values_to_be_in_set) failed: currency = "GBP" is not in the set ["EUR"]',
        },
      },
    ]);
    // A checkpoint window without failures logs nothing.
    operator.process(batchOf([{ currency: 'EUR' }]), 0, collector().side);
    operator.snapshot();
    expect(warnings).toHaveLength(1);
  });

  it('judges mostly over the records between two checkpoints', () => {
    const operator = new ExpectOperator(
      suite('s', [gx.notNull('id', { severity: 'warn', mostly: 0.75 })]),
    );
    const { logger, warnings } = recordingLogger();
    operator.open({ stream: 's', logger });
    // 1 of 4 null: 75% pass, enough.
    operator.process(batchOf([{ id: 1 }, { id: 2 }, { id: null }, { id: 4 }]), 0, collector().side);
    operator.snapshot();
    expect(warnings).toHaveLength(0);
    // 2 of 4 null: 50%, not enough.
    operator.process(
      batchOf([{ id: 1 }, { id: null }, { id: null }, { id: 4 }]),
      0,
      collector().side,
    );
    operator.snapshot();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toMatchObject({ unexpected: 2, checked: 4, mostly: 0.75 });
  });

  it('stops the stream at the first record failing an error expectation, naming it and the record', () => {
    const operator = new ExpectOperator(suite('s', [gx.matchesRegex('sku', '^[A-Z]{3}-\\d+$')]));
    operator.open({ stream: 'inventory', logger: recordingLogger().logger });
    const run = (): StreamBatch =>
      operator.process(batchOf([{ sku: 'ABC-1' }, { sku: 'abc-2', qty: 3 }]), 0, collector().side);
    expect(run).toThrow(SluiceError);
    expect(run).toThrow(
      'stream "inventory": expectation "column_values_to_match_regex(sku)" (expect_column_values_to_match_regex) failed: sku = "abc-2" does not match /^[A-Z]{3}-\\d+$/, in record {"sku":"abc-2","qty":3}',
    );
    try {
      run();
    } catch (error) {
      expect((error as SluiceError).code).toBe('QUALITY_GATE_FAILED');
      expect((error as SluiceError).hint).toMatch(/quarantine/);
    }
  });

  it('with mostly, an error expectation stops the stream at the checkpoint whose window falls short', () => {
    const operator = new ExpectOperator(
      suite('s', [gx.between('temp', { min: -40, max: 60 }, { mostly: 0.5 })]),
    );
    const side = collector().side;
    operator.process(batchOf([{ temp: 20 }, { temp: 99 }]), 0, side);
    expect(() => operator.snapshot()).not.toThrow();
    operator.process(batchOf([{ temp: 20 }, { temp: 99 }, { temp: 120 }]), 0, side);
    expect(() => operator.snapshot()).toThrow(
      /temp = 99 is not between -40 and 60; 2 of 3 non-null records since the last checkpoint failed, more than mostly = 0.5 allows, in record \{"temp":99\}/,
    );
  });

  it('keeps its counts in checkpoints', () => {
    const first = new ExpectOperator(orders);
    first.process(batchOf([{ order_id: null, amount: 1, currency: 'EUR' }]), 0, collector().side);
    const state = JSON.parse(JSON.stringify(first.snapshot())) as unknown;
    const second = new ExpectOperator(orders);
    second.restore(state);
    second.process(batchOf([{ order_id: 2, amount: null, currency: 'EUR' }]), 0, collector().side);
    expect(second.counts()).toEqual({
      'column_values_to_not_be_null(order_id)': { checked: 2, missing: 0, failed: 1 },
      'column_values_to_be_between(amount)': { checked: 2, missing: 1, failed: 0 },
      'column_values_to_be_in_set(currency)': { checked: 2, missing: 0, failed: 0 },
    });
  });

  it('warns when no record of a checkpoint window has the column an expectation reads', () => {
    const operator = new ExpectOperator(suite('s', [gx.between('amout', { min: 0 })]));
    const { logger, warnings } = recordingLogger();
    operator.open({ stream: 's', logger });
    operator.process(batchOf([{ amount: 1 }, { amount: 2 }]), 0, collector().side);
    operator.snapshot();
    expect(warnings).toEqual([
      expect.objectContaining({
        fields: expect.objectContaining({
          expectation: 'column_values_to_be_between(amout)',
          records: 2,
        }),
        message: expect.stringMatching(/no record .* has the column/),
      }),
    ]);
  });

  it('takes a GX suite document, severities from meta, as a batch check does', () => {
    const operator = createOperator(
      expectRows(
        suiteFromGX({
          expectation_suite_name: 'events',
          expectations: [
            {
              expectation_type: 'expect_column_values_to_not_be_null',
              kwargs: { column: 'user' },
              meta: { severity: 'quarantine' },
            },
            {
              expectation_type: 'expect_column_value_lengths_to_be_between',
              kwargs: { column: 'user', min_value: 2, max_value: 8 },
              meta: { severity: 'quarantine' },
            },
          ],
        }),
      ),
    );
    const { side, aside } = collector();
    const out = operator.process(
      batchOf([{ user: 'ann' }, { user: 'x' }, {}, { user: 'bartholomew' }]),
      0,
      side,
    );
    expect(out.rows).toEqual([{ user: 'ann' }]);
    expect(aside.map((a) => a.reason)).toEqual([
      'expectation "column_value_lengths_to_be_between(user)" (expect_column_value_lengths_to_be_between) failed: user = "x" has length 1, not between 2 and 8',
      'expectation "column_values_to_not_be_null(user)" (expect_column_values_to_not_be_null) failed: the record has no "user"',
      'expectation "column_value_lengths_to_be_between(user)" (expect_column_value_lengths_to_be_between) failed: user = "bartholomew" has length 11, not between 2 and 8',
    ]);
  });

  it('takes a plain list of expectations', () => {
    const operator = createOperator(expectRows([gx.notNull('id', { severity: 'quarantine' })]));
    const { side, aside } = collector();
    expect(operator.process(batchOf([{ id: 1 }, { id: null }]), 0, side).rows).toEqual([{ id: 1 }]);
    expect(aside).toHaveLength(1);
  });

  it('refuses expectations a record cannot answer, naming each one', () => {
    const attempt = (): unknown =>
      new ExpectOperator(
        suite('s', [
          gx.notNull('id'),
          gx.meanBetween('amount', { min: 0 }),
          gx.unique('id', { severity: 'warn' }),
          gx.between('amount', { min: 0 }, { where: "country = 'DE'" }),
        ]),
      );
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const diagnostics = (error as ConfigError).diagnostics;
      expect(diagnostics.map((d) => [d.path, d.message])).toEqual([
        [
          'expectRows.expectations[1]',
          'expectation "column_mean_to_be_between(amount)" (expect_column_mean_to_be_between) judges a whole dataset (an aggregate or table expectation), not single records, so a stream cannot check it',
        ],
        [
          'expectRows.expectations[2]',
          'expectation "column_values_to_be_unique(id)" (expect_column_values_to_be_unique) compares each record with other records, so a stream cannot check it record by record',
        ],
        [
          'expectRows.expectations[3]',
          'expectation "column_values_to_be_between(amount)" (expect_column_values_to_be_between) has a row_condition (where), a SQL predicate, which a stream does not evaluate',
        ],
      ]);
      expect(diagnostics[1]?.hint).toMatch(/dedupe/);
    }
  });
});
