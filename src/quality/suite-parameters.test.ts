import { describe, expect as assert, it } from 'vitest';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import { evaluateSuiteParameter, resolveSuiteParameters } from './suite-parameters.js';
import { expect, suite } from './suite.js';
import { validateSuite } from './validate.js';

const now = new Date('2026-03-10T12:30:00.000Z');
const at = (text: string): string => {
  const value = evaluateSuiteParameter(text, { now });
  return value instanceof Date ? value.toISOString() : String(value);
};

describe('suite parameter expressions', () => {
  it('now() is the given instant', () => {
    assert(at('now()')).toBe('2026-03-10T12:30:00.000Z');
  });

  it('datetime() takes year, month, day and optional time parts, positional or named', () => {
    assert(at('datetime(2003, 1, 1)')).toBe('2003-01-01T00:00:00.000Z');
    assert(at('datetime(1969, 12, 31, 23, 59, 58)')).toBe('1969-12-31T23:59:58.000Z');
    assert(at('datetime(2024, 2, 29, hour=6)')).toBe('2024-02-29T06:00:00.000Z');
    assert(at('datetime(year=99, month=1, day=1)')).toBe('0099-01-01T00:00:00.000Z');
  });

  it('timedelta() in every unit, with arithmetic inside its arguments', () => {
    assert(at('now() - timedelta(weeks=52*100)')).toBe(
      new Date(now.getTime() - 5200 * 7 * 86_400_000).toISOString(),
    );
    assert(at('now() + timedelta(days=1, hours=2, minutes=3, seconds=4)')).toBe(
      '2026-03-11T14:33:04.000Z',
    );
    assert(at('timedelta(hours=1) + now()')).toBe('2026-03-10T13:30:00.000Z');
    assert(at('now() - timedelta(milliseconds=250)')).toBe('2026-03-10T12:29:59.750Z');
    assert(at('now() - 2 * timedelta(days=1.5)')).toBe('2026-03-07T12:30:00.000Z');
    assert(at('now() - (timedelta(days=2) - timedelta(days=1))')).toBe('2026-03-09T12:30:00.000Z');
  });

  it('numbers follow precedence and unary minus', () => {
    assert(evaluateSuiteParameter('1 + 2 * 3')).toBe(7);
    assert(evaluateSuiteParameter('(1 + 2) * -3')).toBe(-9);
    assert(evaluateSuiteParameter('10 / 4 - .5')).toBe(2);
  });

  it('named parameters are looked up, never evaluated', () => {
    assert(evaluateSuiteParameter('upstream_rows * 2', { parameters: { upstream_rows: 21 } })).toBe(
      42,
    );
  });

  it.each([
    ['now(1)', /now\(\) takes no arguments/],
    ['datetime(2023, 2, 29)', /not a valid date/],
    ['datetime(2023, 13, 1)', /not a valid date/],
    ['datetime(2023)', /needs year, month and day/],
    ['timedelta(3)', /takes named arguments/],
    ['timedelta(fortnights=1)', /no argument "fortnights"/],
    ['timedelta(days=1)', /is a duration/],
    ['now() + now()', /cannot apply "\+" to a datetime and a datetime/],
    ['now() * 2', /cannot apply/],
    ['1 / 0', /division by zero/],
    ['__import__("os").system("true")', /unexpected character|unknown/],
    ['process.exit(1)', /unexpected character|unknown/],
    ['eval(1)', /unknown function eval\(\)/],
    ['now() now()', /unexpected text/],
    ['now(', /expected/],
    ['missing_name', /unknown name "missing_name"/],
    ['', /expected a value/],
  ])('%s is refused with a clear message', (text, message) => {
    assert(() => evaluateSuiteParameter(text, { now })).toThrow(message);
  });
});

