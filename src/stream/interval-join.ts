import { parseDuration } from '../core/duration.js';
import type { Diagnostic } from '../core/errors.js';
import { ConfigError } from '../core/errors.js';
import { setOwn } from '../core/own-keys.js';
import type {
  IntervalJoinSpec,
  OperatorSpec,
  SideOutput,
  StreamBatch,
  StreamOperator,
} from './operator-spec.js';
import type { StreamRow } from '../contracts/stream-connector.js';
import { markSource, sourceOf } from './union-source.js';

/** Options of {@link intervalJoin}. */
export interface IntervalJoinOptions {
  /** The source whose records are the left side (a name in the stream's `source`). */
  readonly left: string;
  /** The source whose records are the right side. */
  readonly right: string;
  /**
   * The join key: a column both sides have, several such columns, or the left's and the right's
   * columns (as many on each side). Keys compare as text; a record with a NULL key part never
   * matches.
   */
  readonly on:
    | string
    | readonly string[]
    | { readonly left: string | readonly string[]; readonly right: string | readonly string[] };
  /**
   * `[lower, upper]`: a pair matches when the right record's event time minus the left's lies
   * within these bounds, both included (`['-1h', '0s']`: the right record is at most an hour
   * older than the left one). Durations, negative ones with a leading `-`, or milliseconds.
   */
  readonly between: readonly [lower: string | number, upper: string | number];
  /**
   * The output row of a pair; for a left join also of a left record that matched nothing, with
   * `right` null. Default: the left's columns, then the right's (the join key once; a right
   * column whose name the left has as `<right>_<column>`), right columns NULL for no match.
   */
  readonly select?: (left: StreamRow, right: StreamRow | null) => StreamRow;
  /**
   * `inner` (default): pairs only. `left`: also each left record that matched nothing, once the
   * watermark shows nothing can match it any more.
   */
  readonly type?: 'inner' | 'left';
}

/**
 * Joins the records of two sources of the stream by key and event time, as Flink's interval
 * join: a left record at time `t` matches the right records of its key whose event time lies in
 * `[t + lower, t + upper]`. Each record is held per key until the watermark passes the last time
 * a partner could have (`t + upper` for a left record, `t - lower` for a right one); a pair is
 * emitted as soon as both records are there, with the later of their two event times. With
 * `type: 'left'`, a left record that matched nothing is emitted when it is let go, with NULL right
 * columns and event time `t + upper` (or `t`, when `upper` is negative). Records of other sources
 * pass through; joined rows count as records of the left source for the steps after. A record
 * older than the watermark when it arrives could miss partners already let go: it goes to the
 * late-data output.
 *
 * @example
 * ```ts
 * intervalJoin({ left: 'bids', right: 'auctions', on: { left: 'auction', right: 'id' }, between: ['-1h', '0s'] })
 * ```
 */
export function intervalJoin(options: IntervalJoinOptions): OperatorSpec {
  return { kind: 'intervalJoin', join: intervalJoinSpec(options) };
}

/**
 * Checks an interval join's options and resolves them (every problem listed in one
 * `ConfigError`).
 *
 * @example
 * ```ts
 * const spec = intervalJoinSpec({ left: 'bids', right: 'auctions', on: 'auction', between: ['-10s', '10s'] });
 * ```
 */
