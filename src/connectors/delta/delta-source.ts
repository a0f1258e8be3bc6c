import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { deltaSourceConfig } from './delta-configs.js';

const reader = () => import('./delta-reader.js');

/**
 * Reads a Delta Lake table (a local folder or an `s3://bucket/prefix` URL): the latest version,
 * a `version`, or the state at a `timestamp`. With `where`, files whose partition values or
 * stats rule out a match are not read (nor, for S3 tables, downloaded).
 *
 * @example
 * ```ts
 * source.delta({ path: 'lake/orders', where: "order_date >= DATE '2026-03-01'" });
 * source.delta({ path: 's3://lake/orders', version: 12 });
 * ```
 */
export const deltaSource = defineSource({
  name: 'delta',
  summary: 'A Delta Lake table, at its latest version, a version or a time.',
  config: deltaSourceConfig,
  read: lazy(reader, 'readDelta'),
  fingerprint: lazy(reader, 'fingerprintDelta'),
});