describe('suite parameter limits', () => {
  it('refuses an expression longer than 1000 characters before parsing it', () => {
    const deep = '('.repeat(5000) + '1' + ')'.repeat(5000);
    assert(() => evaluateSuiteParameter(deep)).toThrow(/at most 1000 characters, got 10001/);
  });
});

describe('resolveSuiteParameters', () => {
  it('replaces $PARAMETER kwargs and keeps the others', () => {
    const resolved = resolveSuiteParameters(
      { column: 'ts', min_value: { $PARAMETER: 'datetime(1969, 1, 1)' }, max_value: 3 },
      { now },
    );
    assert(resolved['column']).toBe('ts');
    assert(resolved['max_value']).toBe(3);
    assert((resolved['min_value'] as Date).toISOString()).toBe('1969-01-01T00:00:00.000Z');
  });

  it('returns the same object when there is no parameter', () => {
    const kwargs = { column: 'a', value_set: [{ $other: 1 }] };
    assert(resolveSuiteParameters(kwargs)).toBe(kwargs);
  });

  it('refuses a $PARAMETER that is not text', () => {
    assert(() => resolveSuiteParameters({ min_value: { $PARAMETER: 5 } })).toThrow(
      /"min_value": \$PARAMETER must be a string expression/,
    );
  });
});

describe('suite parameters in a validation', () => {
  it('compare datetimes in UTC with instant and text columns, whatever the session time zone', async () => {
    const session = await DuckDBSession.create({ threads: 1 });
    try {
      const connection = await session.connect();
      await connection.run(`SET TimeZone = 'America/New_York'`);
      await connection.run(
        `CREATE TABLE t AS SELECT TIMESTAMPTZ '2020-01-01 00:00:00+00' AS at_utc, '2020-01-01T00:00:00' AS at_text`,
      );
      const between = (column: string) =>
        expect.gx('expect_column_values_to_be_between', {
          column,
          min_value: { $PARAMETER: 'datetime(2020, 1, 1)' },
          max_value: { $PARAMETER: 'datetime(2020, 1, 1) + timedelta(seconds=1)' },
        });
      const result = await validateSuite(
        {
          connection,
          relation: 't',
          columns: [
            { name: 'at_utc', type: { kind: 'timestamp', tz: true } },
            { name: 'at_text', type: { kind: 'string' } },
          ],
        },
        suite('s', [between('at_utc'), between('at_text')]),
      );
      assert(result.results.map((r) => [r.success, r.exception_info.exception_message])).toEqual([
        [true, null],
        [true, null],
      ]);
    } finally {
      session.close();
    }
  });
});

describe('suite parameters in aggregate expectations', () => {
  it('bound min and max of a timestamp column', async () => {
    const session = await DuckDBSession.create({ threads: 1 });
    try {
      const connection = await session.connect();
      await connection.run(
        `CREATE TABLE t AS SELECT * FROM (VALUES (TIMESTAMP '2020-01-01 00:00:00.500'), (TIMESTAMP '2020-01-03 00:00:00')) v(seen)`,
      );
      const result = await validateSuite(
        {
          connection,
          relation: 't',
          columns: [{ name: 'seen', type: { kind: 'timestamp', tz: false } }],
        },
        suite('s', [
          expect.gx('expect_column_min_to_be_between', {
            column: 'seen',
            min_value: { $PARAMETER: 'datetime(2020, 1, 1, 0, 0, 1)' },
          }),
          expect.gx('expect_column_max_to_be_between', {
            column: 'seen',
            max_value: { $PARAMETER: 'datetime(2020, 1, 3) + timedelta(days=1)' },
          }),
          expect.gx('expect_column_max_to_be_between', {
            column: 'seen',
            max_value: { $PARAMETER: 'datetime(2020, 1, 2)' },
          }),
        ]),
      );
      assert(result.results.map((r) => [r.success, r.exception_info.exception_message])).toEqual([
        [false, null],
        [true, null],
        [false, null],
      ]);
    } finally {
      session.close();
    }
  });
});
