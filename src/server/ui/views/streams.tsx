// The streams view: each stream's watermark, records in/out, lag, throughput, state size and
// last checkpoint, with its partitions, their owners and lease expiry. One request
// (GET /api/v1/streams), refetched on updates.
import type { VNode } from 'preact';
import type { StreamInfo } from '../api.js';
import { api } from '../api.js';
import { ErrorBox, Loading } from '../components.js';
import { formatCount, formatRelative, formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { href } from '../router.js';

/**
 * The streams view (route "#/streams").
 *
 * @example
 * ```tsx
 * <StreamsView />
 * ```
 */
export function StreamsView(): VNode {
  const streams = useResource('streams', (signal) =>
    api<{ streams: StreamInfo[] }>('/streams', { signal }),
  );
  const data = streams.data;
  return (
    <>
      <h1>Streams</h1>
      <ErrorBox error={streams.error} />
      {data === undefined ? (
        streams.loading && <Loading what="the streams" />
      ) : data.streams.length === 0 ? (
        <p class="muted">
          No stream has checkpointed yet. Streams appear here once a streaming pipeline runs.
        </p>
      ) : (
        data.streams.map((s, i) => <StreamCard key={s.name} stream={s} index={i} />)
      )}
    </>
  );
}

function StreamCard({ stream: s, index }: { stream: StreamInfo; index: number }): VNode {
  const heading = `stream-${index}-h`;
  return (
    <section class="card stream" aria-labelledby={heading}>
      <h2 id={heading}>
        {s.pipeline !== null ? <a href={href(['pipelines', s.pipeline])}>{s.name}</a> : s.name}
      </h2>
      <dl class="facts">
        <div>
          <dt>Watermark</dt>
          <dd>{formatTime(s.watermark)}</dd>
        </div>
        <div>
          <dt>Records in</dt>
          <dd>{formatCount(s.recordsIn)}</dd>
        </div>
        <div>
          <dt>Records out</dt>
          <dd>{formatCount(s.recordsOut)}</dd>
        </div>
        <div>
          <dt>Lag</dt>
          <dd>{s.lag === null ? 'unknown' : `${formatCount(s.lag)} records`}</dd>
        </div>
        <div>
          <dt>Records per second</dt>
          <dd>{s.recordsPerSecond === null ? '-' : s.recordsPerSecond.toFixed(1)}</dd>
        </div>
        <div>
          <dt>State size</dt>
          <dd>{formatCount(s.stateSize)}</dd>
        </div>
        <div>
          <dt>Last checkpoint</dt>
          <dd>
            {formatTime(s.lastCheckpointAt)}{' '}
            {s.lastCheckpointAt !== null && (
              <span class="muted small">({formatRelative(s.lastCheckpointAt)})</span>
            )}
          </dd>
        </div>
      </dl>
      {s.partitions.length === 0 ? (
        <p class="muted">No partition is known.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Partitions of {s.name}</caption>
            <thead>
              <tr>
                <th scope="col">Partition</th>
                <th scope="col">Owner</th>
                <th scope="col">Lease expires</th>
                <th scope="col">Checkpoint</th>
                <th scope="col">Position</th>
                <th scope="col">Watermark</th>
              </tr>
            </thead>
            <tbody>
              {s.partitions.map((p) => (
                <tr key={p.partition}>
                  <td>
                    <code>{p.partition}</code>
                  </td>
                  <td>{p.owner ?? <span class="muted">none</span>}</td>
                  <td>
                    {p.leaseExpiresAt === null
                      ? '-'
                      : `${formatTime(p.leaseExpiresAt)} (${formatRelative(p.leaseExpiresAt)})`}
                  </td>
                  <td>
                    {p.checkpoint === null
                      ? '-'
                      : `#${p.checkpoint.id} at ${formatTime(p.checkpoint.at)}`}
                  </td>
                  <td>
                    {p.checkpoint?.position == null ? '-' : <code>{p.checkpoint.position}</code>}
                  </td>
                  <td>{formatTime(p.checkpoint?.watermark)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
