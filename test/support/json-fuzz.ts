import fc from 'fast-check';

/**
 * What reading a generated record must do: `good` rows come out, `bad` ones are quarantined,
 * `maybe` ones may go either way (a NaN, a raw control character: readers differ).
 */
export type Expectation = 'good' | 'bad' | 'maybe';

/** One generated record: its exact bytes and what reading it must do. */
export interface GeneratedRecord {
  readonly bytes: Buffer;
  readonly expect: Expectation;
  readonly kind: string;
}

/** A generated record placed in a file: where it starts. */
export interface PlacedRecord extends GeneratedRecord {
  readonly line: number;
  readonly offset: number;
}

/** The schema every generated file is read with. */
export const FUZZ_SCHEMA_FIELDS = { id: 'int64 not null', name: 'string', amount: 'float64' };

const text = (s: string): Buffer => Buffer.from(s, 'utf8');
const record = (bytes: Buffer, expect: Expectation, kind: string): GeneratedRecord => ({
  bytes,
  expect,
  kind,
});

const ids = fc.integer({ min: -1_000_000_000, max: 1_000_000_000 });
/** Text without line feeds, including control characters and astral code points. */
const names = fc.string({ unit: 'binary', maxLength: 12 });

/** A record that fits the schema, as `JSON.stringify` writes it (with optional extra fields). */
const goodObject = fc
  .record({
    id: ids,
    name: fc.option(names),
    amount: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
    extra: fc.option(fc.oneof(fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }))),
  })
  .map(({ id, name, amount, extra }) => ({
    id,
    ...(name === null ? {} : { name }),
    ...(amount === null ? {} : { amount }),
    ...(extra === null ? {} : { extra }),
  }));

const good = goodObject.map((o) => record(text(JSON.stringify(o)), 'good', 'good'));

/** Valid JSON with a raw carriage return and tabs between tokens. */
const spaced = fc
  .tuple(ids, fc.constantFrom('\r', '\t', ' \r ', '\r\t'))
  .map(([id, ws]) =>
    record(text(`{${ws}"id":${ws}${id},${ws}"name":"x"${ws}}`), 'good', 'whitespace'),
  );

/** Bytes that are not UTF-8, inside a string value. */
const invalidUtf8 = fc
  .tuple(
    ids,
    fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80], [0xf8, 0x88]),
  )
  .map(([id, bad]) =>
    record(
      Buffer.concat([text(`{"id":${id},"name":"a`), Buffer.from(bad), text('b"}')]),
      'bad',
      'invalid utf-8',
    ),
  );

const badEscape = fc
  .tuple(ids, fc.constantFrom('\\q', '\\u12', '\\x41', '\\U0041', '\\u{41}'))
  .map(([id, esc]) => record(text(`{"id":${id},"name":"a${esc}b"}`), 'bad', 'bad escape'));

const nanOrInfinity = fc
  .tuple(ids, fc.constantFrom('NaN', 'Infinity', '-Infinity', 'nan'))
  .map(([id, v]) => record(text(`{"id":${id},"amount":${v}}`), 'maybe', 'NaN'));

const hugeNumber = fc
  .constantFrom(
    '123456789012345678901234567890',
    '9223372036854775808',
    '-9223372036854775809',
    '1e400',
    '1.5',
    '-0.25',
  )
  .map((n) => record(text(`{"id":${n},"name":"big"}`), 'bad', 'huge number'));

const hugeAmount = fc
  .tuple(ids, fc.constantFrom('1e400', '-1e400', '1e-400', '179769313486231570000e300'))
  .map(([id, n]) => record(text(`{"id":${id},"amount":${n}}`), 'maybe', 'huge amount'));

const missingId = fc
  .option(names)
  .map((name) =>
    record(text(JSON.stringify(name === null ? {} : { name })), 'bad', 'missing field'),
  );

const typeChange = fc
  .constantFrom('"abc"', '{"n":1}', '[1]', '"12x"', '""')
  .map((v) => record(text(`{"id":${v},"name":"t"}`), 'bad', 'type change'));

const notAnObject = fc
  .constantFrom('[1, 2]', '7', '"x"', 'null', 'true', '[]', '[{"id":1}]')
  .map((v) => record(text(v), 'bad', 'not an object'));

const rawControl = fc
  .tuple(ids, fc.constantFrom('\x00', '\x01', '\x1f', '\x7f'))
  .map(([id, c]) => record(text(`{"id":${id},"name":"a${c}b"}`), 'maybe', 'raw control'));

const malformedObject = fc
  .tuple(ids, fc.constantFrom('{"id":%,"name":}', "{'id':%}", '{"id":% "name":"x"}', '{"id":%:1}'))
  .map(([id, t]) => record(text(t.replace('%', String(id))), 'bad', 'malformed object'));

/** A trailing comma: DuckDB's JSON reader accepts it, a strict one would not. */
const trailingComma = ids.map((id) =>
  record(text(`{"id":${id},"name":"c",}`), 'maybe', 'trailing comma'),
);

