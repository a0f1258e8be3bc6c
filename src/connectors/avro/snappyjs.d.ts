declare module 'snappyjs' {
  /** Decompresses raw Snappy data (no framing). */
  export function uncompress(input: Uint8Array): Uint8Array;
  /** Compresses to raw Snappy data (no framing). */
  export function compress(input: Uint8Array): Uint8Array;
}
