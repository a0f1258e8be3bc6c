// The pipeline view: definition summary, step graph coloured by the latest run, the runs x steps
// grid, actions (trigger, pause/unpause) and the backfill form with its dry-run preview.
// Two requests load it (the pipeline and its grid); the graph's layout code loads lazily.
import type { ComponentType, VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { BackfillPlan, Grid, PipelineDetail, RunSummary, Session } from '../api.js';
import { allows, api } from '../api.js';
import { ErrorBox, Loading, StateBadge, VirtualList, stateClass } from '../components.js';
import { formatDuration, formatRelative, formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import type { Route } from '../router.js';
import { href } from '../router.js';
import type { StepGraphProps } from './dag.js';

/**
 * The pipeline view (route "#/pipelines/:name", `?runs=` for the grid's width).
 *
 * @example
 * ```tsx
 * <PipelineView name="orders" session={session} route={route} />
 * ```
 */
export function PipelineView({
  name,
  session,
  route,
}: {
  name: string;
  session: Session;
  route: Route;
}): VNode {
  const limit = clamp(Number(route.query.get('runs') ?? 25), 1, 200);
  const cursor = route.query.get('cursor') ?? undefined;
  const mine = (u: { pipeline: string | null }): boolean =>
    u.pipeline === null || u.pipeline === name;
  const path = encodeURIComponent(name);
  // Two requests, each shown as it arrives: the graph does not wait for the grid.
  const data = useResource(
    `pipeline:${name}`,
    (signal) => api<PipelineDetail>(`/pipelines/${path}`, { signal }),
    mine,
  );
  const gridQuery = new URLSearchParams({ limit: String(limit) });
  if (cursor !== undefined) gridQuery.set('cursor', cursor);
  const grid = useResource(
    `grid:${name}:${gridQuery.toString()}`,
    (signal) => api<Grid>(`/pipelines/${path}/grid?${gridQuery.toString()}`, { signal }),
    mine,
  );
  const [message, setMessage] = useState<VNode | string | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const act = async (what: () => Promise<VNode | string>): Promise<void> => {
    setBusy(true);
    setActionError(undefined);
    try {
      setMessage(await what());
      data.reload();
      grid.reload();
    } catch (error) {
      setActionError(error instanceof Error ? error : new Error(String(error)));
    } finally {
      setBusy(false);
    }
  };
  const p = data.data;
  return (
    <>
      <h1>
        Pipeline <span class="mono">{name}</span>
      </h1>
      <ErrorBox error={data.error} />
      {p === undefined ? (
        data.loading && <Loading what="the pipeline" />
      ) : (
        <>
          {p.description !== null && <p>{p.description}</p>}
          <dl class="facts">
            <div>
              <dt>Schedule</dt>
              <dd>{p.schedule ?? 'none'}</dd>
            </div>
            <div>
              <dt>Next run</dt>
              <dd>
                {p.nextRunAt === null
                  ? '-'
                  : `${formatTime(p.nextRunAt)} (${formatRelative(p.nextRunAt)})`}
              </dd>
            </div>
            <div>
              <dt>Owners</dt>
              <dd>{p.owners.length === 0 ? '-' : p.owners.join(', ')}</dd>
            </div>
            <div>
              <dt>Status</dt>
              <dd>
                {p.paused ? (
                  <span class="badge state-canceled">paused</span>
                ) : (
                  <span class="badge state-success">active</span>
                )}
              </dd>
            </div>
            <div>
              <dt>Latest run</dt>
              <dd>
                {p.latestRun === null ? (
                  'none'
                ) : (
                  <>
                    <a href={href(['runs', p.latestRun.id])}>
                      <code>{p.latestRun.id}</code>
                    </a>{' '}
                    <StateBadge state={p.latestRun.state} />
                  </>
                )}
              </dd>
            </div>
          </dl>
          <div class="actions">
            {allows(session.role, 'trigger') && (
              <TriggerForm
                busy={busy}
                onTrigger={(params) =>
                  void act(async () => {
                    const run = await api<RunSummary>(`/pipelines/${path}/runs`, {
                      method: 'POST',
                      body: Object.keys(params).length === 0 ? {} : { params },
                    });
                    return (
                      <>
                        Queued run{' '}
                        <a href={href(['runs', run.id])}>
                          <code>{run.id}</code>
                        </a>
                        .
                      </>
                    );
                  })
                }
              />
            )}
            {allows(session.role, 'admin') && (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  void act(async () => {
                    const r = await api<{ paused: boolean }>(
                      `/pipelines/${path}/${p.paused ? 'unpause' : 'pause'}`,
                      { method: 'POST' },
                    );
                    return r.paused ? 'The pipeline is paused.' : 'The pipeline is active again.';
                  })
                }
              >
                {p.paused ? 'Unpause' : 'Pause'}
              </button>
            )}
          </div>
          <div role="status" class="status-line">
            {message}
          </div>
          <ErrorBox error={actionError} />
          <section aria-labelledby="graph-h">
            <h2 id="graph-h">Steps</h2>
            <LazyGraph steps={p.steps} stepStates={p.stepStates} runId={p.latestRun?.id ?? null} />
          </section>
          <ErrorBox error={grid.error} />
          {grid.data === undefined ? (
            grid.loading && <Loading what="the runs by step" />
          ) : (
            <RunGrid grid={grid.data} name={name} limit={limit} cursor={cursor} />
          )}
          {allows(session.role, 'admin') && <BackfillForm name={name} />}
        </>
      )}
    </>
  );
}

function clamp(n: number, low: number, high: number): number {
  return Number.isFinite(n) ? Math.min(high, Math.max(low, Math.floor(n))) : low;
}

function TriggerForm(props: {
  busy: boolean;
  onTrigger: (params: Record<string, string>) => void;
}): VNode {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const submit = (event: Event): void => {
    event.preventDefault();
    const params: Record<string, string> = {};
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const at = line.indexOf('=');
      if (at <= 0) {
        setProblem(`"${line}" is not name=value; write one parameter a line, e.g. region=EU`);
        return;
      }
      params[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    setProblem(undefined);
    props.onTrigger(params);
  };
  return (
    <form class="trigger" onSubmit={submit}>
      <details>
        <summary>Parameters</summary>
        <label for="trigger-params">One name=value a line (optional)</label>
        <textarea
          id="trigger-params"
          rows={3}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
      </details>
      <button type="submit" disabled={props.busy}>
        Trigger run
      </button>
      {problem !== undefined && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

function LazyGraph(props: StepGraphProps): VNode {
  const [Graph, setGraph] = useState<ComponentType<StepGraphProps> | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  useEffect(() => {
    let alive = true;
    import('./dag.js').then(
      (module) => alive && setGraph(() => module.StepGraph),
      (failure: unknown) =>
        alive && setError(failure instanceof Error ? failure : new Error(String(failure))),
    );
    return () => {
      alive = false;
    };
  }, []);
  if (error !== undefined) return <ErrorBox error={error} />;
  if (Graph === undefined) return <Loading what="the step graph" />;
  return <Graph {...props} />;
}

const CELL = 22;

function RunGrid({
  grid,
  name,
  limit,
  cursor,
}: {
  grid: Grid;
  name: string;
  limit: number;
  cursor: string | undefined;
}): VNode {
  const runs = [...grid.runs].reverse(); // oldest left, newest right
  return (
    <section aria-labelledby="grid-h">
      <h2 id="grid-h">Runs by step</h2>
      <p class="muted small">
        {grid.steps.length} steps x {runs.length} runs, oldest on the left. Each cell opens the run
        at that step.
      </p>
      {runs.length === 0 ? (
        <p class="muted">No runs yet.</p>
      ) : (
        <div class="grid-wrap">
          <div class="grid-row grid-head">
            <span class="grid-step muted">Step \ run</span>
            {runs.map((run) => (
              <a
                key={run.id}
                class={`cell state-${stateClass(run.state)}`}
                href={href(['runs', run.id])}
                aria-label={`Run ${run.id}: ${run.state}, queued ${formatTime(run.queuedAt)}`}
                title={`${run.id}: ${run.state} (${formatTime(run.queuedAt)})`}
              />
            ))}
          </div>
          <VirtualList
            count={grid.steps.length}
            rowHeight={CELL}
            maxHeight={480}
            label="Grid of runs by step"
            class="grid-body"
            renderRow={(i) => {
              const step = grid.steps[i] ?? '';
              return (
                <div class="grid-row" key={step}>
                  <span class="grid-step" title={step}>
                    {step}
                  </span>
                  {runs.map((run) => {
                    const cell = run.cells[step];
                    if (cell === undefined)
                      return <span key={run.id} class="cell empty" aria-hidden="true" />;
                    const detail = `${step} in run ${run.id}: ${cell.state}${cell.cached ? ' (cached)' : ''}, ${formatDuration(cell.durationMs)}`;
                    return (
                      <a
                        key={run.id}
                        class={`cell state-${stateClass(cell.state)}`}
                        href={href(['runs', run.id], { step })}
                        aria-label={detail}
                        title={`${detail}; rows in ${cell.rowsIn ?? '-'}, out ${cell.rowsOut ?? '-'}`}
                      />
                    );
                  })}
                </div>
              );
            }}
          />
        </div>
      )}
      <nav class="pager" aria-label="Grid pages">
        {cursor !== undefined && (
          <a href={href(['pipelines', name], { runs: String(limit) })}>Newest runs</a>
        )}
        {grid.nextCursor !== null && (
          <a href={href(['pipelines', name], { runs: String(limit), cursor: grid.nextCursor })}>
            Older runs
          </a>
        )}
      </nav>
    </section>
  );
}

function BackfillForm({ name }: { name: string }): VNode {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [reprocess, setReprocess] = useState<'failed' | 'all' | 'none'>('failed');
  const [preview, setPreview] = useState<BackfillPlan | undefined>(undefined);
  const [done, setDone] = useState<BackfillPlan | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const toISO = (local: string): string | undefined => {
    const ms = Date.parse(`${local.length === 16 ? `${local}:00` : local}Z`);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
  };
  const call = async (dryRun: boolean): Promise<void> => {
    const start = toISO(from);
    const end = toISO(to);
    if (start === undefined || end === undefined) {
      setError(new Error('Enter both the start and the end of the backfill (UTC).'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const plan = await api<BackfillPlan>(`/pipelines/${encodeURIComponent(name)}/backfills`, {
        method: 'POST',
        body: { from: start, to: end, reprocess, dryRun },
      });
      if (dryRun) {
        setPreview(plan);
        setDone(undefined);
      } else {
        setDone(plan);
        setPreview(undefined);
      }
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
    } finally {
      setBusy(false);
    }
  };
  const changed = (): void => {
    setPreview(undefined);
    setDone(undefined);
  };
  return (
    <section aria-labelledby="backfill-h">
      <h2 id="backfill-h">Backfill</h2>
      <form
        class="backfill"
        onSubmit={(e) => {
          e.preventDefault();
          void call(true);
        }}
      >
        <label for="backfill-from">From (UTC)</label>
        <input
          id="backfill-from"
          type="datetime-local"
          value={from}
          required
          onInput={(e) => {
            setFrom((e.target as HTMLInputElement).value);
            changed();
          }}
        />
        <label for="backfill-to">To (UTC)</label>
        <input
          id="backfill-to"
          type="datetime-local"
          value={to}
          required
          onInput={(e) => {
            setTo((e.target as HTMLInputElement).value);
            changed();
          }}
        />
        <label for="backfill-reprocess">Intervals that already ran</label>
        <select
          id="backfill-reprocess"
          value={reprocess}
          onChange={(e) => {
            setReprocess((e.target as HTMLSelectElement).value as 'failed' | 'all' | 'none');
            changed();
          }}
        >
          <option value="failed">rerun the failed ones</option>
          <option value="all">rerun all</option>
          <option value="none">skip them</option>
        </select>
        <button type="submit" disabled={busy}>
          Preview backfill
        </button>
      </form>
      <ErrorBox error={error} />
      {preview !== undefined && (
        <div class="preview" aria-labelledby="preview-h">
          <h3 id="preview-h">Preview</h3>
          <p role="status">
            {preview.create} to create, {preview.rerun} to rerun, {preview.skip} to skip.
          </p>
          {preview.intervals.length > 0 && (
            <ul class="plain intervals">
              {preview.intervals.slice(0, 50).map((i) => (
                <li key={i.start}>
                  {new Date(i.start).toISOString()} to {new Date(i.end).toISOString()}: {i.action}
                </li>
              ))}
              {preview.intervals.length > 50 && <li>and {preview.intervals.length - 50} more</li>}
            </ul>
          )}
          <button
            type="button"
            disabled={busy || preview.create + preview.rerun === 0}
            onClick={() => void call(false)}
          >
            Submit backfill
          </button>
        </div>
      )}
      {done !== undefined && (
        <p role="status" class="ok">
          Backfill <code>{done.backfillId ?? '-'}</code> submitted: {done.create} created,{' '}
          {done.rerun} rerun, {done.skip} skipped. The grid above shows their runs as they are
          queued.
        </p>
      )}
    </section>
  );
}
