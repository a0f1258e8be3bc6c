import { z } from 'zod';
import type { Logger } from '../core/logger.js';
import type { EventTimeSpec } from './event-time.js';
import { describeEventTime, eventTimeOf, eventTimeReader } from './event-time.js';
import { INVALID_REASON_FIELD, isInvalidRecord } from '../contracts/payload.js';
import type {
  StreamReader,
  StreamRecord,
  StreamRow,
  StreamSourceConnector,
  StreamSourceContext,
  StreamStart,
} from '../contracts/stream-connector.js';
import { defineStreamSource } from '../contracts/stream-connector.js';

/**
 * The property under which a record of a stream with several sources carries the name of the
 * source it came from. A symbol: sinks, quarantine files and `JSON.stringify` do not see it, and
 * `{ ...record }` in a `map` keeps it. Read it with {@link sourceOf}.
 *
 * @example
 * ```ts
 * const bids = filter((r) => sourceOf(r) === 'bids');
 * ```
 */
export const RECORD_SOURCE: unique symbol = Symbol.for('sluice.stream.source');

/**
 * The name of the source a record came from, in a stream with several sources (undefined in a
 * stream with one, or for a record a step made anew without spreading the one it got).
 *
 * @example
 * ```ts
 * map((r) => ({ ...r, side: sourceOf(r) }))
 * ```
 */
export function sourceOf(row: StreamRow): string | undefined {
  const source = (row as Record<symbol, unknown>)[RECORD_SOURCE];
  return typeof source === 'string' ? source : undefined;
}

/**
 * Marks a record as coming from the named source (what the union of several sources does to
 * every record it reads); returns the record.
 *
 * @example
 * ```ts
 * const bid = markSource({ auction: 7, price: 120 }, 'bids');
 * sourceOf(bid); // 'bids'
 * ```
 */
export function markSource<Row extends StreamRow>(row: Row, source: string): Row {
  (row as Record<symbol, unknown>)[RECORD_SOURCE] = source;
  return row;
}

/** One of the named sources of a stream, resolved. */
export interface UnionMember {
  /** The source's name in the stream (`bids`); prefixes its partitions. */
  readonly name: string;
  readonly connector: StreamSourceConnector;
  /** Where this source's records hold their event time. */
  readonly eventTime: EventTimeSpec;
}

/** Between a source's name and its own partition or position in the union's. */
const SEPARATOR = '/';

/**
 * A stream source that reads several named sources as one: each is opened with its own config
 * and durable consumer (`<consumer>-<name>`), records are pulled from all of them fairly (each
 * gets its share of `max`; a quiet source does not hold up one that has records), and every
 * record is marked with its source's name ({@link sourceOf}). Partitions and positions are
 * prefixed with the source's name (`bids/orders.eu`, `bids/1042`), so checkpoints, watermarks
 * and acknowledgements stay per partition of each source; `comparePositions` and `ack` go to the
 * source a position belongs to. The union delivers as the weakest of its sources.
 *
 * A record whose event time is missing or unreadable in its source's `eventTime` is handed on as
 * an invalid record (quarantined with a reason naming the source), as is one its source could not
 * decode.
 *
 * @example
 * ```ts
 * const union = unionStreamSource([
 *   { name: 'bids', connector: natsSource, eventTime: 'date_time' },
 *   { name: 'auctions', connector: natsSource, eventTime: 'ts' },
 * ]);
 * const reader = await union.open({ bids: bidsConfig, auctions: auctionsConfig }, context);
 * ```
 */
export function unionStreamSource(
  members: readonly UnionMember[],
): StreamSourceConnector<Readonly<Record<string, unknown>>> {
  const byName = new Map(members.map((m) => [m.name, m]));
  const everyLatest = members.every((m) => m.connector.defaultStart === 'latest');
  return defineStreamSource<Readonly<Record<string, unknown>>>({
    name: `union(${members.map((m) => `${m.name}: ${m.connector.name}`).join(', ')})`,
    summary: 'Several named stream sources read as one.',
    config: z.record(z.string(), z.unknown()),
    delivery: members.some((m) => m.connector.delivery === 'at-most-once')
      ? 'at-most-once'
      : 'at-least-once',
    ...(everyLatest ? { defaultStart: 'latest' as const } : {}),
    comparePositions(a, b) {
      const [source, own] = split(a);
      const member = byName.get(source);
      return member === undefined
        ? a.localeCompare(b)
        : member.connector.comparePositions(own, split(b)[1]);
    },
    open: (config, context) => UnionReader.open(members, config, context),
  });
}