export function intervalJoinSpec(options: IntervalJoinOptions): IntervalJoinSpec {
  const problems: Diagnostic[] = [];
  const stepId = `intervalJoin(${String(options.left)}, ${String(options.right)})`;
  const problem = (path: string, message: string, hint?: string): void => {
    problems.push({
      code: 'invalid-config',
      stepId,
      path,
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  };
  for (const side of ['left', 'right'] as const)
    if (typeof options[side] !== 'string' || options[side] === '')
      problem(side, `${side} must name one of the stream's sources`);
  if (options.left === options.right && typeof options.left === 'string')
    problem('right', `left and right are both "${options.left}": join two different sources`);
  const on = options.on as IntervalJoinOptions['on'] | undefined;
  const columns = (value: unknown): string[] | undefined =>
    typeof value === 'string'
      ? [value]
      : Array.isArray(value) && value.every((c) => typeof c === 'string')
        ? [...(value as string[])]
        : undefined;
  const plain = typeof on === 'string' || Array.isArray(on);
  const leftKey = columns(plain ? on : (on as { left?: unknown } | undefined)?.left);
  const rightKey = columns(plain ? on : (on as { right?: unknown } | undefined)?.right);
  if (leftKey === undefined || rightKey === undefined || leftKey.length === 0)
    problem(
      'on',
      'on must name the key: a column both sides have, a list of them, or { left, right }',
      "on: 'auction_id', or on: { left: 'auction', right: 'id' }",
    );
  else if (leftKey.length !== rightKey.length)
    problem(
      'on',
      `on names ${leftKey.length} left key columns and ${rightKey.length} right ones: they pair up, so give as many on each side`,
    );
  const between = options.between as readonly unknown[] | undefined;
  let lowerMs = 0;
  let upperMs = 0;
  if (!Array.isArray(between) || between.length !== 2)
    problem('between', 'between must be [lower, upper]', "between: ['-1h', '0s']");
  else {
    const bound = (value: unknown, path: string): number | undefined => {
      try {
        return signedDuration(value);
      } catch (error) {
        problem(path, (error as Error).message, "durations such as '-1h', '30s' or milliseconds");
        return undefined;
      }
    };
    const lower = bound(between[0], 'between.0');
    const upper = bound(between[1], 'between.1');
    if (lower !== undefined && upper !== undefined) {
      if (lower > upper)
        problem(
          'between',
          `the lower bound (${String(between[0])}) is after the upper bound (${String(between[1])})`,
          'write [lower, upper], e.g. between: ["-1h", "0s"]',
        );
      lowerMs = lower;
      upperMs = upper;
    }
  }
  const type = options.type ?? 'inner';
  if (type !== 'inner' && type !== 'left')
    problem('type', `type must be 'inner' or 'left', got ${JSON.stringify(type)}`);
  if (options.select !== undefined && typeof options.select !== 'function')
    problem('select', 'select must be a function (left, right) => row');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    left: options.left,
    right: options.right,
    leftKey: leftKey as string[],
    rightKey: rightKey as string[],
    lowerMs,
    upperMs,
    ...(options.select === undefined ? {} : { select: options.select }),
    type,
  };
}

/** A duration that may be negative: `'-1h'`, `'30s'`, or milliseconds. */
function signedDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${value} is not a duration`);
    return value;
  }
  if (typeof value !== 'string') throw new RangeError(`${JSON.stringify(value)} is not a duration`);
  const text = value.trim();
  if (text.startsWith('-')) return -parseDuration(text.slice(1));
  return parseDuration(text.startsWith('+') ? text.slice(1) : text);
}

/** A record held by the join until no partner can come any more. */
interface Held {
  readonly row: StreamRow;
  readonly time: number;
  readonly key: string;
  /** The record is let go once the watermark is past this. */
  readonly until: number;
  /** Arrival order, so that records let go at the same time leave in the order they came. */
  readonly seq: number;
  matched: boolean;
}

/** The records one side holds: by key, and in the order they are let go. */
class JoinSide {
  readonly byKey = new Map<string, Held[]>();
  readonly #heap: Held[] = [];

  get size(): number {
    return this.#heap.length;
  }

  add(held: Held): void {
    const list = this.byKey.get(held.key);
    if (list === undefined) this.byKey.set(held.key, [held]);
    else list.push(held);
    const heap = this.#heap;
    let i = heap.push(held) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(held, heap[parent] as Held)) break;
      heap[i] = heap[parent] as Held;
      i = parent;
    }
    heap[i] = held;
  }

  /** Takes out every record the watermark has passed, in the order they are let go. */
  release(watermark: number): Held[] {
    const out: Held[] = [];
    const heap = this.#heap;
    while (heap.length > 0 && (heap[0] as Held).until < watermark) {
      out.push(heap[0] as Held);
      const last = heap.pop() as Held;
      if (heap.length === 0) break;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) break;
        const r = l + 1;
        const child = r < heap.length && before(heap[r] as Held, heap[l] as Held) ? r : l;
        if (!before(heap[child] as Held, last)) break;
        heap[i] = heap[child] as Held;
        i = child;
      }
      heap[i] = last;
    }
    const keys = new Set(out.map((h) => h.key));
    for (const key of keys) {
      const kept = (this.byKey.get(key) as Held[]).filter((h) => h.until >= watermark);
      if (kept.length === 0) this.byKey.delete(key);
      else this.byKey.set(key, kept);
    }
    return out;
  }

  /** Every record held, in arrival order. */
  all(): Held[] {
    return [...this.#heap].sort((a, b) => a.seq - b.seq);
  }
}

function before(a: Held, b: Held): boolean {
  return a.until < b.until || (a.until === b.until && a.seq < b.seq);
}

/** A held record in a checkpoint: event time, arrival order, matched, the row, and its Date and bigint columns. */
type SavedHeld = [
  time: number,
  seq: number,
  matched: 0 | 1,
  row: StreamRow,
  types?: Record<string, 'date' | 'bigint'>,
];

interface SavedJoin {
  readonly seq: number;
  readonly rightColumns: readonly string[];
  readonly left: readonly SavedHeld[];
  readonly right: readonly SavedHeld[];
}

const EMPTY: StreamBatch = { rows: [], times: [] };

/**
 * The stage an `intervalJoin` step runs as; see {@link intervalJoin}.
 *
 * @example
 * ```ts
 * const join = new IntervalJoinOperator(intervalJoinSpec({ left: 'bids', right: 'auctions', on: 'auction', between: ['-1m', '0s'] }));
 * const pairs = join.process(batch, watermark, side);
 * const unmatched = join.advance(nextWatermark);
 * ```
 */
export class IntervalJoinOperator implements StreamOperator {
  readonly #spec: IntervalJoinSpec;
  readonly #sharedKey: ReadonlySet<string>;
  #left = new JoinSide();
  #right = new JoinSide();
  #seq = 0;
  /** Right columns seen so far: the NULL columns of an unmatched left record (default output). */
  #rightColumns = new Set<string>();

  constructor(spec: IntervalJoinSpec) {
    this.#spec = spec;
    this.#sharedKey = new Set(spec.leftKey.filter((column, i) => spec.rightKey[i] === column));
  }

  process(batch: StreamBatch, watermark: number, side: SideOutput): StreamBatch {
    const out: StreamBatch = { rows: [], times: [] };
    const { left, right, lowerMs, upperMs } = this.#spec;
    const trackColumns = this.#spec.type === 'left' && this.#spec.select === undefined;
    for (let i = 0; i < batch.rows.length; i++) {
      const row = batch.rows[i] as StreamRow;
      const time = batch.times[i] as number;
      const source = sourceOf(row);
      if (source !== left && source !== right) {
        if (source === undefined) side(row, time, this.#noSourceReason(), 'invalid');
        else {
          out.rows.push(row);
          out.times.push(time);
        }
        continue;
      }
      if (time < watermark) {
        side(row, time, this.#lateReason(source, time, watermark), 'late');
        continue;
      }
      if (source === left) {
        const key = keyOf(row, this.#spec.leftKey);
        if (key === undefined) {
          if (this.#spec.type === 'left') this.#emit(out, row, null, time);
          continue;
        }
        const held: Held = {
          row,
          time,
          key,
          until: time + upperMs,
          seq: this.#seq++,
          matched: false,
        };
        for (const partner of this.#right.byKey.get(key) ?? [])
          if (partner.time - time >= lowerMs && partner.time - time <= upperMs) {
            held.matched = true;
            this.#emit(out, row, partner.row, Math.max(time, partner.time));
          }
        this.#left.add(held);
      } else {
        if (trackColumns) for (const column in row) this.#rightColumns.add(column);
        const key = keyOf(row, this.#spec.rightKey);
        if (key === undefined) continue;
        for (const partner of this.#left.byKey.get(key) ?? [])
          if (time - partner.time >= lowerMs && time - partner.time <= upperMs) {
            partner.matched = true;
            this.#emit(out, partner.row, row, Math.max(time, partner.time));
          }
        this.#right.add({
          row,
          time,
          key,
          until: time - lowerMs,
          seq: this.#seq++,
          matched: false,
        });
      }
    }
    return out;
  }

  advance(watermark: number): StreamBatch {
    if (!(watermark > -Infinity)) return EMPTY;
    this.#right.release(watermark);
    const released = this.#left.release(watermark);
    if (this.#spec.type !== 'left') return EMPTY;
    const out: StreamBatch = { rows: [], times: [] };
    const wait = Math.max(0, this.#spec.upperMs);
    for (const held of released)
      if (!held.matched) this.#emit(out, held.row, null, held.time + wait);
    return out;
  }

  stateSize(): number {
    return this.#left.size + this.#right.size;
  }

  snapshot(): unknown {
    const saved: SavedJoin = {
      seq: this.#seq,
      rightColumns: [...this.#rightColumns],
      left: this.#left.all().map(saveHeld),
      right: this.#right.all().map(saveHeld),
    };
    return saved;
  }

  restore(state: unknown): void {
    const saved = state as SavedJoin;
    const { leftKey, rightKey, lowerMs, upperMs } = this.#spec;
    this.#seq = saved.seq;
    this.#rightColumns = new Set(saved.rightColumns);
    this.#left = new JoinSide();
    this.#right = new JoinSide();
    for (const entry of saved.left) {
      const held = restoreHeld(entry, leftKey, (time) => time + upperMs);
      if (held !== undefined) this.#left.add(held);
    }
    for (const entry of saved.right) {
      const held = restoreHeld(entry, rightKey, (time) => time - lowerMs);
      if (held !== undefined) this.#right.add(held);
    }
  }

  #emit(out: StreamBatch, left: StreamRow, right: StreamRow | null, time: number): void {
    const select = this.#spec.select;
    const row = select === undefined ? this.#combine(left, right) : select(left, right);
    out.rows.push(markSource(row, this.#spec.left));
    out.times.push(time);
  }

  /** The default output: left columns, then right ones (NULL without a match). */
  #combine(left: StreamRow, right: StreamRow | null): StreamRow {
    // Copied column by column: faster here than object spread.
    const row: StreamRow = {};
    for (const column in left) setOwn(row, column, left[column]);
    if (right === null) {
      for (const column of this.#rightColumns) {
        const as = this.#rightName(left, column);
        if (as !== undefined) setOwn(row, as, null);
      }
      return row;
    }
    for (const column in right) {
      const as = this.#rightName(left, column);
      if (as !== undefined) setOwn(row, as, right[column]);
    }
    return row;
  }

  /** A right column's name in the output; undefined for a key column both sides share. */
  #rightName(left: StreamRow, column: string): string | undefined {
    if (this.#sharedKey.has(column)) return undefined;
    return Object.hasOwn(left, column) ? `${this.#spec.right}_${column}` : column;
  }

  #lateReason(source: string, time: number, watermark: number): string {
    const other = source === this.#spec.left ? this.#spec.right : this.#spec.left;
    return `a "${source}" record at event time ${new Date(time).toISOString()} arrived after the watermark (${new Date(watermark).toISOString()}): "${other}" records it would join with may have been let go already`;
  }

  #noSourceReason(): string {
    return `the record has no source, so intervalJoin(${this.#spec.left}, ${this.#spec.right}) cannot tell its side: a step before the join made a new record without spreading the one it got (map((r) => ({ ...r, ... })) keeps the source)`;
  }
}

