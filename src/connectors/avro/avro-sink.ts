import { defineSink } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { avroSinkConfig } from './avro-configs.js';

const writer = () => import('./avro-writer.js');

/**
 * Writes the input relation to one Avro object container file, schema derived from its
 * columns. The file is written beside the target under a hidden name and renamed into place
 * when the run publishes, so readers see the old file or the whole new one.
 *
 * @example
 * ```ts
 * sink.custom('avro', { input: ref('daily'), path: 'out/daily.avro', codec: 'deflate' });
 * ```
 */
export const avroSink = defineSink({
  name: 'avro',
  summary: 'One Avro object container file, replaced atomically.',
  config: avroSinkConfig,
  write: lazy(writer, 'writeAvro'),
});
