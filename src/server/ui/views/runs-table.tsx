// A table of runs (overview and elsewhere).
import type { VNode } from 'preact';
import type { RunSummary } from '../api.js';
import { StateBadge } from '../components.js';
import { formatDuration, formatTime } from '../format.js';
import { href } from '../router.js';

/**
 * Runs as a table: id (a link to the run), pipeline, state, trigger, start and duration.
 *
 * @example
 * ```tsx
 * <RunsTable runs={overview.recentRuns} caption="Recent runs" />
 * ```
 */
export function RunsTable({
  runs,
  caption,
}: {
  runs: readonly RunSummary[];
  caption: string;
}): VNode {
  if (runs.length === 0) return <p class="muted">No runs yet.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Pipeline</th>
            <th scope="col">State</th>
            <th scope="col">Trigger</th>
            <th scope="col">Queued</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id}>
              <td>
                <a href={href(['runs', run.id])}>
                  <code>{run.id}</code>
                </a>
              </td>
              <td>
                <a href={href(['pipelines', run.pipeline])}>{run.pipeline}</a>
              </td>
              <td>
                <StateBadge state={run.state} />
              </td>
              <td>{run.trigger}</td>
              <td>{formatTime(run.queuedAt)}</td>
              <td>{formatDuration(run.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
