// The pipelines list: each with its last runs as a strip, next run, owners and paused flag.
import type { VNode } from 'preact';
import type { PipelineListItem } from '../api.js';
import { api } from '../api.js';
import { ErrorBox, Loading, stateClass } from '../components.js';
import { formatRelative, formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { href } from '../router.js';

/**
 * The pipelines view (route "#/pipelines").
 *
 * @example
 * ```tsx
 * <PipelinesView />
 * ```
 */
export function PipelinesView(): VNode {
  const list = useResource('pipelines', (signal) =>
    api<{ pipelines: PipelineListItem[] }>('/pipelines', { signal }),
  );
  const pipelines = list.data?.pipelines;
  return (
    <>
      <h1>Pipelines</h1>
      <ErrorBox error={list.error} />
      {pipelines === undefined ? (
        list.loading && <Loading what="the pipelines" />
      ) : pipelines.length === 0 ? (
        <p class="muted">The project has no pipelines.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Pipelines of the project</caption>
            <thead>
              <tr>
                <th scope="col">Pipeline</th>
                <th scope="col">Last runs (oldest to newest)</th>
                <th scope="col">Schedule</th>
                <th scope="col">Next run</th>
                <th scope="col">Owners</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {pipelines.map((p) => (
                <tr key={p.name}>
                  <td>
                    <a href={href(['pipelines', p.name])}>{p.name}</a>
                    {p.description !== null && <div class="muted small">{p.description}</div>}
                  </td>
                  <td>
                    <RunStrip runs={p.lastRuns} pipeline={p.name} />
                  </td>
                  <td>{p.schedule ?? <span class="muted">none</span>}</td>
                  <td>
                    {p.nextRunAt === null ? (
                      <span class="muted">-</span>
                    ) : (
                      <time
                        dateTime={new Date(p.nextRunAt).toISOString()}
                        title={formatTime(p.nextRunAt)}
                      >
                        {formatRelative(p.nextRunAt)}
                      </time>
                    )}
                  </td>
                  <td>
                    {p.owners.length === 0 ? <span class="muted">-</span> : p.owners.join(', ')}
                  </td>
                  <td>
                    {p.paused ? (
                      <span class="badge state-canceled">paused</span>
                    ) : (
                      <span class="badge state-success">active</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function RunStrip({
  runs,
  pipeline,
}: {
  runs: PipelineListItem['lastRuns'];
  pipeline: string;
}): VNode {
  if (runs.length === 0) return <span class="muted">no runs</span>;
  return (
    <ul class="strip" aria-label={`Last ${runs.length} runs of ${pipeline}`}>
      {[...runs].reverse().map((run) => (
        <li key={run.id}>
          <a
            class={`cell state-${stateClass(run.state)}`}
            href={href(['runs', run.id])}
            aria-label={`Run ${run.id}: ${run.state}, started ${formatTime(run.startedAt)}`}
            title={`${run.id}: ${run.state}`}
          />
        </li>
      ))}
    </ul>
  );
}
