import type { Logger } from '../core/logger.js';
import type { LookupTable } from '../contracts/lookup-table.js';
import type { StreamRow } from '../contracts/stream-connector.js';
import type { Suite } from '../quality/expectation.js';
import type { WindowOptions } from './windows.js';

/** Records moving between operators: rows and their event times (epoch ms), index by index. */
export interface StreamBatch {
  readonly rows: StreamRow[];
  readonly times: number[];
}

/**
 * Where operators send records they take out of the stream, with a reason: `late` ones (after
 * their window closed) or `invalid` ones (a lookup found no row, an expectation failed); both are
 * quarantined.
 */
export type SideOutput = (
  row: StreamRow,
  time: number,
  reason: string,
  kind?: 'late' | 'invalid',
) => void;

/**
 * One stage of a stream: turns each batch into the next stage's, and may emit more when the
 * watermark moves (windows). State it keeps goes into checkpoints.
 *
 * @example
 * ```ts
 * const out = operator.process(batch, watermark, late);
 * const closed = operator.advance(watermark);
 * ```
 */
export interface StreamOperator {
  /** Called once before the first batch with the stream's name and logger (operators that log). */
  open?(context: OperatorContext): void;
  /** Work before a batch that may wait (reading a lookup table again). */
  prepare?(): Promise<void>;
  process(batch: StreamBatch, watermark: number, side: SideOutput): StreamBatch;
  /** Records due because the watermark reached `watermark` (closed windows); none for most operators. */
  advance(watermark: number): StreamBatch;
  /** Entries of keyed state held (window-and-key accumulators, dedupe keys). */
  stateSize(): number;
  snapshot(): unknown;
  restore(state: unknown): void;
}

/** What the runtime tells an operator about the stream it runs in. */
export interface OperatorContext {
  readonly stream: string;
  readonly logger: Logger;
}

/** The declaration of an operator in a stream's `steps`; the runtime makes the operator. */
export type OperatorSpec =
  | { readonly kind: 'map'; readonly fn: (row: StreamRow) => StreamRow }
  | { readonly kind: 'filter'; readonly fn: (row: StreamRow) => boolean }
  | {
      readonly kind: 'flatMap';
      readonly fn: (row: StreamRow) => readonly StreamRow[] | Iterable<StreamRow>;
    }
  | { readonly kind: 'dedupe'; readonly key?: readonly string[]; readonly ttlMs: number }
  | { readonly kind: 'window'; readonly options: WindowOptions }
  | { readonly kind: 'enrich'; readonly options: EnrichOptions }
  | { readonly kind: 'intervalJoin'; readonly join: IntervalJoinSpec }
  | { readonly kind: 'expect'; readonly suite: Suite }
  | {
      readonly kind: 'keyBy';
      readonly key: readonly string[];
      /** Computes the key, stored in the column `key[0]`; without it the key is the columns. */
      readonly fn?: (row: StreamRow) => unknown;
    };

/** Options of {@link enrich}. */
export interface EnrichOptions {
  readonly lookup: LookupTable;
  /** The record's column holding the key, and the lookup table's key column (default: the same name). */
  readonly on: string | { readonly record: string; readonly table: string };
  /** Columns of the lookup table added to the record (default: all but its key). */
  readonly columns?: readonly string[];
  /** How often the lookup table is read again (default `'5m'`). */
  readonly refresh?: string | number;
  /**
   * A record whose key the table lacks: `keep` it with NULLs (default), `drop` it on purpose, or
   * `quarantine` it with the reason.
   */
  readonly missing?: 'keep' | 'drop' | 'quarantine';
  /** Most rows the lookup table may hold in memory (default 1,000,000). */
  readonly maxRows?: number;
}

/** An interval join as the runtime runs it: key columns resolved, bounds in milliseconds. */
export interface IntervalJoinSpec {
  readonly left: string;
  readonly right: string;
  readonly leftKey: readonly string[];
  readonly rightKey: readonly string[];
  readonly lowerMs: number;
  readonly upperMs: number;
  readonly select?: (left: StreamRow, right: StreamRow | null) => StreamRow;
  readonly type: 'inner' | 'left';
}
