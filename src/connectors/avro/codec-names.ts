/**
 * Codecs an Avro container file can be read with.
 *
 * @example
 * ```ts
 * READABLE_CODECS.includes('zstandard'); // true
 * ```
 */
export const READABLE_CODECS = ['null', 'deflate', 'snappy', 'zstandard'] as const;

/**
 * Codecs the Avro sink writes.
 *
 * @example
 * ```ts
 * WRITABLE_CODECS.includes('snappy'); // true
 * ```
 */
export const WRITABLE_CODECS = ['null', 'deflate', 'snappy'] as const;

/**
 * A codec the Avro sink writes.
 *
 * @example
 * ```ts
 * const codec: WritableCodec = 'deflate';
 * ```
 */
export type WritableCodec = (typeof WRITABLE_CODECS)[number];
