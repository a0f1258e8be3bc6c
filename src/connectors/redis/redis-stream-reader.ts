import type { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { SourceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSourceContext,
  StreamStart,
} from '../../contracts/stream-connector.js';
import type { redisStreamSourceConfig } from './redis-configs.js';
import { RedisLink } from './redis-connection.js';
import type { EntryDecoding, RawEntry } from './stream-entries.js';
import { compareEntryIds, entryRecord, isEntryId } from './stream-entries.js';

type SourceConfig = z.output<typeof redisStreamSourceConfig>;

/**
 * Where a key is in its reading order: `takeover` while entries other consumers left pending
 * at open time wait to be claimed, `own` while this consumer's pending entries are re-read,
 * `new` once it reads entries never delivered (`>`).
 */
type KeyPhase = 'takeover' | 'own' | 'new';

interface KeyState {
  readonly key: string;
  phase: KeyPhase;
  /** The last pending entry re-read in phase `own`. */
  ownCursor: string;
  /** The newest entry pending with any consumer at open: the end of the takeover. */
  takeoverUpTo: string;
  /** Where the takeover goes on listing pending entries (XPENDING start, `(id` exclusive). */
  takeoverFrom: string;
  /** The XAUTOCLAIM cursor of the periodic claim. */
  claimCursor: string;
  /** The newest entry id handed out. */
  highWater: string | undefined;
  /** Ids handed out and not acknowledged, in the order handed out. */
  held: string[];
  readonly heldSet: Set<string>;
  waitingLogged: boolean;
}

/** A raw XREADGROUP reply: per key, its entries (pairs, or an object by key). */
type ReadReply =
  | readonly (readonly [key: string, entries: readonly RawEntry[]])[]
  | Readonly<Record<string, readonly RawEntry[]>>
  | null;
/** A raw XPENDING range reply: id, consumer, idle ms, deliveries. */
type PendingReply = readonly (readonly [string, string, number, number])[];
/** A raw XPENDING summary: count, lowest id, highest id, per consumer its count. */
type PendingSummary = readonly [number, string | null, string | null, [string, string][] | null];

/** The largest sequence number of an entry id: `<ms - 1>-<this>` is just before `<ms>-0`. */
const MAX_SEQUENCE = '18446744073709551615';
/** Most pending entries looked at per takeover step, and ids per XACK. */
const PAGE = 1_000;
/** Most time between two periodic claims, however long `claimIdle` is. */
const MAX_CLAIM_EVERY_MS = parseDuration('30s');

/**
 * An open `redis_stream` source: reads its keys with consumer group `context.consumer` as
 * consumer `context.worker`.
 *
 * Order per key: entries other consumers left pending at open are claimed first (each once it
 * has been idle `claimIdle`), then this consumer's pending entries are re-read, then new
 * entries are read; so a key's positions increase even after a takeover. While running, entries
 * other consumers leave idle for `claimIdle` are claimed every `claimIdle / 2` (XAUTOCLAIM).
 *
 * @example
 * ```ts
 * const reader = await RedisStreamReader.open(config, context);
 * const records = await reader.pull(500, 1000);
 * await reader.ack({ [records[0]!.partition]: records.at(-1)!.position });
 * ```
 */
export class RedisStreamReader implements StreamReader {
  readonly #commands: RedisLink;
  readonly #blocking: RedisLink;
  readonly #group: string;
  readonly #worker: string;
  readonly #keys: ReadonlyMap<string, KeyState>;
  readonly #decoding: EntryDecoding;
  readonly #batchSize: number;
  readonly #claimIdleMs: number;
  readonly #claimEveryMs: number;
  readonly #logger: Logger;
  #nextClaimAt: number;
  /** Records read (so delivered to this consumer) and not handed out yet, in order. */
  #buffer: StreamRecord[] = [];
  #closed = false;

  private constructor(
    links: { readonly commands: RedisLink; readonly blocking: RedisLink },
    config: SourceConfig,
    context: StreamSourceContext,
    keys: ReadonlyMap<string, KeyState>,
  ) {
    this.#commands = links.commands;
    this.#blocking = links.blocking;
    this.#group = context.consumer;
    this.#worker = context.worker;
    this.#keys = keys;
    this.#decoding =
      config.fields === 'all'
        ? { kind: 'all-fields' }
        : { kind: 'json-field', field: config.field ?? 'data' };
    this.#batchSize = config.batchSize;
    this.#claimIdleMs = parseDuration(config.claimIdle);
    this.#claimEveryMs = Math.max(100, Math.min(this.#claimIdleMs / 2, MAX_CLAIM_EVERY_MS));
    this.#nextClaimAt = Date.now() + this.#claimEveryMs;
    this.#logger = context.logger;
  }

  /**
   * Connects (two connections: one for blocking reads, one for everything else), creates the
   * consumer group of each key where it is missing (MKSTREAM, at the position `context.start`
   * says) and notes what other consumers left pending.
   */
  static async open(
    config: SourceConfig,
    context: StreamSourceContext,
  ): Promise<RedisStreamReader> {
    const where = { role: 'source', stepId: context.stepId } as const;
    const commands = await RedisLink.open(config, where);
    let blocking: RedisLink | undefined;
    try {
      blocking = await RedisLink.open(config, where);
      const keyNames = [...new Set(typeof config.keys === 'string' ? [config.keys] : config.keys)];
      const keys = new Map<string, KeyState>();
      for (const key of keyNames) {
        await ensureGroup(commands, key, context);
        keys.set(key, await keyState(commands, key, context));
      }
      const reader = new RedisStreamReader({ commands, blocking }, config, context, keys);
      context.signal.addEventListener('abort', () => void reader.close(), { once: true });
      return reader;
    } catch (error) {
      commands.destroy();
      blocking?.destroy();
      throw error;
    }
  }

  async pull(max: number, waitMs: number): Promise<readonly StreamRecord[]> {
    if (this.#closed || max <= 0) return [];
    if (this.#buffer.length === 0) {
      try {
        const count = Math.min(max, this.#batchSize);
        await this.#claimIdleEntries(count);
        for (const state of this.#keys.values()) {
          if (state.phase === 'takeover') await this.#takeOver(state);
        }
        await this.#readOwnPending(count);
        if (this.#buffer.length === 0) await this.#readNew(count, waitMs);
      } catch (error) {
        if (this.#closed) return [];
        throw this.#commands.error('cannot read the stream', error, {
          hint: noGroupHint(error, this.#group),
        });
      }
    }
    return this.#buffer.splice(0, max);
  }

  async ack(positions: Readonly<Record<string, string>>): Promise<void> {
    for (const [key, position] of Object.entries(positions)) {
      const state = this.#keys.get(key);
      if (state === undefined || state.held.length === 0) continue;
      const done = state.held.filter((id) => compareEntryIds(id, position) <= 0);
      if (done.length === 0) continue;
      for (let i = 0; i < done.length; i += PAGE) {
        const ids = done.slice(i, i + PAGE);
        try {
          await this.#commands.send(['XACK', key, this.#group, ...ids]);
        } catch (error) {
          throw this.#commands.error(`cannot acknowledge entries of ${key}`, error);
        }
        for (const id of ids) state.heldSet.delete(id);
      }
      state.held = state.held.filter((id) => state.heldSet.has(id));
    }
  }

  /** Entries of the keys the group has not read yet (XINFO GROUPS lag), plus those read and not pulled. */
  async lag(): Promise<number | undefined> {
    if (this.#closed) return undefined;
    let lag = this.#buffer.length;
    for (const key of this.#keys.keys()) {
      const groups = (await this.#commands.send(['XINFO', 'GROUPS', key])) as unknown[];
      const group = groups.map(fieldsOf).find((fields) => fields.get('name') === this.#group);
      const behind = group?.get('lag');
      if (behind === undefined || behind === null) return undefined;
      lag += Number(behind);
    }
    return lag;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#blocking.destroy();
    this.#commands.destroy();
  }

  /** Claims entries other consumers of the group have left idle (every `claimIdle / 2`). */
  async #claimIdleEntries(count: number): Promise<void> {
    if (Date.now() < this.#nextClaimAt) return;
    this.#nextClaimAt = Date.now() + this.#claimEveryMs;
    for (const state of this.#keys.values()) {
      if (state.phase !== 'new') continue;
      const reply = (await this.#commands.send([
        'XAUTOCLAIM',
        state.key,
        this.#group,
        this.#worker,
        String(this.#claimIdleMs),
        state.claimCursor,
        'COUNT',
        String(count),
      ])) as readonly [string, readonly RawEntry[], (readonly string[])?];
      const [cursor, entries, deleted = []] = reply;
      state.claimCursor = cursor;
      let late = 0;
      for (const entry of entries) {
        // Our own entries waiting for a checkpoint are idle too; they are not handed out again.
        if (state.heldSet.has(entry[0])) continue;
        if (state.highWater !== undefined && compareEntryIds(entry[0], state.highWater) <= 0) {
          late += 1;
        }
        this.#emit(state, entry);
      }
      if (late > 0) {
        this.#logger.warn(
          { key: state.key, entries: late },
          'claimed entries older than entries already read from this key: several readers share the key',
        );
      }
      if (deleted.length > 0) {
        this.#logger.warn(
          { key: state.key, entries: deleted.length },
          'pending entries of another consumer were deleted from the stream before they were processed',
        );
      }
    }
  }

  /**
   * Claims the entries other consumers had pending at open, in id order, each once it has been
   * idle `claimIdle`; the key moves on to its own pending entries when none is left.
   */
  async #takeOver(state: KeyState): Promise<void> {
    const pending = (await this.#commands.send([
      'XPENDING',
      state.key,
      this.#group,
      state.takeoverFrom,
      state.takeoverUpTo,
      String(PAGE),
    ])) as PendingReply;
    const claim: string[] = [];
    let waiting = 0;
    let settledUpTo: string | undefined;
    for (const [id, consumer, idleMs] of pending) {
      if (consumer !== this.#worker) {
        if (idleMs < this.#claimIdleMs) {
          waiting += 1;
          continue;
        }
        claim.push(id);
      }
      if (waiting === 0) settledUpTo = id;
    }
    if (claim.length > 0) {
      await this.#commands.send([
        'XCLAIM',
        state.key,
        this.#group,
        this.#worker,
        String(this.#claimIdleMs),
        ...claim,
        'JUSTID',
      ]);
      this.#logger.info(
        { key: state.key, entries: claim.length },
        'claimed entries other consumers left pending',
      );
    }
    // Everything up to the first entry still waiting is this consumer's now: page on from there.
    if (settledUpTo !== undefined) state.takeoverFrom = `(${settledUpTo}`;
    if (waiting === 0 && pending.length < PAGE) {
      state.phase = 'own';
      return;
    }
    if (waiting === 0) return;
    if (!state.waitingLogged) {
      state.waitingLogged = true;
      this.#logger.info(
        { key: state.key, entries: waiting, claimIdle: this.#claimIdleMs },
        'waiting for entries other consumers hold to be idle for claimIdle before reading the key',
      );
    }
  }

  /** Re-reads this consumer's pending entries (delivered before, never acknowledged). */
  async #readOwnPending(count: number): Promise<void> {
    const states = [...this.#keys.values()].filter((s) => s.phase === 'own');
    if (states.length === 0) return;
    const reply = (await this.#commands.send([
      'XREADGROUP',
      'GROUP',
      this.#group,
      this.#worker,
      'COUNT',
      String(count),
      'STREAMS',
      ...states.map((s) => s.key),
      ...states.map((s) => s.ownCursor),
    ])) as ReadReply;
    const byKey = entriesByKey(reply);
    for (const state of states) {
      const entries = byKey.get(state.key) ?? [];
      for (const entry of entries) {
        this.#emit(state, entry);
        state.ownCursor = entry[0];
      }
      if (entries.length < count) state.phase = 'new';
    }
  }

  /** Reads entries never delivered, waiting up to `waitMs` for the first. */
  async #readNew(count: number, waitMs: number): Promise<void> {
    const states = [...this.#keys.values()].filter((s) => s.phase === 'new');
    if (states.length === 0) {
      await sleep(Math.min(waitMs, this.#claimEveryMs));
      return;
    }
    const wait = Math.max(0, Math.floor(waitMs));
    const reply = (await this.#blocking.send([
      'XREADGROUP',
      'GROUP',
      this.#group,
      this.#worker,
      'COUNT',
      String(count),
      ...(wait > 0 ? ['BLOCK', String(wait)] : []),
      'STREAMS',
      ...states.map((s) => s.key),
      ...states.map(() => '>'),
    ])) as ReadReply;
    const byKey = entriesByKey(reply);
    for (const state of states) {
      for (const entry of byKey.get(state.key) ?? []) this.#emit(state, entry);
    }
  }

  #emit(state: KeyState, entry: RawEntry): void {
    const id = entry[0];
    this.#buffer.push(entryRecord(state.key, entry, this.#decoding));
    if (!state.heldSet.has(id)) {
      state.held.push(id);
      state.heldSet.add(id);
    }
    if (state.highWater === undefined || compareEntryIds(id, state.highWater) > 0) {
      state.highWater = id;
    }
  }
}

