import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { parquetSourceConfig } from '../shared/file-configs.js';
import { fingerprintFiles } from '../shared/files-fingerprint.js';

/**\/*.parquet' });
 * ```
 */
export const parquetSource = defineSource({
  name: 'parquet',
  summary: 'Parquet files, with hive partition folders read as columns.',
  config: parquetSourceConfig,
  read: lazy(() => import('./parquet-reader.js'), 'readParquet'),
  fingerprint: fingerprintFiles,
});
