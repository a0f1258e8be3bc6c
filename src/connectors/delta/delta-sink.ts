import { defineSink } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { deltaSinkConfig } from './delta-configs.js';

const writer = () => import('./delta-sink-writer.js');

/**
 * Writes a Delta Lake table (a local folder or an `s3://bucket/prefix` URL). The step writes
 * the data files; the commit that makes them visible happens only when the whole run
 * succeeded, and a failed run removes them. On a full refresh (`context.fullRefresh`) `append`
 * and `merge` replace the table's rows with the run's output in one overwrite commit.
 *
 * @example
 * ```ts
 * sink.delta({ input: ref('daily'), path: 'lake/daily_revenue', partitionBy: ['order_date'] });
 * sink.delta({ input: ref('daily'), path: 's3://lake/daily_revenue', mode: 'overwrite' });
 * ```
 */
export const deltaSink = defineSink({
  name: 'delta',
  summary: 'A Delta Lake table, committed when the run succeeds.',
  config: deltaSinkConfig,
  publishedRun: lazy(() => import('./delta-published-runs.js'), 'deltaPublishedRun'),
  write: lazy(writer, 'writeDelta'),
});
