/** A topic's partition as the stream runtime names it. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

const OFFSET = /^(0|[1-9]\d*)$/;

/**
 * The stream partition of a topic's partition: `<topic>/<partition>` (topic names cannot hold
 * `/`).
 *
 * @example
 * ```ts
 * partitionName('clicks', 3); // "clicks/3"
 * ```
 */
export function partitionName(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/**
 * The topic and partition of a stream partition name, or undefined when it is not one.
 *
 * @example
 * ```ts
 * parsePartitionName('clicks/3'); // { topic: 'clicks', partition: 3 }
 * ```
 */
export function parsePartitionName(name: string): TopicPartition | undefined {
  const slash = name.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const number = name.slice(slash + 1);
  if (!/^\d{1,9}$/.test(number)) return undefined;
  return { topic: name.slice(0, slash), partition: Number(number) };
}

/**
 * Whether text is an offset as the source writes positions: a non-negative decimal integer
 * without leading zeros.
 *
 * @example
 * ```ts
 * isOffset('1042'); // true
 * isOffset('-1'); // false
 * ```
 */
export function isOffset(text: string): boolean {
  return OFFSET.test(text);
}

/**
 * Orders two offsets of one partition, given as decimal text of any size (`'9' < '10'`).
 *
 * @example
 * ```ts
 * compareOffsets('9', '10'); // negative
 * compareOffsets('10', '10'); // 0
 * ```
 */
export function compareOffsets(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
