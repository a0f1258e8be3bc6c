import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import type { ColumnProfile, DatasetProfile } from './profile.js';
import { TOP_VALUES_MAX_DISTINCT, parseValue, profileRelation } from './profile.js';
import { SEMANTIC_KINDS } from './profile-semantic.js';

let session: DuckDBSession;
let connection: EngineConnection;

beforeEach(async () => {
  session = await DuckDBSession.create({ threads: 2 });
  connection = await session.connect();
});

afterEach(() => session.close());

function column(profile: DatasetProfile, name: string): ColumnProfile {
  const found = profile.columns.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no column ${name} in the profile`);
  return found;
}

/** An independent Luhn check, to compare with the SQL one. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

describe('profileRelation', () => {
  it('computes counts, range, moments and quartiles of an integer column with nulls', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES (1), (2), (3), (4), (NULL)) v(x)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(profile).toMatchObject({ rowCount: 5, columnCount: 1, approximate: false });
    const x = column(profile, 'x');
    expect(x).toMatchObject({
      type: 'int32',
      engineType: 'INTEGER',
      category: 'numeric',
      nonNullCount: 4,
      nullCount: 1,
      nullPercent: 20,
      distinctCount: 4,
      distinctApproximate: false,
      min: 1,
      max: 4,
      mean: 2.5,
      quantiles: { p25: 1.75, p50: 2.5, p75: 3.25 },
      quantilesApproximate: false,
      nanCount: null,
      length: null,
      semanticKinds: [],
    });
    expect(x.stdev).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(x.topValues).toEqual([1, 2, 3, 4].map((value) => ({ value, count: 1 })));
    expect(x.distinctValues).toEqual([1, 2, 3, 4]);
  });

  it('keeps decimals as numbers and 64-bit integers beyond 2^53 as exact text', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES (29.80::DECIMAL(12,2), 9007199254740993::BIGINT),
                                               (160.96::DECIMAL(12,2), 1::BIGINT)) v(amount, big)`,
    );
    const profile = await profileRelation(connection, 't');
    const amount = column(profile, 'amount');
    expect(amount).toMatchObject({ type: 'decimal(12,2)', min: 29.8, max: 160.96 });
    expect(amount.mean).toBeCloseTo(95.38, 10);
    expect(column(profile, 'big')).toMatchObject({ min: 1, max: '9007199254740993' });
  });

  it('computes string lengths, empty strings, top values with ties by value, and value sets', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES ('a'), ('bb'), ('bb'), (''), (NULL)) v(s)`,
    );
    const s = column(await profileRelation(connection, 't'), 's');
    expect(s).toMatchObject({
      category: 'string',
      nonNullCount: 4,
      nullCount: 1,
      distinctCount: 3,
      emptyCount: 1,
      min: '',
      max: 'bb',
      mean: null,
      quantiles: null,
      length: { min: 0, max: 2, mean: 1.25 },
      distinctValues: ['', 'a', 'bb'],
    });
    expect(s.topValues).toEqual([
      { value: 'bb', count: 2 },
      { value: '', count: 1 },
      { value: 'a', count: 1 },
    ]);
  });

  it('limits top values to the number asked for, most frequent first', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT CAST(range % 30 AS INTEGER) AS k FROM range(300) UNION ALL SELECT 7`,
    );
    const k = column(await profileRelation(connection, 't', { topValues: 3 }), 'k');
    expect(k.topValues).toEqual([
      { value: 7, count: 11 },
      { value: 0, count: 10 },
      { value: 1, count: 10 },
    ]);
    expect(k.distinctCount).toBe(30);
    expect(k.distinctValues).toBeNull();
  });

  it('profiles dates, timestamps and booleans', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES
         (DATE '2026-03-01', TIMESTAMP '2026-03-01 09:52:00', true),
         (DATE '2026-03-02', TIMESTAMP '2026-03-01 16:13:00', true),
         (DATE '2026-03-04', NULL, false),
         (DATE '2026-03-05', TIMESTAMP '2026-03-05 18:55:00', NULL)) v(d, ts, flag)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(column(profile, 'd')).toMatchObject({
      type: 'date',
      category: 'temporal',
      min: '2026-03-01',
      max: '2026-03-05',
      mean: null,
      quantiles: { p25: '2026-03-01', p50: '2026-03-02', p75: '2026-03-04' },
    });
    expect(column(profile, 'ts')).toMatchObject({
      type: 'timestamp',
      nullCount: 1,
      min: '2026-03-01 09:52:00',
      max: '2026-03-05 18:55:00',
      quantiles: { p50: '2026-03-01 16:13:00' },
    });
    expect(column(profile, 'flag')).toMatchObject({
      type: 'bool',
      category: 'boolean',
      min: false,
      max: true,
      distinctValues: [false, true],
      topValues: [
        { value: true, count: 2 },
        { value: false, count: 1 },
      ],
    });
  });

  it('profiles an empty table', async () => {
    await connection.run(
      `CREATE TABLE t (id BIGINT, name VARCHAR, seen_at TIMESTAMP, score DOUBLE)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(profile.rowCount).toBe(0);
    for (const c of profile.columns) {
      expect(c).toMatchObject({
        nonNullCount: 0,
        nullCount: 0,
        nullPercent: 0,
        distinctCount: 0,
        min: null,
        max: null,
        length: null,
        topValues: [],
        distinctValues: [],
        semanticKinds: [],
      });
    }
    expect(column(profile, 'id')).toMatchObject({ mean: null, stdev: null, quantiles: null });
    expect(column(profile, 'score')).toMatchObject({ nanCount: 0, infiniteCount: 0 });
  });

  it('profiles a column that is entirely null', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT range AS id, CAST(NULL AS VARCHAR) AS nothing,
                                CAST(NULL AS DOUBLE) AS no_number FROM range(5)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(column(profile, 'nothing')).toMatchObject({
      nonNullCount: 0,
      nullCount: 5,
      nullPercent: 100,
      distinctCount: 0,
      min: null,
      max: null,
      length: null,
      emptyCount: 0,
      topValues: [],
      semanticKinds: [],
    });
    expect(column(profile, 'no_number')).toMatchObject({
      mean: null,
      stdev: null,
      nanCount: 0,
      quantiles: null,
    });
  });

  it('counts NaN and infinities apart and keeps them out of the mean and quartiles', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT CAST(x AS DOUBLE) AS x FROM (VALUES ('1'), ('2'), ('NaN'), ('inf'), (NULL)) v(x)`,
    );
    const x = column(await profileRelation(connection, 't'), 'x');
    expect(x).toMatchObject({
      nonNullCount: 4,
      nullCount: 1,
      distinctCount: 4,
      nanCount: 1,
      infiniteCount: 1,
      min: 1,
      max: 'Infinity',
      mean: 1.5,
      quantiles: { p25: 1.25, p50: 1.5, p75: 1.75 },
    });
    expect(x.stdev).toBeCloseTo(Math.SQRT1_2, 12);
    expect(x.topValues?.map((t) => t.value)).toEqual([1, 2, 'Infinity', 'NaN']);
  });

  it('keeps mixed-case and spaced column names exactly', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT 1 AS "OrderID", 'x' AS "Customer Name", 2.5 AS "amountEUR"`,
    );
    const profile = await profileRelation(connection, 't');
    expect(profile.columns.map((c) => c.name)).toEqual(['OrderID', 'Customer Name', 'amountEUR']);
    expect(column(profile, 'OrderID')).toMatchObject({ min: 1, nonNullCount: 1 });
    expect(column(profile, 'Customer Name')).toMatchObject({ min: 'x', length: { max: 1 } });
  });

  it('quotes a hostile column name and runs nothing else', async () => {
    const hostile = 'a"; drop table victim; --';
    await connection.run(`CREATE TABLE victim AS SELECT 1 AS keep`);
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES ('a@example.com'), ('b@example.org'), (NULL)) v("a""; drop table victim; --")`,
    );
    const c = column(await profileRelation(connection, '"t"'), hostile);
    expect(c).toMatchObject({ nonNullCount: 2, nullCount: 1, distinctCount: 2 });
    expect(c.semanticKinds).toEqual([{ kind: 'email', share: 1, matches: 2 }]);
    expect(await connection.rows('SELECT keep FROM victim')).toEqual([{ keep: 1 }]);
  });

  it('profiles any relation: a query or a table function', async () => {
    const profile = await profileRelation(
      connection,
      '(SELECT range AS n, range % 2 = 0 AS even FROM range(10))',
    );
    expect(column(profile, 'n')).toMatchObject({ min: 0, max: 9, mean: 4.5 });
    expect(column(profile, 'even').distinctValues).toEqual([false, true]);
  });

  it('fails with an engine error naming the relation when it does not exist', async () => {
    await expect(profileRelation(connection, 'missing_table')).rejects.toMatchObject({
      code: 'ENGINE_FAILED',
      message: expect.stringContaining('missing_table') as unknown,
    });
  });

  it('estimates in approximate mode, and skips top values of high-cardinality columns', async () => {
    const rows = TOP_VALUES_MAX_DISTINCT * 2;
    await connection.run(
      `CREATE TABLE t AS SELECT range AS id, CAST(range % 7 AS VARCHAR) AS bucket FROM range(${rows})`,
    );
    const profile = await profileRelation(connection, 't', {
      mode: 'auto',
      approximateAboveRows: 1000,
    });
    expect(profile.approximate).toBe(true);
    const id = column(profile, 'id');
    expect(id.distinctApproximate).toBe(true);
    expect(id.topValues).toBeNull();
    expect(Math.abs(id.distinctCount - rows) / rows).toBeLessThan(0.1);
    expect(id.quantilesApproximate).toBe(true);
    expect(Math.abs(Number(id.quantiles?.p50) - rows / 2) / rows).toBeLessThan(0.02);
    // Low-cardinality columns are still grouped, which makes their distinct count exact.
    const bucket = column(profile, 'bucket');
    expect(bucket).toMatchObject({ distinctCount: 7, distinctApproximate: false });
    expect(bucket.topValues?.[0]).toEqual({ value: '0', count: Math.ceil(rows / 7) });

    const exact = await profileRelation(connection, 't', { mode: 'exact' });
    expect(column(exact, 'id')).toMatchObject({
      distinctCount: rows,
      distinctApproximate: false,
      quantiles: { p50: (rows - 1) / 2 },
    });
  });
});

