import { createReadStream } from 'node:fs';
import type { Type as AvroType } from 'avsc';
import { decompressBlock } from './codecs.js';
import { createAvroType } from './avro-type.js';
import type { AvroSchemaJSON } from './avro-type.js';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const SYNC_SIZE = 16;

/**
 * The header of an Avro object container file.
 *
 * @example
 * ```ts
 * const { codec, schema } = (await openContainer('weather.avro')).header;
 * ```
 */
export interface ContainerHeader {
  readonly schema: AvroSchemaJSON;
  readonly codec: string;
  readonly metadata: ReadonlyMap<string, Buffer>;
  readonly sync: Buffer;
}

/**
 * An Avro container file being read: its header, then its records in batches.
 *
 * @example
 * ```ts
 * const file = await openContainer('weather.avro');
 * for await (const records of file.batches) handle(records);
 * ```
 */
export interface ContainerFile {
  readonly header: ContainerHeader;
  readonly type: AvroType;
  /** Decoded records, one array per block, in file order. */
  readonly batches: AsyncIterable<unknown[]>;
  /** The same blocks with each record's encoded bytes (read either this or `batches`). */
  readonly blocks: AsyncIterable<ContainerBlock>;
  /** Releases the file (done by itself when `batches` is read to the end or left). */
  close(): void;
}

/**
 * One block of a container file: its decoded records and where each came from.
 *
 * @example
 * ```ts
 * for await (const block of file.blocks) keep(block.recordBytes(0));
 * ```
 */
export interface ContainerBlock {
  /** 1-based block number in the file. */
  readonly number: number;
  /** Byte offset in the file where the block's data starts. */
  readonly dataOffset: number;
  readonly records: unknown[];
  /** The Avro binary encoding of record `i` (decompressed), exactly as in the file's block. */
  recordBytes(i: number): Buffer;
  /** Record `i`'s byte offset in the file; undefined when the block is compressed. */
  recordOffset(i: number): number | undefined;
}

/**
 * Thrown when a file is not a readable Avro container; the message says where it broke.
 *
 * @example
 * ```ts
 * throw new ContainerFormatError('file is truncated inside block 3');
 * ```
 */
export class ContainerFormatError extends Error {}

/**
 * Opens an Avro object container file and reads it block by block, never holding more than a
 * block in memory. Checks the magic bytes, every block's sync marker and that the file does
 * not end inside a block.
 *
 * @example
 * ```ts
 * const file = await openContainer('weather.avro');
 * for await (const records of file.batches) console.log(records.length);
 * ```
 */
export async function openContainer(path: string, signal?: AbortSignal): Promise<ContainerFile> {
  const input = new ByteReader(createReadStream(path, { highWaterMark: 1 << 20 }));
  let header: ContainerHeader;
  try {
    header = await readHeader(input);
  } catch (error) {
    input.close();
    throw error;
  }
  const type = createAvroType(header.schema);
  const blocks = readBlocks(input, header, type, signal);
  return {
    header,
    type,
    blocks,
    batches: recordsOf(blocks),
    close: () => input.close(),
  };
}

async function readHeader(input: ByteReader): Promise<ContainerHeader> {
  const magic = await input.take(4);
  if (magic === undefined || !magic.equals(MAGIC))
    throw new ContainerFormatError('not an Avro object container file (bad magic bytes)');
  const metadata = new Map<string, Buffer>();
  for (;;) {
    let count = await input.long('header metadata');
    if (count === 0n) break;
    if (count < 0n) {
      count = -count;
      await input.long('header metadata');
    }
    for (let i = 0n; i < count; i++) {
      const key = (await input.bytes('header metadata key')).toString('utf8');
      metadata.set(key, await input.bytes('header metadata value'));
    }
  }
  const sync = await input.take(SYNC_SIZE);
  if (sync === undefined) throw new ContainerFormatError('file ends inside the header');
  const schemaText = metadata.get('avro.schema');
  if (schemaText === undefined)
    throw new ContainerFormatError('header has no avro.schema metadata');
  let schema: AvroSchemaJSON;
  try {
    schema = JSON.parse(schemaText.toString('utf8')) as AvroSchemaJSON;
  } catch (cause) {
    throw new ContainerFormatError(`avro.schema is not valid JSON: ${String(cause)}`);
  }
  return { schema, codec: metadata.get('avro.codec')?.toString('utf8') || 'null', metadata, sync };
}

