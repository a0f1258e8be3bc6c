import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ContainerFormatError } from './container-reader.js';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const SYNC_SIZE = 16;
const MAX_VARINT_BYTES = 10;

/**
 * The records an Avro object container file holds by its framing alone: the sum of its blocks'
 * record counts. Blocks are skipped by their sizes, never decompressed or decoded, and each
 * must end with the file's sync marker; a file that ends inside a block fails. This counts the
 * records independently of the decoder that reads them.
 *
 * @example
 * ```ts
 * await countContainerRecords('events.avro'); // 1200
 * ```
 */
export async function countContainerRecords(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const file = new PositionalReader(handle, (await handle.stat()).size);
    const magic = await file.take(MAGIC.length, 'the header');
    if (!magic.equals(MAGIC))
      throw new ContainerFormatError('not an Avro object container file (bad magic bytes)');
    for (;;) {
      let entries = await file.long('header metadata');
      if (entries === 0) break;
      if (entries < 0) {
        entries = -entries;
        await file.long('header metadata');
      }
      for (let i = 0; i < entries; i++) {
        file.skip(await file.long('header metadata key'), 'header metadata key');
        file.skip(await file.long('header metadata value'), 'header metadata value');
      }
    }
    const sync = await file.take(SYNC_SIZE, 'the header');
    let records = 0;
    for (let block = 1; !file.atEnd(); block++) {
      const where = `block ${block}`;
      const count = await file.long(where);
      const size = await file.long(where);
      if (count < 0 || size < 0)
        throw new ContainerFormatError(`${where} has a negative record count or size`);
      file.skip(size, where);
      if (!(await file.take(SYNC_SIZE, where)).equals(sync))
        throw new ContainerFormatError(`${where} does not end with the file's sync marker`);
      records += count;
    }
    return records;
  } finally {
    await handle.close();
  }
}

/** Reads varints and byte runs at a moving position of an open file. */
class PositionalReader {
  readonly #handle: FileHandle;
  readonly #size: number;
  #position = 0;

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.#size = size;
  }

  atEnd(): boolean {
    return this.#position >= this.#size;
  }

  skip(length: number, where: string): void {
    if (length < 0 || this.#position + length > this.#size)
      throw new ContainerFormatError(`file is truncated inside ${where}`);
    this.#position += length;
  }

  async take(length: number, where: string): Promise<Buffer> {
    this.skip(length, where);
    const bytes = Buffer.alloc(length);
    await this.#handle.read(bytes, 0, length, this.#position - length);
    return bytes;
  }

  /** A zig-zag varint long, as a number (counts and sizes fit). */
  async long(where: string): Promise<number> {
    const available = Math.min(MAX_VARINT_BYTES, this.#size - this.#position);
    const bytes = Buffer.alloc(available);
    await this.#handle.read(bytes, 0, available, this.#position);
    let result = 0n;
    for (let i = 0; i < available; i++) {
      const b = bytes[i] as number;
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        this.#position += i + 1;
        return Number((result >> 1n) ^ -(result & 1n));
      }
    }
    throw new ContainerFormatError(
      available < MAX_VARINT_BYTES
        ? `file is truncated inside ${where}`
        : `malformed varint in ${where}`,
    );
  }
}
