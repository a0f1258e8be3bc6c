import { afterEach, beforeEach, describe, expect as assert, it } from 'vitest';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import type { ExpectationResult } from './expectation.js';
import { expect, suite } from './suite.js';
import { validateSuite } from './validate.js';

let session: DuckDBSession;
let connection: EngineConnection;

beforeEach(async () => {
  session = await DuckDBSession.create({ threads: 2 });
  connection = await session.connect();
  // order 1: two rows, same customer (a compound duplicate); order 2: two rows, different
  // customers (not a compound duplicate); order NULL: two rows with customer c-9 (a compound
  // duplicate, NULLs compare equal as GX groups them) and one with NULL customer (missing).
  await connection.run(`CREATE TABLE orders AS SELECT * FROM (VALUES
    (1, 'c-1', 'paid'), (1, 'c-1', 'paid'), (2, 'c-2', 'paid'), (2, 'c-3', 'refunded'),
    (3, 'c-4', 'paid'), (NULL, 'c-9', 'paid'), (NULL, 'c-9', 'paid'), (NULL, NULL, 'paid'),
    (4, 'c-4', 'shipped')) v(order_id, customer_id, status)`);
});

afterEach(() => session.close());

async function validate(
  ...expectations: Parameters<typeof suite>[1]
): Promise<ExpectationResult[]> {
  const columns = [
    { name: 'order_id', type: { kind: 'int32' } },
    { name: 'customer_id', type: { kind: 'string' } },
    { name: 'status', type: { kind: 'string' } },
  ] as const;
  const result = await validateSuite(
    { connection, relation: 'orders', columns },
    suite('orders', expectations),
  );
  return [...result.results];
}

function failures(result: ExpectationResult | undefined): [number | undefined, unknown[]] {
  return [
    result?.result.unexpected_count,
    [...(result?.result.partial_unexpected_list ?? [])].map(String).sort(),
  ];
}

describe('uniqueness expectations in one suite', () => {
  it('find the same duplicates alone as beside a narrower key, in either order', async () => {
    const compound = expect.compoundUnique(['order_id', 'customer_id']);
    const [alone] = await validate(compound);
    assert(alone?.result.partial_unexpected_list).toEqual([
      { order_id: 1, customer_id: 'c-1' },
      { order_id: 1, customer_id: 'c-1' },
      { order_id: null, customer_id: 'c-9' },
      { order_id: null, customer_id: 'c-9' },
    ]);
    assert(alone?.result.missing_count).toBe(1);
    const [uniqueFirst, compoundSecond] = await validate(expect.unique('order_id'), compound);
    const [compoundFirst, uniqueSecond] = await validate(compound, expect.unique('order_id'));
    assert(failures(compoundSecond)).toEqual(failures(alone));
    assert(failures(compoundFirst)).toEqual(failures(alone));
    assert(failures(uniqueFirst)).toEqual([4, ['1', '1', '2', '2']]);
    assert(failures(uniqueSecond)).toEqual(failures(uniqueFirst));
  });

  it('narrow with a row condition and across three nested keys', async () => {
    const condition = { where: "status = 'paid'" };
    const results = await validate(
      expect.compoundUnique(['order_id', 'customer_id', 'status'], condition),
      expect.unique('order_id', condition),
      expect.compoundUnique(['order_id', 'customer_id'], condition),
    );
    assert(results.map((r) => r.result.unexpected_count)).toEqual([4, 2, 4]);
  });
});
