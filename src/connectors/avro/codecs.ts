import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappyjs';

export { READABLE_CODECS, WRITABLE_CODECS } from './codec-names.js';
export type { WritableCodec } from './codec-names.js';
import { READABLE_CODECS } from './codec-names.js';
import type { WritableCodec } from './codec-names.js';

/**
 * Decompresses one block of an Avro container file. Snappy blocks end with the big-endian
 * CRC32 of the uncompressed data, which is checked. Throws on an unknown codec or corrupt data.
 *
 * @example
 * ```ts
 * const data = decompressBlock('deflate', block);
 * ```
 */
export function decompressBlock(codec: string, block: Buffer): Buffer {
  switch (codec) {
    case 'null':
      return block;
    case 'deflate':
      return inflateRawSync(block);
    case 'snappy': {
      if (block.length < 4) throw new Error('snappy block is shorter than its 4-byte checksum');
      const data = Buffer.from(snappyUncompress(block.subarray(0, block.length - 4)));
      const expected = block.readUInt32BE(block.length - 4);
      const actual = crc32(data);
      if (actual !== expected)
        throw new Error(
          `snappy block checksum mismatch (CRC32 ${actual.toString(16)}, expected ${expected.toString(16)})`,
        );
      return data;
    }
    case 'zstandard':
      return Buffer.from(zstdDecompress(block));
    default:
      throw new Error(`unsupported codec "${codec}" (supported: ${READABLE_CODECS.join(', ')})`);
  }
}

/**
 * Compresses one block for an Avro container file (snappy with its trailing CRC32).
 *
 * @example
 * ```ts
 * const block = compressBlock('snappy', encodedRecords);
 * ```
 */
export function compressBlock(codec: WritableCodec, data: Buffer): Buffer {
  switch (codec) {
    case 'null':
      return data;
    case 'deflate':
      return deflateRawSync(data);
    case 'snappy': {
      const checksum = Buffer.alloc(4);
      checksum.writeUInt32BE(crc32(data));
      return Buffer.concat([snappyCompress(data), checksum]);
    }
  }
}
