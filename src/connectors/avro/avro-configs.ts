import { z } from 'zod';
import type { Schema } from '../../core/schema.js';
import { isSchema } from '../../core/schema.js';
import { WRITABLE_CODECS } from './codec-names.js';

/**
 * Config of the `avro` source.
 *
 * @example
 * ```ts
 * avroSourceConfig.parse({ path: 'data/*.avro', metadata: ['_source_file'] });
 * ```
 */
export const avroSourceConfig = z
  .strictObject({
    path: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe(
        'Avro container file, glob (`data/*.avro`) or list of them, relative to the pipeline file.',
      ),
    schema: z
      .custom<Schema>(isSchema, { message: 'expected a schema built with schema({...})' })
      .optional()
      .describe(
        "Declared columns. Records whose values do not fit are quarantined. Taken from the files' Avro schema when omitted.",
      ),
    schemaPolicy: z
      .enum(['strict', 'additive', 'widen', 'discard_row', 'discard_column'])
      .default('discard_row')
      .describe(
        "How the files' Avro schema may differ from the declared schema: `strict` fails on added or missing fields; `additive` adds new fields and null-fills missing nullable ones; `widen` also widens types; `discard_row` (default) leaves undeclared fields out and quarantines records with values that do not fit; `discard_column` sets such values to null and keeps the record.",
      ),
    metadata: z
      .array(z.enum(['_source_file', '_extracted_at', '_run_id']))
      .default([])
      .describe(
        'Metadata columns to add: `_source_file` (the file a row came from), `_extracted_at` (run start), `_run_id`.',
      ),
  })
  .describe('Reads Avro object container files (codecs null, deflate, snappy, zstandard).');

/**
 * Config of the `avro` sink.
 *
 * @example
 * ```ts
 * avroSinkConfig.parse({ path: 'out/orders.avro', codec: 'snappy' });
 * ```
 */
export const avroSinkConfig = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .describe(
        'Output file, relative to the pipeline file. Replaced atomically when the run succeeds.',
      ),
    codec: z.enum(WRITABLE_CODECS).default('deflate').describe('Block compression codec.'),
    recordName: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/)
      .optional()
      .describe(
        'Full name of the top-level Avro record (`com.acme.Order`); the step id when omitted.',
      ),
    blockSize: z
      .int()
      .min(1024)
      .default(64 * 1024)
      .describe('Uncompressed bytes of records per block before it is compressed and written.'),
  })
  .describe('Writes one Avro object container file, schema derived from the input columns.');

/**
 * What a user writes in `source.custom('avro', {...})`.
 *
 * @example
 * ```ts
 * const config: AvroSourceConfig = { path: 'data/*.avro' };
 * ```
 */
export type AvroSourceConfig = z.input<typeof avroSourceConfig>;
/**
 * What a user writes in `sink.custom('avro', {...})` besides `input`.
 *
 * @example
 * ```ts
 * const config: AvroSinkConfig = { path: 'out/orders.avro', codec: 'deflate' };
 * ```
 */
export type AvroSinkConfig = z.input<typeof avroSinkConfig>;