async function* recordsOf(blocks: AsyncIterable<ContainerBlock>): AsyncGenerator<unknown[]> {
  for await (const block of blocks) yield block.records;
}

async function* readBlocks(
  input: ByteReader,
  header: ContainerHeader,
  type: AvroType,
  signal: AbortSignal | undefined,
): AsyncGenerator<ContainerBlock> {
  let block = 0;
  try {
    while (!(await input.atEnd())) {
      signal?.throwIfAborted();
      block++;
      const where = `block ${block}`;
      const count = Number(await input.long(where));
      const size = Number(await input.long(where));
      if (count < 0 || size < 0)
        throw new ContainerFormatError(`${where} has a negative record count or size`);
      const dataOffset = input.position;
      const data = await input.take(size);
      const sync = await input.take(SYNC_SIZE);
      if (data === undefined || sync === undefined)
        throw new ContainerFormatError(`file is truncated inside ${where}`);
      if (!sync.equals(header.sync))
        throw new ContainerFormatError(`${where} does not end with the file's sync marker`);
      let raw: Buffer;
      try {
        raw = decompressBlock(header.codec, data);
      } catch (cause) {
        throw new ContainerFormatError(
          `cannot decompress ${where} (${header.codec}): ${String(cause)}`,
        );
      }
      const records: unknown[] = new Array(count);
      const starts: number[] = new Array(count + 1);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        starts[i] = offset;
        let decoded: { value: unknown; offset: number };
        try {
          decoded = type.decode(raw, offset);
        } catch (cause) {
          throw new ContainerFormatError(
            `record ${i + 1} of ${where} is corrupt: ${String(cause)}`,
          );
        }
        if (decoded.offset < 0)
          throw new ContainerFormatError(`${where} ends inside record ${i + 1} of ${count}`);
        records[i] = decoded.value;
        offset = decoded.offset;
      }
      if (offset !== raw.length)
        throw new ContainerFormatError(
          `${where} has ${raw.length - offset} bytes after its ${count} records`,
        );
      starts[count] = offset;
      const compressed = header.codec !== 'null';
      yield {
        number: block,
        dataOffset,
        records,
        recordBytes: (i) => raw.subarray(starts[i], starts[i + 1]),
        recordOffset: (i) => (compressed ? undefined : dataOffset + (starts[i] as number)),
      };
    }
  } finally {
    input.close();
  }
}

/** Reads exact byte counts and Avro varints from a file stream. */
class ByteReader {
  readonly #chunks: AsyncIterator<Buffer>;
  readonly #stream: ReturnType<typeof createReadStream>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  #position = 0;

  constructor(stream: ReturnType<typeof createReadStream>) {
    this.#stream = stream;
    this.#chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async #fill(size: number): Promise<boolean> {
    while (this.#buffer.length < size && !this.#ended) {
      const next = await this.#chunks.next();
      if (next.done === true) this.#ended = true;
      else
        this.#buffer =
          this.#buffer.length === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
    }
    return this.#buffer.length >= size;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.#fill(1));
  }

  /** `size` bytes, or undefined when the file ends first. */
  async take(size: number): Promise<Buffer | undefined> {
    if (!(await this.#fill(size))) return undefined;
    const out = this.#buffer.subarray(0, size);
    this.#buffer = this.#buffer.subarray(size);
    this.#position += size;
    return out;
  }

  /** Bytes taken so far: the file offset of the next byte. */
  get position(): number {
    return this.#position;
  }

  /** A zig-zag varint long. */
  async long(where: string): Promise<bigint> {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = await this.take(1);
      if (byte === undefined) throw new ContainerFormatError(`file is truncated inside ${where}`);
      const b = byte[0] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new ContainerFormatError(`malformed varint in ${where}`);
    }
    return (result >> 1n) ^ -(result & 1n);
  }

  async bytes(where: string): Promise<Buffer> {
    const size = await this.long(where);
    const data = size < 0n ? undefined : await this.take(Number(size));
    if (data === undefined) throw new ContainerFormatError(`file is truncated inside ${where}`);
    return data;
  }

  close(): void {
    this.#stream.destroy();
  }
}
