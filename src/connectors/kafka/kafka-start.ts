import type { StreamStart } from '../../contracts/stream-connector.js';
import type { TopicPartition } from './kafka-positions.js';
import { isOffset, partitionName } from './kafka-positions.js';

/** What the brokers say about a partition when the source opens. */
export interface PartitionBounds extends TopicPartition {
  /** The oldest offset the broker still holds (the log start). */
  readonly earliest: bigint;
  /** The offset the next message will get (the log end, or the last stable offset). */
  readonly latest: bigint;
  /** For a start at a time: the first offset stamped at or after it; undefined when none is. */
  readonly atTime?: bigint | undefined;
}

/** Where each partition is read from, and what the brokers no longer hold. */
export interface StartPlan {
  /** Per stream partition (`<topic>/<partition>`), the first offset to fetch. */
  readonly offsets: ReadonlyMap<string, bigint>;
  /** Messages after a checkpoint the brokers deleted (retention) before they were read. */
  readonly removed: readonly {
    readonly partition: string;
    readonly from: bigint;
    readonly to: bigint;
  }[];
  /** Checkpoint positions past a partition's end: the topic was deleted and made again. */
  readonly pastEnd: readonly {
    readonly partition: string;
    readonly position: string;
    readonly latest: bigint;
  }[];
  /** Checkpoint positions of these partitions that are not offsets. */
  readonly invalid: readonly { readonly partition: string; readonly position: string }[];
}

/**
 * Where to fetch each partition from for a stream start:
 *
 * - a checkpoint at offset _n_: _n_ + 1 (a partition not in it: its oldest message);
 * - `beginning`: the oldest message; `latest`: the next message to arrive;
 * - a time: the first message stamped at or after it (the next to arrive when none is).
 *
 * A checkpoint whose next message the brokers deleted (retention) starts at the oldest one there
 * is and says what was lost in `removed`; one past the partition's end goes to `pastEnd`.
 *
 * @example
 * ```ts
 * resolveStart({ kind: 'checkpoint', positions: { 'clicks/0': '41' } }, [
 *   { topic: 'clicks', partition: 0, earliest: 0n, latest: 100n },
 * ]).offsets.get('clicks/0'); // 42n
 * ```
 */
export function resolveStart(start: StreamStart, bounds: readonly PartitionBounds[]): StartPlan {
  const offsets = new Map<string, bigint>();
  const removed: { partition: string; from: bigint; to: bigint }[] = [];
  const pastEnd: { partition: string; position: string; latest: bigint }[] = [];
  const invalid: { partition: string; position: string }[] = [];
  for (const bound of bounds) {
    const name = partitionName(bound.topic, bound.partition);
    switch (start.kind) {
      case 'beginning':
        offsets.set(name, bound.earliest);
        break;
      case 'latest':
        offsets.set(name, bound.latest);
        break;
      case 'time':
        offsets.set(name, bound.atTime ?? bound.latest);
        break;
      case 'checkpoint': {
        const position = start.positions[name];
        if (position === undefined) {
          offsets.set(name, bound.earliest);
          break;
        }
        if (!isOffset(position)) {
          invalid.push({ partition: name, position });
          break;
        }
        const next = BigInt(position) + 1n;
        if (next > bound.latest) {
          pastEnd.push({ partition: name, position, latest: bound.latest });
        } else if (next < bound.earliest) {
          removed.push({ partition: name, from: next, to: bound.earliest - 1n });
          offsets.set(name, bound.earliest);
        } else {
          offsets.set(name, next);
        }
        break;
      }
    }
  }
  return { offsets, removed, pastEnd, invalid };
}
