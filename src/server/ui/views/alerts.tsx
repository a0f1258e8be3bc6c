// The alerts view: firing incidents, the history of resolved ones (a "More history" button walks
// the cursor), the active silences with an Expire button, and the silence form (admins only).
// One request (GET /api/v1/alerts), refetched on updates; actions reload it.
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import type { Alerts, Incident, Matcher, Session, Silence } from '../api.js';
import { allows, api } from '../api.js';
import { ErrorBox, Loading } from '../components.js';
import { formatDuration, formatRelative, formatTime } from '../format.js';
import { useResource } from '../hooks.js';

/**
 * The alerts view (route "#/alerts").
 *
 * @example
 * ```tsx
 * <AlertsView session={session} />
 * ```
 */
export function AlertsView({ session }: { session: Session }): VNode {
  const alerts = useResource('alerts', (signal) => api<Alerts>('/alerts', { signal }));
  const [older, setOlder] = useState<{ items: Incident[]; cursor: string | null } | undefined>(
    undefined,
  );
  const [moreError, setMoreError] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const admin = allows(session.role, 'admin');
  const data = alerts.data;

  const cursor = older === undefined ? (data?.nextCursor ?? null) : older.cursor;
  const more = async (): Promise<void> => {
    if (cursor === null) return;
    setBusy(true);
    try {
      const page = await api<Alerts>(`/alerts?${new URLSearchParams({ cursor }).toString()}`);
      setOlder((o) => ({ items: [...(o?.items ?? []), ...page.history], cursor: page.nextCursor }));
      setMoreError(undefined);
    } catch (error) {
      setMoreError(error instanceof Error ? error : new Error(String(error)));
    } finally {
      setBusy(false);
    }
  };
  const firstPage = data?.history ?? [];
  const seen = new Set(firstPage.map((i) => i.id + String(i.resolvedAt)));
  const history = [
    ...firstPage,
    ...(older?.items ?? []).filter((i) => !seen.has(i.id + String(i.resolvedAt))),
  ];

  return (
    <>
      <h1>Alerts</h1>
      <ErrorBox error={alerts.error} />
      {data === undefined ? (
        alerts.loading && <Loading what="the alerts" />
      ) : (
        <>
          <section aria-labelledby="firing-h">
            <h2 id="firing-h">Firing</h2>
            {data.firing.length === 0 ? (
              <p class="muted">No alert is firing.</p>
            ) : (
              <IncidentTable incidents={data.firing} caption="Firing incidents" />
            )}
          </section>
          <section aria-labelledby="history-h">
            <h2 id="history-h">History</h2>
            {history.length === 0 ? (
              <p class="muted">No incident has been resolved yet.</p>
            ) : (
              <IncidentTable incidents={history} caption="Resolved incidents, newest first" />
            )}
            <ErrorBox error={moreError} />
            {cursor !== null && (
              <button type="button" disabled={busy} onClick={() => void more()}>
                More history
              </button>
            )}
          </section>
          <section aria-labelledby="silences-h">
            <h2 id="silences-h">Silences</h2>
            <SilenceList silences={data.silences} admin={admin} onChange={alerts.reload} />
            {admin && <SilenceForm onCreated={alerts.reload} />}
          </section>
        </>
      )}
    </>
  );
}