describe('semantic kinds', () => {
  const samples: Record<string, string[]> = {
    email: ['ada@example.com', 'o.brien+news@mail.example.co.uk', "d'arcy@host-1.io", 'X_Y@a.dev'],
    url: ['https://example.com', 'http://a.b/c?d=1#e', 'ftp://files.example.org/x.tar.gz'],
    uuid: ['123e4567-e89b-12d3-a456-426614174000', 'F47AC10B-58CC-4372-A567-0E02B2C3D479'],
    ipv4: ['192.168.1.10', '10.0.0.1', '255.255.255.255', '8.8.8.8'],
    ipv6: [
      '2001:db8::1',
      '::1',
      'fe80::1ff:fe23:4567:890a',
      '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
    ],
    credit_card: ['4111 1111 1111 1111', '5555-5555-5555-4444', '378282246310005', '4222222222222'],
    phone: [
      '+44 20 7946 0958',
      '(555) 123-4567',
      '555-123-4567',
      '+15551234567',
      '+33 1 42 68 53 00',
    ],
    iso_date: ['2026-03-01', '1999-12-31', '2024-02-29'],
    iso_datetime: ['2026-03-01 09:52:00', '2026-03-01T09:52:00Z', '2026-03-01T09:52:00.123+01:00'],
  };

  it('detects each kind on values of that kind, and nothing on plain words', async () => {
    const longest = Math.max(...Object.values(samples).map((v) => v.length));
    const columns = [...Object.keys(samples), 'words'];
    const values = (name: string, i: number): string => {
      const list = samples[name] ?? ['apple', 'banana', 'cherry'];
      return `'${(list[i % list.length] as string).replaceAll("'", "''")}'`;
    };
    const rows = Array.from(
      { length: longest },
      (_, i) => `(${columns.map((c) => values(c, i)).join(', ')})`,
    );
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES ${rows.join(', ')}) v(${columns.map((c) => `"${c}"`).join(', ')})`,
    );
    const profile = await profileRelation(connection, 't');
    for (const kind of Object.keys(samples)) {
      expect(
        column(profile, kind).semanticKinds.map((k) => k.kind),
        kind,
      ).toEqual([kind]);
    }
    expect(column(profile, 'words').semanticKinds).toEqual([]);
    expect(column(profile, 'email').semanticKinds[0]).toEqual({
      kind: 'email',
      share: 1,
      matches: longest,
    });
  });

  it('reports a kind only when at least the threshold share of non-null values match', async () => {
    // 19 of 20 non-null values are e-mails (95%): reported. 18 of 20 (90%): not.
    await connection.run(
      `CREATE TABLE t AS SELECT
         CASE WHEN range < 19 THEN 'user' || range || '@example.com' ELSE 'nobody' END AS ok,
         CASE WHEN range < 18 THEN 'user' || range || '@example.com' ELSE 'nobody' END AS few,
         CASE WHEN range < 19 THEN 'user' || range || '@example.com' END AS with_null
       FROM range(20)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(column(profile, 'ok').semanticKinds).toEqual([
      { kind: 'email', share: 0.95, matches: 19 },
    ]);
    expect(column(profile, 'few').semanticKinds).toEqual([]);
    // Nulls are not values: 19 of 19.
    expect(column(profile, 'with_null').semanticKinds).toEqual([
      { kind: 'email', share: 1, matches: 19 },
    ]);
    const lenient = await profileRelation(connection, 't', { semanticThreshold: 0.9 });
    expect(column(lenient, 'few').semanticKinds).toEqual([
      { kind: 'email', share: 0.9, matches: 18 },
    ]);
  });

  it('requires the Luhn check for card numbers, agreeing with an independent implementation', async () => {
    const valid = samples['credit_card'] as string[];
    const invalid = valid.map((v) => v.slice(0, -1) + String((Number(v.at(-1)) + 1) % 10));
    expect(invalid.every((v) => !luhn(v.replaceAll(/\D/g, '')))).toBe(true);
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES ${valid.map((v, i) => `('${v}', '${invalid[i]}')`).join(', ')}) v(good, bad)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(column(profile, 'good').semanticKinds.map((k) => k.kind)).toEqual(['credit_card']);
    expect(column(profile, 'bad').semanticKinds).toEqual([]);

    // 2,000 random 16-digit numbers: about a tenth pass Luhn; the SQL count matches exactly.
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const numbers = Array.from({ length: 2000 }, () =>
      Array.from({ length: 16 }, (_, i) => (i === 0 ? 4 : Math.floor(random() * 10))).join(''),
    );
    await connection.run(
      `CREATE TABLE cards AS SELECT * FROM (VALUES ${numbers.map((n) => `('${n}')`).join(', ')}) v(n)`,
    );
    const cards = await profileRelation(connection, 'cards', { semanticThreshold: 0.01 });
    const expected = numbers.filter(luhn).length;
    expect(expected).toBeGreaterThan(100);
    expect(column(cards, 'n').semanticKinds.find((k) => k.kind === 'credit_card')?.matches).toBe(
      expected,
    );
  });

  it('tells dates, IPv4 addresses and card numbers apart from phone numbers', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES ('2026-03-01', '10.20.30.40', '4111111111111111', '1234.5')) v(d, ip, card, num)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(column(profile, 'd').semanticKinds.map((k) => k.kind)).toEqual(['iso_date']);
    expect(column(profile, 'ip').semanticKinds.map((k) => k.kind)).toEqual(['ipv4']);
    expect(column(profile, 'card').semanticKinds.map((k) => k.kind)).toEqual(['credit_card']);
    expect(column(profile, 'num').semanticKinds).toEqual([]);
  });

  it('reports "ip" for a column mixing IPv4 and IPv6, and only the specific kind otherwise', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES ('192.168.0.1', '::1'), ('2001:db8::2', '10.0.0.1')) v(a, b)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(column(profile, 'a').semanticKinds.map((k) => k.kind)).toEqual(['ip']);
    const v4 = await profileRelation(connection, `(SELECT '10.0.0.' || range AS a FROM range(9))`);
    expect(column(v4, 'a').semanticKinds.map((k) => k.kind)).toEqual(['ipv4']);
  });

  it('rejects impossible dates and times', async () => {
    await connection.run(
      `CREATE TABLE t AS SELECT * FROM (VALUES ('2026-13-01', '2026-03-31 25:00:00', '01.03.2026')) v(d, ts, dotted)`,
    );
    const profile = await profileRelation(connection, 't');
    expect(column(profile, 'd').semanticKinds).toEqual([]);
    expect(column(profile, 'ts').semanticKinds).toEqual([]);
    expect(column(profile, 'dotted').semanticKinds).toEqual([]);
  });

  it('counts every row exactly beyond the sample that picks the candidate kinds', async () => {
    // 50,000 rows: 49,000 e-mails and 1,000 words; the 10,000-row sample only picks candidates.
    await connection.run(
      `CREATE TABLE t AS SELECT CASE WHEN range % 50 = 0 THEN 'word' ELSE 'u' || range || '@example.com' END AS e
       FROM range(50000)`,
    );
    const e = column(await profileRelation(connection, 't'), 'e');
    expect(e.semanticKinds).toEqual([{ kind: 'email', share: 0.98, matches: 49000 }]);
  });

  it('has regexes that DuckDB compiles', async () => {
    for (const [kind, definition] of Object.entries(SEMANTIC_KINDS)) {
      const [row] = await connection.rows(
        `SELECT regexp_full_match('', '${definition.regex.replaceAll("'", "''")}') AS m`,
      );
      expect(row?.['m'], kind).toBe(false);
    }
  });
});

describe('parseValue', () => {
  it('turns statistics read as text into JSON-safe values', () => {
    expect(parseValue('29.80', 'numeric')).toBe(29.8);
    expect(parseValue('-12', 'numeric')).toBe(-12);
    expect(parseValue('9007199254740993', 'numeric')).toBe('9007199254740993');
    expect(parseValue('1.5e+20', 'numeric')).toBe(1.5e20);
    expect(parseValue('nan', 'numeric')).toBe('NaN');
    expect(parseValue('-inf', 'numeric')).toBe('-Infinity');
    expect(parseValue('true', 'boolean')).toBe(true);
    expect(parseValue('2026-03-01', 'temporal')).toBe('2026-03-01');
    expect(parseValue(12n, 'numeric')).toBe(12);
    expect(parseValue(null, 'string')).toBeNull();
  });
});
