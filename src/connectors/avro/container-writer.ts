import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Type as AvroType } from 'avsc';
import type { WritableCodec } from './codecs.js';
import { compressBlock } from './codecs.js';
import { createAvroType } from './avro-type.js';
import type { AvroSchemaJSON } from './avro-type.js';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);

/**
 * Options of {@link ContainerWriter.create}.
 *
 * @example
 * ```ts
 * const options: ContainerWriterOptions = { codec: 'deflate', blockSize: 65536 };
 * ```
 */
export interface ContainerWriterOptions {
  readonly codec: WritableCodec;
  /** Uncompressed bytes of records gathered before a block is written. */
  readonly blockSize: number;
}

/**
 * Writes an Avro object container file: the header (`avro.schema`, `avro.codec`, a random sync
 * marker), then blocks of records, each followed by the sync marker.
 *
 * @example
 * ```ts
 * const writer = await ContainerWriter.create('out.avro', schema, { codec: 'deflate', blockSize: 65536 });
 * writer.append({ id: 1n });
 * if (writer.blockFull) await writer.flush();
 * await writer.close();
 * ```
 */
export class ContainerWriter {
  readonly #file: FileHandle;
  readonly #type: AvroType;
  readonly #options: ContainerWriterOptions;
  readonly #sync = randomBytes(16);
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #records = 0;

  private constructor(file: FileHandle, type: AvroType, options: ContainerWriterOptions) {
    this.#file = file;
    this.#type = type;
    this.#options = options;
  }

  /** Opens (truncates) `path` and writes the header. */
  static async create(
    path: string,
    schema: AvroSchemaJSON,
    options: ContainerWriterOptions,
  ): Promise<ContainerWriter> {
    const type = createAvroType(schema);
    const file = await open(path, 'w');
    const writer = new ContainerWriter(file, type, options);
    try {
      await file.write(writer.#header(JSON.stringify(schema)));
    } catch (error) {
      await file.close();
      throw error;
    }
    return writer;
  }

  /** Number of records appended so far. */
  get records(): number {
    return this.#records;
  }

  /** Encodes one record (validated against the schema) into the pending block. */
  append(record: unknown): void {
    const encoded = this.#type.toBuffer(record);
    this.#pending.push(encoded);
    this.#pendingBytes += encoded.length;
    this.#records++;
  }

  /** Whether the pending block reached the block size; then call {@link ContainerWriter.flush}. */
  get blockFull(): boolean {
    return this.#pendingBytes >= this.#options.blockSize;
  }

  /** Compresses and writes the pending records as one block. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const data = compressBlock(this.#options.codec, Buffer.concat(this.#pending));
    const count = this.#pending.length;
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#file.write(
      Buffer.concat([encodeLong(BigInt(count)), encodeLong(BigInt(data.length)), data, this.#sync]),
    );
  }

  /** Writes the last block, syncs and closes the file. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.#file.sync();
    } finally {
      await this.#file.close();
    }
  }

  /** Closes the file without writing what is pending (after a failure). */
  async abort(): Promise<void> {
    await this.#file.close().catch(() => undefined);
  }

  #header(schemaText: string): Buffer {
    const entries: [string, Buffer][] = [
      ['avro.schema', Buffer.from(schemaText, 'utf8')],
      ['avro.codec', Buffer.from(this.#options.codec, 'utf8')],
    ];
    const parts = [MAGIC, encodeLong(BigInt(entries.length))];
    for (const [key, value] of entries) {
      const keyBytes = Buffer.from(key, 'utf8');
      parts.push(encodeLong(BigInt(keyBytes.length)), keyBytes);
      parts.push(encodeLong(BigInt(value.length)), value);
    }
    parts.push(encodeLong(0n), this.#sync);
    return Buffer.concat(parts);
  }
}

/**
 * Avro's zig-zag varint encoding of a long.
 *
 * @example
 * ```ts
 * encodeLong(-1n); // <Buffer 01>
 * ```
 */
export function encodeLong(value: bigint): Buffer {
  let n = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (n >= 0x80n) {
    bytes.push(Number((n & 0x7fn) | 0x80n));
    n >>= 7n;
  }
  bytes.push(Number(n));
  return Buffer.from(bytes);
}