/**
 * The event-time spec of a stream with several sources: one spec for all of them as it is, or a
 * spec per source applied by each record's source.
 *
 * @example
 * ```ts
 * const eventTime = unionEventTime({ bids: 'date_time', auctions: 'ts' });
 * ```
 */
export function unionEventTime(
  spec: EventTimeSpec | Readonly<Record<string, EventTimeSpec>>,
): EventTimeSpec {
  if (typeof spec === 'string' || typeof spec === 'function') return spec;
  const readers = new Map(Object.entries(spec).map(([name, s]) => [name, eventTimeReader(s)]));
  return (row) => {
    const source = sourceOf(row);
    return source === undefined ? undefined : readers.get(source)?.(row);
  };
}

/** A source of the union, open, with the pull it may have in flight. */
interface OpenMember {
  readonly name: string;
  readonly reader: StreamReader;
  readonly readEventTime: (row: StreamRow) => unknown;
  readonly eventTimeWhere: string;
  /** The pull in flight, its share of records and, once settled, its outcome. */
  pending?: Promise<void>;
  quota: number;
  settled?: { readonly records: readonly StreamRecord[] } | { readonly error: unknown };
}

class UnionReader implements StreamReader {
  readonly #members: readonly OpenMember[];
  readonly #byName: ReadonlyMap<string, OpenMember>;
  readonly #signal: AbortSignal;
  /** Which member gets the first share next, so that with fewer records than sources all get turns. */
  #turn = 0;
  /** Whether the first pull was made: it waits for every source, so each can say where it is. */
  #primed = false;

  private constructor(members: readonly OpenMember[], signal: AbortSignal) {
    this.#members = members;
    this.#byName = new Map(members.map((m) => [m.name, m]));
    this.#signal = signal;
  }

