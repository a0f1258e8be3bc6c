import { parseDuration } from '../core/duration.js';
import { ownValue, setOwn } from '../core/own-keys.js';
import type { Aggregate } from './aggregates.js';
import type { StreamRow } from '../contracts/stream-connector.js';

/** How records are grouped in time. Sizes are milliseconds of event time. */
export type WindowSpec =
  | { readonly kind: 'tumbling'; readonly size: number; readonly offset: number }
  | { readonly kind: 'sliding'; readonly size: number; readonly slide: number }
  | { readonly kind: 'session'; readonly gap: number };

/**
 * Fixed, non-overlapping windows of `size` (`[start, start + size)`), aligned to the epoch plus
 * `offset`.
 *
 * @example
 * ```ts
 * tumbling('1m'); // [00:00, 00:01), [00:01, 00:02), ...
 * ```
 */
export function tumbling(size: string | number, offset: string | number = 0): WindowSpec {
  return {
    kind: 'tumbling',
    size: positive(size, 'tumbling window size'),
    offset: parseDuration(offset),
  };
}

/**
 * Overlapping windows of `size` starting every `slide` (hopping windows): each record belongs to
 * `size / slide` windows.
 *
 * @example
 * ```ts
 * sliding('10s', '2s'); // [00:00, 00:10), [00:02, 00:12), ...
 * ```
 */
export function sliding(size: string | number, slide: string | number): WindowSpec {
  const spec = {
    kind: 'sliding' as const,
    size: positive(size, 'sliding window size'),
    slide: positive(slide, 'sliding window slide'),
  };
  if (spec.size % spec.slide !== 0)
    throw new RangeError(
      `a sliding window's size (${spec.size} ms) must be a multiple of its slide (${spec.slide} ms)`,
    );
  return spec;
}

/**
 * Windows per key that close after `gap` without records: records closer than `gap` to each
 * other fall into one session.
 *
 * @example
 * ```ts
 * session('30m'); // a visit ends after 30 minutes without clicks
 * ```
 */
export function session(gap: string | number): WindowSpec {
  return { kind: 'session', gap: positive(gap, 'session gap') };
}

function positive(value: string | number, what: string): number {
  const ms = parseDuration(value);
  if (!(ms > 0)) throw new RangeError(`${what} must be positive, got ${String(value)}`);
  return ms;
}

/** Options of a window aggregation. */
export interface WindowOptions {
  /** Group records by these columns (none: one group). */
  readonly key?: string | readonly string[];
  readonly window: WindowSpec;
  /** Output columns and how each is computed. */
  readonly aggregate: Readonly<Record<string, Aggregate>>;
  /**
   * How long after a window closed (in event time) late records still update it: the window's
   * result is emitted again with them. Later records go to the late-data output. Default 0.
   */
  readonly allowedLatenessMs?: number;
  /**
   * `final` (default): a window's result is emitted once when the watermark passes its end (and
   * again for each late update); `update`: after every batch that changed it, for upsert sinks.
   */
  readonly emit?: 'final' | 'update';
}

/** One window of one key. */
interface WindowState {
  readonly key: string;
  readonly keyValues: readonly unknown[];
  start: number;
  end: number;
  readonly accs: unknown[];
  fired: boolean;
}

/** What a window aggregation returns from `advance`: rows and their event times (end - 1). */
export interface WindowResults {
  readonly rows: StreamRow[];
  readonly times: number[];
}

const NULL_KEY = '\u0000null';

/**
 * Keyed event-time window aggregation: assigns records to tumbling, sliding or session windows,
 * keeps one accumulator per aggregate, window and key, emits a row per window and key when the
 * watermark passes the window's end (`window_start`, `window_end`, the key columns and the
 * aggregates), updates fired windows with late records inside the allowed lateness, and hands
 * records later than that to `onLate`: never dropped silently.
 *
 * @example
 * ```ts
 * const op = new WindowAggregation({ key: 'page', window: tumbling('1m'), aggregate: { views: count() } });
 * op.add(rows, times, watermark, (row, time, reason) => late.push(row));
 * const { rows: results } = op.advance(watermark);
 * ```
 */
export class WindowAggregation {
  readonly #options: WindowOptions;
  readonly #keyColumns: readonly string[];
  readonly #names: readonly string[];
  readonly #aggregates: readonly Aggregate[];
  readonly #lateness: number;
  /** Tumbling and sliding windows: by end, then by key. */
  readonly #byEnd = new Map<number, Map<string, WindowState>>();
  /** The keys of #byEnd in ascending order. */
  readonly #ends: number[] = [];
  /** Session windows: per key, sorted by start. */
  readonly #sessions = new Map<string, WindowState[]>();
  /** Windows to emit at the next `advance` although already fired (late or update emits). */
  readonly #changed = new Set<WindowState>();

