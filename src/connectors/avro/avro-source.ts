import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { fingerprintFiles } from '../shared/files-fingerprint.js';
import { avroSourceConfig } from './avro-configs.js';

const reader = () => import('./avro-reader.js');

/**
 * Reads Avro object container files (codecs null, deflate, snappy, zstandard) block by block
 * into the step's dataset. Columns come from the files' Avro schema or a declared schema under
 * a schema policy; records that do not fit are quarantined with the reason.
 *
 * @example
 * ```ts
 * source.custom('avro', { path: 'data/events-*.avro', metadata: ['_source_file'] });
 * ```
 */
export const avroSource = defineSource({
  name: 'avro',
  summary: 'Avro object container files (one or many, by glob), streamed block by block.',
  config: avroSourceConfig,
  read: lazy(reader, 'readAvro'),
  fingerprint: fingerprintFiles,
});