/** Over 1 MB in one record: a good one, or the same cut short (NDJSON only). */
const hugeRecord = fc
  .tuple(ids, fc.integer({ min: 1_048_577, max: 1_100_000 }))
  .map(([id, size]) => record(text(`{"id":${id},"name":"${'x'.repeat(size)}"}`), 'good', 'huge'));

/**
 * Records that a JSON document splitter must still isolate: brackets and quotes balance.
 *
 * @example
 * ```ts
 * fc.array(framedRecord, { maxLength: 20 });
 * ```
 */
export const framedRecord: fc.Arbitrary<GeneratedRecord> = fc.oneof(
  { arbitrary: good, weight: 240 },
  { arbitrary: spaced, weight: 40 },
  { arbitrary: invalidUtf8, weight: 40 },
  { arbitrary: badEscape, weight: 40 },
  { arbitrary: nanOrInfinity, weight: 20 },
  { arbitrary: hugeNumber, weight: 20 },
  { arbitrary: hugeAmount, weight: 20 },
  { arbitrary: missingId, weight: 20 },
  { arbitrary: typeChange, weight: 40 },
  { arbitrary: rawControl, weight: 20 },
  { arbitrary: malformedObject, weight: 40 },
  { arbitrary: trailingComma, weight: 10 },
  { arbitrary: hugeRecord, weight: 1 },
);

/** A record cut short: a non-empty prefix of a good one (never a valid object). */
const truncated = fc
  .tuple(fc.oneof(good, hugeRecord), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([r, at]) => {
    const cut = 1 + Math.floor(at * (r.bytes.length - 2));
    return record(r.bytes.subarray(0, cut), 'bad', 'truncated');
  })
  .filter((r) => r.bytes[r.bytes.length - 1] !== 0x0d);

/** Any line of text without line feeds that is not blank. */
const garbage = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 20 })
  .filter((s) => !s.includes('\n') && !/^[ \t\r]*$/.test(s) && !s.endsWith('\r'))
  .map((s) => record(text(s), 'maybe', 'garbage'));

/**
 * One NDJSON line's record: anything a line can hold.
 *
 * @example
 * ```ts
 * fc.array(lineRecord, { maxLength: 20 });
 * ```
 */
export const lineRecord: fc.Arbitrary<GeneratedRecord> = fc.oneof(
  { arbitrary: framedRecord, weight: 10 },
  { arbitrary: truncated, weight: 2 },
  { arbitrary: garbage, weight: 1 },
  { arbitrary: notAnObject, weight: 1 },
);

/** Lines that are no records (blank), to put between records. */
export const blankLine = fc.constantFrom('', ' ', '\t', '  \t ', '\r');

/**
 * Builds an NDJSON file from records, line breaks and blank lines, and places each record.
 *
 * @example
 * ```ts
 * const { bytes, placed } = ndjsonFile(records, ['\n'], [[]], true);
 * ```
 */
export function ndjsonFile(
  records: readonly GeneratedRecord[],
  breaks: readonly string[],
  blanks: readonly (readonly string[])[],
  finalBreak: boolean,
): { bytes: Buffer; placed: PlacedRecord[] } {
  const parts: Buffer[] = [];
  const placed: PlacedRecord[] = [];
  let offset = 0;
  let line = 1;
  const put = (b: Buffer): void => {
    parts.push(b);
    offset += b.length;
  };
  records.forEach((r, i) => {
    for (const blank of blanks[i % blanks.length] ?? []) {
      put(text(`${blank}\n`));
      line++;
    }
    placed.push({ ...r, line, offset });
    put(r.bytes);
    if (i < records.length - 1 || finalBreak) put(text(breaks[i % breaks.length] ?? '\n'));
    line++;
  });
  return { bytes: Buffer.concat(parts), placed };
}

/**
 * Builds a JSON document from records: one top-level array, or objects one after another.
 *
 * @example
 * ```ts
 * const { bytes, placed, ends } = jsonDocument(records, 'array', [' ', '\n']);
 * ```
 */
export function jsonDocument(
  records: readonly GeneratedRecord[],
  layout: 'array' | 'concatenated',
  spaces: readonly string[],
): { bytes: Buffer; placed: PlacedRecord[]; ends: number[] } {
  const parts: Buffer[] = [];
  const placed: PlacedRecord[] = [];
  const ends: number[] = [];
  let offset = 0;
  let line = 1;
  const put = (s: Buffer | string): void => {
    const b = typeof s === 'string' ? text(s) : s;
    parts.push(b);
    offset += b.length;
    for (const byte of b) if (byte === 0x0a) line++;
  };
  const space = (i: number): string => spaces[i % spaces.length] ?? '';
  if (layout === 'array') put(`[${space(0)}`);
  records.forEach((r, i) => {
    if (i > 0) put(layout === 'array' ? `${space(i)},${space(i + 1)}` : `${space(i)}\n`);
    placed.push({ ...r, line, offset });
    put(r.bytes);
    ends.push(offset);
  });
  if (layout === 'array') put(`${space(records.length)}]`);
  return { bytes: Buffer.concat(parts), placed, ends };
}