/** The join key of a record as text, or undefined when a part of it is NULL. */
function keyOf(row: StreamRow, columns: readonly string[]): string | undefined {
  if (columns.length === 1) return keyPart(row[columns[0] as string]);
  const parts: string[] = [];
  for (const column of columns) {
    const part = keyPart(row[column]);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return JSON.stringify(parts);
}

function keyPart(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function saveHeld(held: Held): SavedHeld {
  let types: Record<string, 'date' | 'bigint'> | undefined;
  let row = held.row;
  for (const column in held.row) {
    const value = held.row[column];
    if (value instanceof Date) (types ??= {})[column] = 'date';
    else if (typeof value === 'bigint') {
      (types ??= {})[column] = 'bigint';
      if (row === held.row) row = { ...held.row };
      row[column] = value.toString();
    }
  }
  const saved: SavedHeld = [held.time, held.seq, held.matched ? 1 : 0, row];
  if (types !== undefined) saved.push(types);
  return saved;
}

function restoreHeld(
  saved: SavedHeld,
  key: readonly string[],
  until: (time: number) => number,
): Held | undefined {
  const [time, seq, matched, row, types] = saved;
  if (types !== undefined)
    for (const [column, type] of Object.entries(types)) {
      const value = row[column];
      if (typeof value === 'string')
        row[column] = type === 'date' ? new Date(value) : BigInt(value);
    }
  const text = keyOf(row, key);
  if (text === undefined) return undefined;
  return { row, time, key: text, until: until(time), seq, matched: matched === 1 };
}
