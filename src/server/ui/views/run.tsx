// The run view: summary, cancel/retry, a Gantt timeline of the steps with rows in/out, and a
// tabbed panel: the focused step's logs, the quality results, the quarantined samples.
// Two requests load it: the run and the open tab's data.
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import type {
  LogLines,
  QualityResults,
  QuarantineSamples,
  RunDetail,
  RunStep,
  RunSummary,
  Session,
} from '../api.js';
import { allows, api } from '../api.js';
import { ErrorBox, Loading, StateBadge, VirtualList, stateClass } from '../components.js';
import { formatCount, formatDuration, formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import type { Route } from '../router.js';
import { href, navigate } from '../router.js';

type Tab = 'logs' | 'quality' | 'quarantine';
const TABS: readonly { id: Tab; label: string }[] = [
  { id: 'logs', label: 'Logs' },
  { id: 'quality', label: 'Quality' },
  { id: 'quarantine', label: 'Quarantine' },
];
const ACTIVE = new Set(['queued', 'running', 'up_for_retry']);

/**
 * The run view (route "#/runs/:id", `?step=` focuses a step, `?tab=logs|quality|quarantine`).
 *
 * @example
 * ```tsx
 * <RunView id="r1" session={session} route={route} />
 * ```
 */
export function RunView({
  id,
  session,
  route,
}: {
  id: string;
  session: Session;
  route: Route;
}): VNode {
  const focused = route.query.get('step') ?? undefined;
  const tabText = route.query.get('tab');
  const tab: Tab = tabText === 'quality' || tabText === 'quarantine' ? tabText : 'logs';
  const path = `/runs/${encodeURIComponent(id)}`;
  const mine = (u: { runId: string | null }): boolean => u.runId === null || u.runId === id;
  const detail = useResource(`run:${id}`, (signal) => api<RunDetail>(path, { signal }), mine);
  const [message, setMessage] = useState<VNode | string | undefined>(undefined);
  const [actionError, setActionError] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const d = detail.data;
  const run = d?.run;
  const go = (query: { step?: string | undefined; tab?: Tab }): void =>
    navigate(
      href(['runs', id], { step: focused, tab: tab === 'logs' ? undefined : tab, ...query }),
      true,
    );

  const cancel = async (): Promise<void> => {
    setBusy(true);
    setActionError(undefined);
    try {
      const r = await api<{ state: string }>(`${path}/cancel`, { method: 'POST' });
      setMessage(`Cancel requested; the run is ${r.state}.`);
      detail.reload();
    } catch (error) {
      setActionError(error instanceof Error ? error : new Error(String(error)));
    } finally {
      setBusy(false);
    }
  };
  const retry = async (): Promise<void> => {
    setBusy(true);
    setActionError(undefined);
    try {
      const next = await api<RunSummary>(`${path}/retry`, { method: 'POST' });
      navigate(href(['runs', next.id]));
    } catch (error) {
      setActionError(error instanceof Error ? error : new Error(String(error)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>
        Run <span class="mono">{id}</span>
      </h1>
      <ErrorBox error={detail.error} />
      {run === undefined || d === undefined ? (
        detail.loading && <Loading what="the run" />
      ) : (
        <>
          <dl class="facts">
            <div>
              <dt>Pipeline</dt>
              <dd>
                <a href={href(['pipelines', run.pipeline])}>{run.pipeline}</a>
              </dd>
            </div>
            <div>
              <dt>State</dt>
              <dd>
                <StateBadge state={run.state} />
              </dd>
            </div>
            <div>
              <dt>Trigger</dt>
              <dd>
                {run.trigger}
                {run.triggeredBy !== null && ` by ${run.triggeredBy}`}
                {run.backfillId !== null && ` (backfill ${run.backfillId})`}
              </dd>
            </div>
            <div>
              <dt>Attempt</dt>
              <dd>
                {run.attempt} of {run.maxAttempts}
              </dd>
            </div>
            <div>
              <dt>Queued</dt>
              <dd>{formatTime(run.queuedAt)}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatTime(run.startedAt)}</dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd>{formatDuration(run.durationMs)}</dd>
            </div>
            {run.interval !== null && (
              <div>
                <dt>Interval</dt>
                <dd>
                  {new Date(run.interval.start).toISOString()} to{' '}
                  {new Date(run.interval.end).toISOString()}
                </dd>
              </div>
            )}
            {Object.keys(run.params).length > 0 && (
              <div>
                <dt>Parameters</dt>
                <dd>
                  {Object.entries(run.params)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(', ')}
                </dd>
              </div>
            )}
          </dl>
          {run.error !== null && (
            <p class="error">
              <code>{run.error.code}</code> {run.error.message}
            </p>
          )}
          <div class="actions">
            {allows(session.role, 'admin') && ACTIVE.has(run.state) && (
              <button type="button" disabled={busy} onClick={() => void cancel()}>
                Cancel run
              </button>
            )}
            {allows(session.role, 'trigger') &&
              (run.state === 'failed' || run.state === 'canceled') && (
                <button type="button" disabled={busy} onClick={() => void retry()}>
                  Retry
                </button>
              )}
          </div>
          <div role="status" class="status-line">
            {message}
          </div>
          <ErrorBox error={actionError} />
          <section aria-labelledby="timeline-h">
            <h2 id="timeline-h">Steps</h2>
            <Gantt steps={d.steps} run={run} focused={focused} onFocus={(step) => go({ step })} />
          </section>
          <section aria-labelledby="details-h">
            <h2 id="details-h" class="sr-only">
              Details
            </h2>
            <div role="tablist" aria-label="Run details" class="tabs">
              {TABS.map((t) => (
                <button
                  key={t.id}
                  type="button"
                  role="tab"
                  id={`tab-${t.id}`}
                  aria-selected={tab === t.id}
                  aria-controls="tab-panel"
                  tabIndex={tab === t.id ? 0 : -1}
                  onClick={() => go({ tab: t.id })}
                  onKeyDown={(e) => {
                    const at = TABS.findIndex((x) => x.id === tab);
                    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
                    if (step === 0) return;
                    e.preventDefault();
                    const next = TABS[(at + step + TABS.length) % TABS.length];
                    if (next !== undefined) {
                      go({ tab: next.id });
                      requestAnimationFrame(() =>
                        document.getElementById(`tab-${next.id}`)?.focus(),
                      );
                    }
                  }}
                >
                  {t.label}
                </button>
              ))}
            </div>
            <div id="tab-panel" role="tabpanel" aria-labelledby={`tab-${tab}`} tabIndex={0}>
              {tab === 'logs' && <Logs runId={id} step={focused} />}
              {tab === 'quality' && <Quality runId={id} />}
              {tab === 'quarantine' && <Quarantine runId={id} step={focused} />}
            </div>
          </section>
        </>
      )}
    </>
  );
}

const ROW = 28;

function Gantt(props: {
  steps: readonly RunStep[];
  run: { startedAt: number | null; finishedAt: number | null; queuedAt: number };
  focused: string | undefined;
  onFocus: (step: string) => void;
}): VNode {
  const starts = props.steps.map((s) => s.startedAt).filter((t): t is number => t !== null);
  const ends = props.steps.map((s) => s.finishedAt ?? (s.startedAt === null ? null : Date.now()));
  const t0 = Math.min(props.run.startedAt ?? Infinity, ...starts);
  const t1 = Math.max(
    props.run.finishedAt ?? -Infinity,
    ...ends.filter((t): t is number => t !== null),
  );
  const span = Number.isFinite(t0) && Number.isFinite(t1) && t1 > t0 ? t1 - t0 : 1;
  return (
    <div class="gantt">
      <div class="gantt-row gantt-head" aria-hidden="true">
        <span>Step</span>
        <span>State</span>
        <span class="num">Rows in</span>
        <span class="num">Rows out</span>
        <span class="num">Duration</span>
        <span>Timeline ({formatDuration(Number.isFinite(t0) ? span : null)})</span>
      </div>
      <VirtualList
        count={props.steps.length}
        rowHeight={ROW}
        maxHeight={420}
        label="Step timeline"
        renderRow={(i) => {
          const s = props.steps[i];
          if (s === undefined) return null;
          const left =
            s.startedAt === null || !Number.isFinite(t0) ? 0 : ((s.startedAt - t0) / span) * 100;
          const end = s.finishedAt ?? (s.startedAt === null ? null : Date.now());
          const width =
            s.startedAt === null || end === null
              ? 0
              : Math.max(0.5, ((end - s.startedAt) / span) * 100);
          return (
            <div key={s.id} class={`gantt-row${s.id === props.focused ? ' focused' : ''}`}>
              <button
                type="button"
                class="linkish"
                aria-pressed={s.id === props.focused}
                aria-label={`Show ${s.id}'s logs`}
                onClick={() => props.onFocus(s.id)}
              >
                {s.id}
              </button>
              <span>
                <StateBadge state={s.state} />
                {s.cached && <span class="muted small"> cached</span>}
              </span>
              <span class="num">{formatCount(s.rowsIn)}</span>
              <span class="num">{formatCount(s.rowsOut)}</span>
              <span class="num">{formatDuration(s.durationMs)}</span>
              <span
                class="track"
                title={`${formatTime(s.startedAt)} to ${formatTime(s.finishedAt)}`}
              >
                {width > 0 && (
                  <span
                    class={`bar state-${stateClass(s.state)}`}
                    style={{
                      left: `${Math.min(left, 99.5)}%`,
                      width: `${Math.min(width, 100 - Math.min(left, 99.5))}%`,
                    }}
                  />
                )}
              </span>
            </div>
          );
        }}
      />
    </div>
  );
}

function Logs({ runId, step }: { runId: string; step: string | undefined }): VNode {
  if (step === undefined) return <p class="muted">Choose a step above to see its logs.</p>;
  return <StepLogs runId={runId} step={step} />;
}

function StepLogs({ runId, step }: { runId: string; step: string }): VNode {
  const logs = useResource(
    `logs:${runId}:${step}`,
    (signal) =>
      api<LogLines>(`/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step)}/logs`, {
        signal,
      }),
    (u) => u.runId === runId,
  );
  const lines = logs.data?.lines;
  return (
    <>
      <h3>
        Logs of <span class="mono">{step}</span>
      </h3>
      <ErrorBox error={logs.error} />
      {lines === undefined ? (
        logs.loading && <Loading what="the logs" />
      ) : lines.length === 0 ? (
        <p class="muted">This step logged nothing.</p>
      ) : (
        <pre class="logs" tabIndex={0} aria-label={`Logs of ${step}`}>
          {lines
            .map(
              (l) =>
                `${formatTime(l.at)} ${l.level.toUpperCase().padEnd(5)} ${l.message}${l.data === null || l.data === undefined || (typeof l.data === 'object' && Object.keys(l.data as object).length === 0) ? '' : ` ${JSON.stringify(l.data)}`}`,
            )
            .join('\n')}
        </pre>
      )}
    </>
  );
}

function Quality({ runId }: { runId: string }): VNode {
  const quality = useResource(
    `quality:${runId}`,
    (signal) => api<QualityResults>(`/runs/${encodeURIComponent(runId)}/quality`, { signal }),
    (u) => u.runId === runId,
  );
  const results = quality.data?.results;
  return (
    <>
      <ErrorBox error={quality.error} />
      {results === undefined ? (
        quality.loading && <Loading what="the quality results" />
      ) : results.length === 0 ? (
        <p class="muted">No quality suite ran in this run.</p>
      ) : (
        results.map((r) => (
          <div key={`${r.step}:${r.suite}`} class="table-wrap">
            <table>
              <caption>
                Suite <span class="mono">{r.suite}</span> on step <span class="mono">{r.step}</span>
                : <StateBadge state={r.success ? 'success' : 'failed'} />
              </caption>
              <thead>
                <tr>
                  <th scope="col">Expectation</th>
                  <th scope="col">Result</th>
                  <th scope="col">Severity</th>
                  <th scope="col" class="num">
                    Unexpected
                  </th>
                  <th scope="col" class="num">
                    Unexpected %
                  </th>
                </tr>
              </thead>
              <tbody>
                {r.expectations.map((e, i) => (
                  <tr key={i}>
                    <td class="mono">{e.expectation}</td>
                    <td>
                      <StateBadge state={e.success ? 'success' : 'failed'} />
                    </td>
                    <td>{e.severity}</td>
                    <td class="num">{formatCount(e.unexpectedCount)}</td>
                    <td class="num">
                      {e.unexpectedPercent === null ? '-' : `${e.unexpectedPercent.toFixed(2)} %`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))
      )}
    </>
  );
}

function Quarantine({ runId, step }: { runId: string; step: string | undefined }): VNode {
  const query = new URLSearchParams({ limit: '100' });
  if (step !== undefined) query.set('step', step);
  const samples = useResource(
    `quarantine:${runId}:${step ?? ''}`,
    (signal) =>
      api<QuarantineSamples>(`/runs/${encodeURIComponent(runId)}/quarantine?${query.toString()}`, {
        signal,
      }),
    (u) => u.runId === runId,
  );
  const data = samples.data;
  return (
    <>
      <ErrorBox error={samples.error} />
      {data === undefined ? (
        samples.loading && <Loading what="the quarantined records" />
      ) : (
        <>
          <p>
            {formatCount(data.total)} record{data.total === 1 ? '' : 's'} quarantined
            {step === undefined ? ' in this run' : ` by ${step}`}
            {data.samples.length < data.total && `; the first ${data.samples.length} are shown`}.
          </p>
          {data.samples.length > 0 && (
            <div class="table-wrap">
              <table>
                <caption class="sr-only">Quarantined records with their reasons</caption>
                <thead>
                  <tr>
                    <th scope="col">Step</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Original record</th>
                  </tr>
                </thead>
                <tbody>
                  {data.samples.map((s, i) => (
                    <tr key={i}>
                      <td class="mono">{s.step}</td>
                      <td>{s.reason}</td>
                      <td>
                        <code class="record">{s.record}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </>
  );
}
