import { param, pipeline, ref, sink, source, sql } from 'sluice';

/** The serving database; `setup.sql` creates its tables and the merged view. */
const url =
  process.env['SLUICE_EXAMPLE_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/sluice_example';

/**
 * The batch layer: exact sales and revenue per store and minute, recomputed from the whole
 * master dataset for every minute before the cutoff, and written with the cutoff into the
 * batch view in one transaction. Retries count once however late they came, and late sales
 * are counted in their minute.
 */
export default pipeline('batch_sales', {
  description: 'Exact totals per store and minute from the master dataset into the batch view.',
  // The start of a minute (ISO 8601, rounded down to the minute); default: the minute of the
  // newest sale, so every earlier minute comes from here and that one from the speed layer.
  params: { cutoff: '' },
  schedule: { every: '1h' },
  maxActiveRuns: 1,
  steps: {
    master: source.delta({ path: '../out/lake/sales' }),

    // One row per sale: the master dataset keeps producer retries as they arrived.
    sales: sql`
      select event_id, store, amount_cents, ts at time zone 'UTC' as ts
      from ${ref('master')}
      qualify row_number() over (partition by event_id order by ts) = 1`,

    cutoff: sql`
      select time_bucket(
        interval 1 minute,
        coalesce(cast(nullif(${param('cutoff')}, '') as timestamptz), max(ts))
      ) as cutoff
      from ${ref('sales')}`,

    totals: sql`
      select
        store,
        time_bucket(interval 1 minute, ts) as window_start,
        time_bucket(interval 1 minute, ts) + interval 1 minute as window_end,
        count(*) as sales,
        sum(amount_cents) as revenue_cents
      from ${ref('sales')}
      where ts < (select cutoff from ${ref('cutoff')})
      group by all
      order by window_start, store`,

    // Both replace their table in the run's one transaction: readers of the merged view see the
    // old totals with the old cutoff or the new ones with the new cutoff, never a mix.
    batch_view: sink.postgres({
      input: ref('totals'),
      url,
      table: 'serving.batch_sales',
      mode: 'overwrite',
    }),
    batch_cutoff: sink.postgres({
      input: ref('cutoff'),
      url,
      table: 'serving.batch_cutoff',
      mode: 'overwrite',
    }),
  },
});