/** Creates the key's consumer group where `context.start` says, unless it exists (kept as is). */
async function ensureGroup(
  link: RedisLink,
  key: string,
  context: StreamSourceContext,
): Promise<void> {
  const startId = groupStartId(context.start, key, context.stepId);
  try {
    await link.send(['XGROUP', 'CREATE', key, context.consumer, startId, 'MKSTREAM']);
    context.logger.info(
      { key, group: context.consumer, startId },
      'created the consumer group of the key',
    );
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('BUSYGROUP')) {
      if (context.start.kind !== 'checkpoint') {
        context.logger.info(
          { key, group: context.consumer, start: context.start.kind },
          'the consumer group exists and keeps its place; the start is used only for a new group',
        );
      }
      return;
    }
    throw link.error(`cannot create consumer group "${context.consumer}" of ${key}`, error);
  }
}

/** The id a new consumer group starts after, for a start. */
function groupStartId(start: StreamStart, key: string, stepId: string): string {
  switch (start.kind) {
    case 'beginning':
      return '0';
    case 'latest':
      return '$';
    case 'time': {
      const ms = start.at.getTime();
      if (!Number.isFinite(ms)) {
        throw new SourceError(stepId, 'the start time is not a valid date');
      }
      return ms <= 0 ? '0' : `${Math.floor(ms) - 1}-${MAX_SEQUENCE}`;
    }
    case 'checkpoint': {
      const position = start.positions[key];
      if (position === undefined) return '0';
      if (!isEntryId(position)) {
        throw new SourceError(
          stepId,
          `the checkpoint position "${position}" of key ${key} is not a stream entry id`,
          { hint: 'positions of redis_stream are entry ids such as 1700000000000-0' },
        );
      }
      return position;
    }
  }
}

