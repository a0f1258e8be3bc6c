import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { jsonSourceConfig } from './file-configs.js';
import { fingerprintFiles } from './files-fingerprint.js';

const reader = () => import('./json-reader.js');

/**
 * Reads newline-delimited JSON. Each line is parsed on its own, so a line that is not valid
 * JSON (or not an object) is quarantined with its text instead of failing the whole file.
 *
 * @example
 * ```ts
 * source.ndjson({ path: 'data/events-*.ndjson.gz', schema: events });
 * ```
 */
export const ndjsonSource = defineSource({
  name: 'ndjson',
  summary: 'Newline-delimited JSON files; invalid lines are quarantined.',
  config: jsonSourceConfig,
  read: lazy(reader, 'readNDJSON'),
  fingerprint: fingerprintFiles,
});

/**
 * Reads JSON documents: a top-level array of records, one record per file, or concatenated
 * records. A file that is not valid JSON fails the step with its name.
 *
 * @example
 * ```ts
 * source.json({ path: 'data/customers.json' });
 * ```
 */
export const jsonSource = defineSource({
  name: 'json',
  summary: 'JSON files holding an array of records or records one after another.',
  config: jsonSourceConfig,
  read: lazy(reader, 'readJSONDocuments'),
  fingerprint: fingerprintFiles,
});