  constructor(options: WindowOptions) {
    this.#options = options;
    this.#keyColumns =
      options.key === undefined
        ? []
        : typeof options.key === 'string'
          ? [options.key]
          : options.key;
    this.#names = Object.keys(options.aggregate);
    this.#aggregates = Object.values(options.aggregate);
    this.#lateness = options.allowedLatenessMs ?? 0;
  }

  /**
   * Adds records with their event times. A record whose every window has already been closed
   * for longer than the allowed lateness goes to `onLate`.
   */
  add(
    rows: readonly StreamRow[],
    times: readonly number[],
    watermark: number,
    onLate: (row: StreamRow, time: number, reason: string) => void,
  ): void {
    const spec = this.#options.window;
    const update = this.#options.emit === 'update';
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as StreamRow;
      const time = times[i] as number;
      const key = this.#keyOf(row);
      if (spec.kind === 'session') {
        if (!this.#addToSession(key, row, time, watermark))
          onLate(row, time, this.#lateReason(time, watermark));
        continue;
      }
      let accepted = false;
      if (spec.kind === 'tumbling') {
        const start = Math.floor((time - spec.offset) / spec.size) * spec.size + spec.offset;
        accepted = this.#addToWindow(key, row, time, start, start + spec.size, watermark, update);
      } else {
        const lastStart = Math.floor(time / spec.slide) * spec.slide;
        for (let start = lastStart; start > time - spec.size; start -= spec.slide)
          if (this.#addToWindow(key, row, time, start, start + spec.size, watermark, update))
            accepted = true;
      }
      if (!accepted) onLate(row, time, this.#lateReason(time, watermark));
    }
  }

  /**
   * Emits the windows the watermark has passed (once), the fired windows late records changed,
   * and with `emit: 'update'` every window changed since the last call; then forgets windows
   * closed for longer than the allowed lateness.
   */
  advance(watermark: number): WindowResults {
    const out: WindowResults = { rows: [], times: [] };
    if (this.#options.window.kind === 'session') this.#advanceSessions(watermark, out);
    else this.#advanceWindows(watermark, out);
    for (const state of this.#changed) this.#emit(state, out);
    this.#changed.clear();
    return out;
  }

  /** How many window-and-key accumulators are held: the operator's state size. */
  stateSize(): number {
    let size = 0;
    for (const bucket of this.#byEnd.values()) size += bucket.size;
    for (const sessions of this.#sessions.values()) size += sessions.length;
    return size;
  }

  /** The operator's state as JSON-able data, for a checkpoint. */
  snapshot(): unknown {
    const states: unknown[] = [];
    const save = (s: WindowState): void => {
      states.push({
        key: s.key,
        keyValues: s.keyValues,
        start: s.start,
        end: s.end,
        fired: s.fired,
        accs: s.accs.map((acc, i) => (this.#aggregates[i] as Aggregate).snapshot(acc)),
      });
    };
    for (const bucket of this.#byEnd.values()) for (const s of bucket.values()) save(s);
    for (const sessions of this.#sessions.values()) for (const s of sessions) save(s);
    return states;
  }

  /** Replaces the operator's state with a snapshot's. */
  restore(snapshot: unknown): void {
    this.#byEnd.clear();
    this.#ends.length = 0;
    this.#sessions.clear();
    this.#changed.clear();
    for (const saved of snapshot as {
      key: string;
      keyValues: unknown[];
      start: number;
      end: number;
      fired: boolean;
      accs: unknown[];
    }[]) {
      const state: WindowState = {
        key: saved.key,
        keyValues: saved.keyValues,
        start: saved.start,
        end: saved.end,
        fired: saved.fired,
        accs: saved.accs.map((acc, i) => (this.#aggregates[i] as Aggregate).restore(acc)),
      };
      if (this.#options.window.kind === 'session') {
        const sessions = this.#sessions.get(state.key) ?? [];
        sessions.push(state);
        sessions.sort((a, b) => a.start - b.start);
        this.#sessions.set(state.key, sessions);
      } else this.#bucket(state.end).set(state.key, state);
    }
  }

  #keyOf(row: StreamRow): string {
    const columns = this.#keyColumns;
    if (columns.length === 0) return '';
    if (columns.length === 1) {
      const value = row[columns[0] as string];
      return value === null || value === undefined
        ? NULL_KEY
        : typeof value === 'string'
          ? value
          : String(value);
    }
    return JSON.stringify(columns.map((c) => ownValue(row, c) ?? null));
  }

  #newState(key: string, row: StreamRow, start: number, end: number): WindowState {
    return {
      key,
      keyValues: this.#keyColumns.map((c) => ownValue(row, c) ?? null),
      start,
      end,
      accs: this.#aggregates.map((a) => a.create()),
      fired: false,
    };
  }

  #addToWindow(
    key: string,
    row: StreamRow,
    time: number,
    start: number,
    end: number,
    watermark: number,
    update: boolean,
  ): boolean {
    if (end + this.#lateness <= watermark) return false;
    const bucket = this.#bucket(end);
    let state = bucket.get(key);
    if (state === undefined) {
      state = this.#newState(key, row, start, end);
      bucket.set(key, state);
    }
    const accs = state.accs;
    const aggregates = this.#aggregates;
    for (let a = 0; a < aggregates.length; a++)
      (aggregates[a] as Aggregate).add(accs[a], row, time);
    if (state.fired || update) this.#changed.add(state);
    return true;
  }

  #bucket(end: number): Map<string, WindowState> {
    let bucket = this.#byEnd.get(end);
    if (bucket === undefined) {
      bucket = new Map();
      this.#byEnd.set(end, bucket);
      const ends = this.#ends;
      let i = ends.length;
      while (i > 0 && (ends[i - 1] as number) > end) i--;
      ends.splice(i, 0, end);
    }
    return bucket;
  }

  #advanceWindows(watermark: number, out: WindowResults): void {
    const ends = this.#ends;
    let purge = 0;
    for (const end of ends) {
      if (end > watermark) break;
      const bucket = this.#byEnd.get(end) as Map<string, WindowState>;
      for (const state of bucket.values()) {
        if (!state.fired) this.#close(state, out);
      }
      if (end + this.#lateness <= watermark) {
        for (const state of bucket.values()) {
          if (this.#changed.has(state)) {
            this.#emit(state, out);
            this.#changed.delete(state);
          }
        }
        this.#byEnd.delete(end);
        purge++;
      }
    }
    if (purge > 0) ends.splice(0, purge);
  }

  #addToSession(key: string, row: StreamRow, time: number, watermark: number): boolean {
    const gap = (this.#options.window as { gap: number }).gap;
    const sessions = this.#sessions.get(key) ?? [];
    let start = time;
    let end = time + gap;
    const overlapping = sessions.filter((s) => s.start < end && s.end > start);
    for (const s of overlapping) {
      start = Math.min(start, s.start);
      end = Math.max(end, s.end);
    }
    if (end + this.#lateness <= watermark) return false;
    let target: WindowState;
    if (overlapping.length === 0) {
      target = this.#newState(key, row, start, end);
      sessions.push(target);
      sessions.sort((a, b) => a.start - b.start);
      this.#sessions.set(key, sessions);
    } else {
      target = overlapping[0] as WindowState;
      for (const other of overlapping.slice(1)) {
        for (let a = 0; a < this.#aggregates.length; a++)
          (this.#aggregates[a] as Aggregate).merge(target.accs[a], other.accs[a]);
        target.fired ||= other.fired;
        sessions.splice(sessions.indexOf(other), 1);
        this.#changed.delete(other);
      }
      target.start = start;
      target.end = end;
    }
    for (let a = 0; a < this.#aggregates.length; a++)
      (this.#aggregates[a] as Aggregate).add(target.accs[a], row, time);
    if (target.fired || this.#options.emit === 'update') this.#changed.add(target);
    return true;
  }

  #advanceSessions(watermark: number, out: WindowResults): void {
    for (const [key, sessions] of this.#sessions) {
      for (const state of sessions) {
        if (state.end > watermark) break;
        if (!state.fired) this.#close(state, out);
      }
      const kept = sessions.filter((s) => {
        if (s.end + this.#lateness > watermark) return true;
        if (this.#changed.has(s)) {
          this.#emit(s, out);
          this.#changed.delete(s);
        }
        return false;
      });
      if (kept.length === 0) this.#sessions.delete(key);
      else if (kept.length !== sessions.length) this.#sessions.set(key, kept);
    }
  }

  /** Emits a window whose end the watermark passed (with `emit: 'update'`, only if it changed since its last emit). */
  #close(state: WindowState, out: WindowResults): void {
    if (this.#options.emit !== 'update' || this.#changed.has(state)) this.#emit(state, out);
    state.fired = true;
    this.#changed.delete(state);
  }

  #emit(state: WindowState, out: WindowResults): void {
    const row: StreamRow = {};
    this.#keyColumns.forEach((column, i) => {
      setOwn(row, column, state.keyValues[i]);
    });
    row['window_start'] = new Date(state.start);
    row['window_end'] = new Date(state.end);
    const names = this.#names;
    for (let a = 0; a < names.length; a++)
      setOwn(row, names[a] as string, (this.#aggregates[a] as Aggregate).result(state.accs[a]));
    out.rows.push(row);
    out.times.push(state.end - 1);
  }

  #lateReason(time: number, watermark: number): string {
    return `event time ${new Date(time).toISOString()} arrived after its window closed: the watermark was at ${new Date(watermark).toISOString()}, past the window end plus the allowed lateness (${this.#lateness} ms)`;
  }
}