function Labels({ labels }: { labels: Readonly<Record<string, string>> }): VNode {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span class="muted">-</span>;
  return (
    <ul class="labels">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}

function IncidentTable(props: { incidents: readonly Incident[]; caption: string }): VNode {
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Rule</th>
            <th scope="col">Labels</th>
            <th scope="col">Since</th>
            <th scope="col">Summary</th>
          </tr>
        </thead>
        <tbody>
          {props.incidents.map((i) => (
            <tr key={`${i.id}:${i.resolvedAt ?? ''}`}>
              <td>
                <span class={`badge ${i.state === 'firing' ? 'state-failed' : 'state-other'}`}>
                  {i.severity}
                </span>
              </td>
              <td>
                <strong>{i.rule}</strong>
              </td>
              <td>
                <Labels labels={i.labels} />
              </td>
              <td>
                {formatTime(i.since)}
                <div class="muted small">
                  {i.resolvedAt === null
                    ? `for ${formatDuration(Date.now() - i.since)}`
                    : `resolved ${formatTime(i.resolvedAt)}`}
                  {i.acknowledgedBy !== null && `, acknowledged by ${i.acknowledgedBy}`}
                </div>
              </td>
              <td>{i.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A matcher as `sluice alerts silence` writes it: name=value, name!=value, name=~re, name!~re.
 *
 * @example
 * ```ts
 * matcherText({ name: 'pipeline', value: 'orders', isRegex: false, isEqual: true }); // 'pipeline="orders"'
 * ```
 */
export function matcherText(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}"${m.value}"`;
}

function SilenceList(props: {
  silences: readonly Silence[];
  admin: boolean;
  onChange: () => void;
}): VNode {
  const [error, setError] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const expire = async (id: string): Promise<void> => {
    setBusy(id);
    try {
      await api(`/silences/${encodeURIComponent(id)}/expire`, { method: 'POST' });
      setError(undefined);
      props.onChange();
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <>
      <ErrorBox error={error} />
      {props.silences.length === 0 ? (
        <p class="muted">No silence is active.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Active silences</caption>
            <thead>
              <tr>
                <th scope="col">Matchers</th>
                <th scope="col">Until</th>
                <th scope="col">Comment</th>
                <th scope="col">By</th>
                {props.admin && (
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {props.silences.map((s) => (
                <tr key={s.id}>
                  <td>
                    <code>{s.matchers.map(matcherText).join(', ')}</code>
                  </td>
                  <td>
                    {formatTime(s.endsAt)}{' '}
                    <span class="muted small">({formatRelative(s.endsAt)})</span>
                  </td>
                  <td>{s.comment ?? <span class="muted">-</span>}</td>
                  <td>{s.createdBy ?? <span class="muted">-</span>}</td>
                  {props.admin && (
                    <td>
                      <button
                        type="button"
                        disabled={busy === s.id}
                        aria-label={`Expire silence ${s.matchers.map(matcherText).join(', ')}`}
                        onClick={() => void expire(s.id)}
                      >
                        Expire
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

interface MatcherDraft {
  name: string;
  value: string;
  isRegex: boolean;
}

function localInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function SilenceForm({ onCreated }: { onCreated: () => void }): VNode {
  const [matchers, setMatchers] = useState<MatcherDraft[]>([
    { name: 'pipeline', value: '', isRegex: false },
  ]);
  const [until, setUntil] = useState(() => localInput(Date.now() + 2 * 3_600_000));
  const [comment, setComment] = useState('');
  const [error, setError] = useState<Error | undefined>(undefined);
  const [done, setDone] = useState<Silence | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const set = (index: number, change: Partial<MatcherDraft>): void =>
    setMatchers((all) => all.map((m, i) => (i === index ? { ...m, ...change } : m)));
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const end = new Date(until).getTime();
    if (!Number.isFinite(end)) {
      setError(new Error('"Until" is not a time; pick a date and time in the future'));
      return;
    }
    setBusy(true);
    try {
      const created = await api<Silence>('/silences', {
        method: 'POST',
        body: {
          matchers: matchers.map((m) => ({
            name: m.name.trim(),
            value: m.value,
            isRegex: m.isRegex,
          })),
          until: end,
          ...(comment.trim() === '' ? {} : { comment: comment.trim() }),
        },
      });
      setError(undefined);
      setDone(created);
      onCreated();
    } catch (failure) {
      setDone(undefined);
      setError(failure instanceof Error ? failure : new Error(String(failure)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="silence" aria-labelledby="silence-form-h" onSubmit={(e) => void submit(e)}>
      <h3 id="silence-form-h">New silence</h3>
      {matchers.map((m, i) => (
        <fieldset key={i} class="matcher">
          <legend>Matcher {i + 1}</legend>
          <label for={`matcher-name-${i}`}>Label name</label>
          <input
            id={`matcher-name-${i}`}
            value={m.name}
            required
            onInput={(e) => set(i, { name: (e.target as HTMLInputElement).value })}
          />
          <label for={`matcher-value-${i}`}>Value</label>
          <input
            id={`matcher-value-${i}`}
            value={m.value}
            onInput={(e) => set(i, { value: (e.target as HTMLInputElement).value })}
          />
          <label class="inline">
            <input
              type="checkbox"
              checked={m.isRegex}
              onChange={(e) => set(i, { isRegex: (e.target as HTMLInputElement).checked })}
            />{' '}
            Regular expression
          </label>
          {matchers.length > 1 && (
            <button
              type="button"
              onClick={() => setMatchers((all) => all.filter((_, j) => j !== i))}
            >
              Remove matcher {i + 1}
            </button>
          )}
        </fieldset>
      ))}
      <button
        type="button"
        onClick={() => setMatchers((all) => [...all, { name: '', value: '', isRegex: false }])}
      >
        Add matcher
      </button>
      <label for="silence-until">Until</label>
      <input
        id="silence-until"
        type="datetime-local"
        value={until}
        required
        onInput={(e) => setUntil((e.target as HTMLInputElement).value)}
      />
      <label for="silence-comment">Comment</label>
      <input
        id="silence-comment"
        value={comment}
        onInput={(e) => setComment((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={busy}>
        Create silence
      </button>
      <ErrorBox error={error} />
      {done !== undefined && (
        <p role="status" class="ok">
          Silence <code>{done.id}</code> created until {formatTime(done.endsAt)}.
        </p>
      )}
    </form>
  );
}