/** The reading state of a key at open: whether other consumers left entries pending. */
async function keyState(
  link: RedisLink,
  key: string,
  context: StreamSourceContext,
): Promise<KeyState> {
  let summary: PendingSummary;
  try {
    summary = (await link.send(['XPENDING', key, context.consumer])) as PendingSummary;
  } catch (error) {
    throw link.error(`cannot list the pending entries of ${key}`, error);
  }
  const [, , highest, consumers] = summary;
  const others = (consumers ?? []).filter(([name]) => name !== context.worker);
  return {
    key,
    phase: others.length > 0 && highest !== null ? 'takeover' : 'own',
    ownCursor: '0',
    takeoverUpTo: highest ?? '0',
    takeoverFrom: '-',
    claimCursor: '0-0',
    highWater: undefined,
    held: [],
    heldSet: new Set(),
    waitingLogged: false,
  };
}

function noGroupHint(error: unknown, group: string): string | undefined {
  return error instanceof Error && error.message.startsWith('NOGROUP')
    ? `the key or its consumer group "${group}" was deleted while reading; restart the stream to create it again (from its checkpoint)`
    : undefined;
}

function entriesByKey(reply: ReadReply): Map<string, readonly RawEntry[]> {
  if (reply === null) return new Map();
  return new Map(Array.isArray(reply) ? reply : Object.entries(reply));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A reply of field names and values (a RESP3 map, or a RESP2 array of alternating ones). */
function fieldsOf(reply: unknown): Map<string, unknown> {
  if (!Array.isArray(reply)) return new Map(Object.entries(reply as Record<string, unknown>));
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  return fields;
}
