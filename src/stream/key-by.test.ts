import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { stream, streamSink, streamSource } from '../define/stream.js';
import { count } from './aggregates.js';
import { defaultStreamRegistry } from '../default-stream-registry.js';
import { keyBy, resolveKeys } from './key-by.js';
import type { OperatorSpec, StreamBatch } from './operator-spec.js';
import { createOperator, dedupe, map, window } from './operators.js';
import { planStream } from './plan-stream.js';
import { tumbling } from './windows.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');

function resolved(steps: readonly OperatorSpec[]): OperatorSpec[] {
  return resolveKeys(steps, (message) => {
    throw new Error(message);
  });
}

/** Runs records through the steps as the runtime does, then closes every window. */
function run(steps: readonly OperatorSpec[], rows: Record<string, unknown>[]): unknown[] {
  const operators = resolved(steps).map(createOperator);
  let batch: StreamBatch = { rows, times: rows.map((_, i) => T0 + i * 1000) };
  for (const operator of operators) batch = operator.process(batch, -Infinity, () => undefined);
  const out: unknown[] = [...batch.rows];
  for (const operator of operators) out.push(...operator.advance(Infinity).rows);
  return out;
}

describe('keyBy', () => {
  it('gives its key to the keyed steps after it that name none, until the next keyBy', () => {
    const steps = resolved([
      keyBy('page'),
      dedupe({ ttl: '1m' }),
      window({ window: tumbling('1m'), aggregate: { views: count() } }),
      window({ key: 'country', window: tumbling('1m'), aggregate: { views: count() } }),
      keyBy(['page', 'country']),
      dedupe({ ttl: '1m' }),
      dedupe({ key: 'id', ttl: '1m' }),
    ]);
    expect(
      steps.map((s) =>
        s.kind === 'window'
          ? s.options.key
          : s.kind === 'dedupe' || s.kind === 'keyBy'
            ? s.key
            : s.kind,
      ),
    ).toEqual([
      ['page'],
      ['page'],
      ['page'],
      'country',
      ['page', 'country'],
      ['page', 'country'],
      ['id'],
    ]);
  });

  it('dedupes and windows by the key it sets', () => {
    const rows = [
      { page: 'home', id: 1 },
      { page: 'cart', id: 2 },
      { page: 'home', id: 3 }, // same key within the ttl: dropped
      { page: 'help', id: 4 },
    ];
    expect(run([keyBy('page'), dedupe({ ttl: '1h' })], rows)).toEqual([rows[0], rows[1], rows[3]]);
    expect(
      run(
        [keyBy('page'), window({ window: tumbling('1m'), aggregate: { views: count() } })],
        rows,
      ).map((r) => [
        (r as Record<string, unknown>)['page'],
        (r as Record<string, unknown>)['views'],
      ]),
    ).toEqual([
      ['home', 2],
      ['cart', 1],
      ['help', 1],
    ]);
  });

  it('keys by a function through a column it adds (key, or the name given)', () => {
    const rows = [
      { url: 'https://a.example/x' },
      { url: 'https://b.example/y' },
      { url: 'https://a.example/z' },
    ];
    const host = (r: Record<string, unknown>): string => new URL(String(r['url'])).host;
    expect(run([keyBy(host)], rows.slice(0, 1))).toEqual([
      { url: 'https://a.example/x', key: 'a.example' },
    ]);
    const out = run(
      [
        keyBy(host, { as: 'host' }),
        map((r) => ({ host: r['host'] })),
        window({ window: tumbling('1m'), aggregate: { hits: count() } }),
      ],
      rows,
    ) as Record<string, unknown>[];
    expect(out.map((r) => [r['host'], r['hits']])).toEqual([
      ['a.example', 2],
      ['b.example', 1],
    ]);
  });

  it('leaves a window without a key from either as one group of all records', () => {
    const [step] = resolved([window({ window: tumbling('1m'), aggregate: { n: count() } })]);
    expect(step?.kind === 'window' && step.options.key).toBeUndefined();
  });

  it('is a plan-time error for a dedupe with no key from itself or a keyBy', () => {
    const definition = stream('clicks', {
      source: streamSource.files({ path: 'in' }),
      eventTime: 'ts',
      steps: [map((r) => r), dedupe({ ttl: '10m' }), keyBy([])],
      sink: streamSink.files({ path: 'out' }),
    });
    const plan = (): unknown => planStream(definition, defaultStreamRegistry);
    expect(plan).toThrow(ConfigError);
    try {
      plan();
    } catch (error) {
      expect((error as ConfigError).diagnostics.map((d) => [d.path, d.message, d.hint])).toEqual([
        [
          'steps[1]',
          'dedupe has no key: it names none and no keyBy comes before it',
          "name the key (dedupe({ key: 'event_id', ttl: '10m' })) or put keyBy('event_id') before it",
        ],
        [
          'steps[2]',
          'keyBy needs a column, a list of columns or a function of the record',
          "keyBy('page'), keyBy(['page', 'country']) or keyBy((r) => r.page)",
        ],
      ]);
    }
  });

  it('refuses to make a dedupe without a key when the plan was not resolved', () => {
    expect(() => createOperator(dedupe({ ttl: '1m' }))).toThrow(/dedupe has no key/);
  });
});
