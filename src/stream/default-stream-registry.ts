import { deltaStreamSink } from '../connectors/files/delta-stream-sink.js';
import { filesStreamSink, filesStreamSource } from '../connectors/files/ndjson-stream.js';
import { postgresStreamSink } from '../connectors/postgres/postgres-stream-sink.js';
import { StreamRegistry } from './stream-registry.js';

/**
 * The stream connectors streams use unless given others: tailed NDJSON files in, and NDJSON
 * files, Delta tables and PostgreSQL tables out.
 *
 * @example
 * ```ts
 * const plan = planStream(definition, defaultStreamRegistry);
 * ```
 */
export const defaultStreamRegistry = new StreamRegistry([
  filesStreamSource,
  filesStreamSink,
  deltaStreamSink,
  postgresStreamSink,
]);
