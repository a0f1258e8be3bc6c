import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';

/** Compression of an input file; `auto` decides from the extension (.gz, .zst). */
export type InputCompression = 'auto' | 'none' | 'gzip' | 'zstd';

/**
 * The decompressed bytes of a file, chunk by chunk.
 *
 * @example
 * ```ts
 * for await (const chunk of fileBytes('events.ndjson.gz', 'auto')) total += chunk.length;
 * ```
 */
export async function* fileBytes(
  path: string,
  compression: InputCompression,
  chunkSize = 1 << 20,
): AsyncGenerator<Buffer> {
  const codec = codecOf(path, compression);
  const input = createReadStream(path, { highWaterMark: chunkSize });
  if (codec === 'none') {
    yield* input as AsyncIterable<Buffer>;
    return;
  }
  if (codec === 'gzip') {
    const gunzip = createGunzip();
    input.on('error', (error) => gunzip.destroy(error));
    yield* input.pipe(gunzip) as AsyncIterable<Buffer>;
    return;
  }
  const out: Buffer[] = [];
  const zstd = new Decompress((chunk) => {
    out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      zstd.push(chunk);
      yield* out.splice(0);
    }
    zstd.push(new Uint8Array(0), true);
    yield* out.splice(0);
  } finally {
    input.destroy();
  }
}

/**
 * The codec a file is read with: `compression`, or for `auto` the one its extension names.
 *
 * @example
 * ```ts
 * codecOf('events.ndjson.gz', 'auto'); // 'gzip'
 * ```
 */
export function codecOf(path: string, compression: InputCompression): 'none' | 'gzip' | 'zstd' {
  if (compression !== 'auto') return compression;
  if (/\.(gz|gzip)$/i.test(path)) return 'gzip';
  if (/\.(zst|zstd)$/i.test(path)) return 'zstd';
  return 'none';
}