  static async open(
    members: readonly UnionMember[],
    config: Readonly<Record<string, unknown>>,
    context: StreamSourceContext,
  ): Promise<UnionReader> {
    const opened = await Promise.allSettled(
      members.map((member) =>
        member.connector.open(config[member.name], {
          ...context,
          stepId: `${context.stepId}.${member.name}`,
          consumer: `${context.consumer}-${member.name}`,
          start: memberStart(context.start, member, context.logger),
        }),
      ),
    );
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(
        opened.map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)),
      );
      throw failed.reason;
    }
    return new UnionReader(
      members.map((member, i) => ({
        name: member.name,
        reader: (opened[i] as PromiseFulfilledResult<StreamReader>).value,
        readEventTime: eventTimeReader(member.eventTime),
        eventTimeWhere: describeEventTime(member.eventTime),
        quota: 0,
      })),
      context.signal,
    );
  }

  async pull(max: number, waitMs: number): Promise<readonly StreamRecord[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      this.#startPulls(max, Math.max(0, deadline - Date.now()));
      const inFlight = this.#members.flatMap((m) => (m.pending === undefined ? [] : [m.pending]));
      if (inFlight.length === 0) return [];
      if (this.#primed) await Promise.race(inFlight);
      else await Promise.all(inFlight);
      this.#primed = true;
      const records = this.#collect();
      if (records.length > 0 || Date.now() >= deadline || this.#signal.aborted) return records;
    }
  }

  async ack(positions: Readonly<Record<string, string>>): Promise<void> {
    const bySource = this.#bySource(positions);
    await Promise.all(
      [...bySource].map(async ([member, own]) => {
        await member.pending;
        await member.reader.ack(own);
      }),
    );
  }

  async lag(): Promise<number | undefined> {
    const lags = await Promise.all(
      this.#members.map(async (m) => {
        await m.pending;
        return m.reader.lag?.();
      }),
    );
    const known = lags.filter((lag): lag is number => lag !== undefined);
    return known.length === 0 ? undefined : known.reduce((sum, lag) => sum + lag, 0);
  }

  async close(): Promise<void> {
    // Records of pulls still in flight were not handed out: they come again after a restart.
    await Promise.all(this.#members.map((m) => m.pending));
    await Promise.all(this.#members.map((m) => m.reader.close()));
  }

  /** Starts a pull on every source without one, sharing out what `max` leaves free. */
  #startPulls(max: number, waitMs: number): void {
    const idle: OpenMember[] = [];
    let free = max;
    const count = this.#members.length;
    for (let i = 0; i < count; i++) {
      const member = this.#members[(this.#turn + i) % count] as OpenMember;
      if (member.pending === undefined) idle.push(member);
      else free -= member.quota;
    }
    this.#turn = (this.#turn + 1) % count;
    if (free <= 0) return;
    idle.forEach((member, i) => {
      const quota = Math.floor(free / idle.length) + (i < free % idle.length ? 1 : 0);
      if (quota === 0) return;
      member.quota = quota;
      member.pending = member.reader.pull(quota, waitMs).then(
        (records) => {
          member.settled = { records };
        },
        (error: unknown) => {
          member.settled = { error };
        },
      );
    });
  }

  /** The records of every settled pull, marked and prefixed; rethrows a failed pull's error. */
  #collect(): StreamRecord[] {
    const out: StreamRecord[] = [];
    for (const member of this.#members) {
      const settled = member.settled;
      if (settled === undefined) continue;
      member.settled = undefined;
      member.pending = undefined;
      member.quota = 0;
      if ('error' in settled) throw settled.error;
      for (const record of settled.records) out.push(this.#mark(member, record));
    }
    return out;
  }

  #mark(member: OpenMember, record: StreamRecord): StreamRecord {
    const value = markSource(record.value, member.name);
    if (isInvalidRecord(value))
      value[INVALID_REASON_FIELD] =
        `source "${member.name}": ${String(value[INVALID_REASON_FIELD])}`;
    else if (eventTimeOf(member.readEventTime(value)) === undefined)
      value[INVALID_REASON_FIELD] =
        `source "${member.name}": no valid event time in ${member.eventTimeWhere}`;
    const prefix = member.name + SEPARATOR;
    return {
      value,
      partition: prefix + record.partition,
      position: prefix + record.position,
      ...(record.brokerTime === undefined ? {} : { brokerTime: record.brokerTime }),
    };
  }

  /** The union's positions split by source, with the source's own partitions and positions. */
  #bySource(positions: Readonly<Record<string, string>>): Map<OpenMember, Record<string, string>> {
    const out = new Map<OpenMember, Record<string, string>>();
    for (const [partition, position] of Object.entries(positions)) {
      const [source, own] = split(partition);
      const member = this.#byName.get(source);
      if (member === undefined) continue;
      const forMember = out.get(member) ?? {};
      forMember[own] = split(position)[1];
      out.set(member, forMember);
    }
    return out;
  }
}

/** Where one source of the union starts, given where the union starts. */
function memberStart(start: StreamStart, member: UnionMember, logger: Logger): StreamStart {
  if (start.kind === 'checkpoint') {
    const prefix = member.name + SEPARATOR;
    // Without a prototype: a member's partition may be named `__proto__` or `constructor`.
    const positions = Object.create(null) as Record<string, string>;
    for (const [partition, position] of Object.entries(start.positions))
      if (partition.startsWith(prefix))
        positions[partition.slice(prefix.length)] = split(position)[1];
    return { kind: 'checkpoint', positions };
  }
  if (start.kind === 'beginning' && member.connector.defaultStart === 'latest') {
    logger.warn(
      { source: member.name, connector: member.connector.name },
      'this source cannot replay from the beginning: it starts with the records arriving from now',
    );
    return { kind: 'latest' };
  }
  return start;
}

/** `bids/orders.eu` as `['bids', 'orders.eu']`. */
function split(prefixed: string): [source: string, own: string] {
  const at = prefixed.indexOf(SEPARATOR);
  return at < 0 ? [prefixed, ''] : [prefixed.slice(0, at), prefixed.slice(at + 1)];
}
