// The overview: scheduler and worker health, runs of the last 24 h, failing pipelines, firing
// alerts and the latest runs. One request (GET /api/v1/overview), refetched on any update.
import type { VNode } from 'preact';
import type { Overview } from '../api.js';
import { api } from '../api.js';
import { ErrorBox, Loading, StateBadge } from '../components.js';
import { formatDuration, formatRelative, formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { href } from '../router.js';
import { RunsTable } from './runs-table.js';

/**
 * The overview view (route "#/").
 *
 * @example
 * ```tsx
 * <OverviewView />
 * ```
 */
export function OverviewView(): VNode {
  const overview = useResource('overview', (signal) => api<Overview>('/overview', { signal }));
  const data = overview.data;
  return (
    <>
      <h1>Overview</h1>
      <ErrorBox error={overview.error} />
      {data === undefined ? (
        overview.loading && <Loading what="the overview" />
      ) : (
        <>
          <div class="cards">
            <section class="card" aria-labelledby="scheduler-h">
              <h2 id="scheduler-h">Scheduler</h2>
              <p>
                <StateBadge state={data.scheduler.healthy ? 'success' : 'failed'} />{' '}
                {data.scheduler.healthy ? 'healthy' : 'not healthy'}
              </p>
              <p class="muted">Last heartbeat: {formatRelative(data.scheduler.lastHeartbeatAt)}</p>
            </section>
            <section class="card" aria-labelledby="workers-h">
              <h2 id="workers-h">Workers</h2>
              {data.workers.length === 0 ? (
                <p class="muted">No worker has been seen.</p>
              ) : (
                <ul class="plain">
                  {data.workers.map((w) => (
                    <li key={w.id}>
                      <code>{w.id}</code>: {w.running} running, seen {formatRelative(w.lastSeenAt)}
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section class="card" aria-labelledby="runs24-h">
              <h2 id="runs24-h">Runs in the last 24 h</h2>
              <dl class="counts">
                {(['queued', 'running', 'success', 'failed', 'canceled'] as const).map((s) => (
                  <div key={s}>
                    <dt>
                      <StateBadge state={s} />
                    </dt>
                    <dd>{data.runs24h[s] ?? 0}</dd>
                  </div>
                ))}
              </dl>
            </section>
          </div>
          <section aria-labelledby="failing-h">
            <h2 id="failing-h">Failing pipelines</h2>
            {data.failingPipelines.length === 0 ? (
              <p class="muted">No pipeline's latest run failed.</p>
            ) : (
              <ul class="plain">
                {data.failingPipelines.map((f) => (
                  <li key={f.pipeline}>
                    <a href={href(['pipelines', f.pipeline])}>{f.pipeline}</a> failed{' '}
                    {formatRelative(f.failedAt)} in{' '}
                    <a href={href(['runs', f.runId])}>run {f.runId}</a>
                    {f.error !== null && (
                      <>
                        : <code>{f.error.code}</code> {f.error.message}
                      </>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="alerts-h">
            <h2 id="alerts-h">Firing alerts</h2>
            {data.firingAlerts.length === 0 ? (
              <p class="muted">No alert is firing.</p>
            ) : (
              <ul class="plain">
                {data.firingAlerts.map((a) => (
                  <li key={a.id}>
                    <span class="badge state-failed">{a.severity}</span> <strong>{a.rule}</strong>{' '}
                    since {formatTime(a.since)} ({formatDuration(Date.now() - a.since)}):{' '}
                    {a.summary}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="recent-h">
            <h2 id="recent-h">Recent runs</h2>
            <RunsTable runs={data.recentRuns} caption="The 20 latest runs" />
          </section>
        </>
      )}
    </>
  );
}
