// The datasets views: the searchable, paged list of datasets of the lineage graph ("#/datasets"),
// and one dataset ("#/datasets/<id>"): its schema, producing and consuming jobs, latest writes,
// quality outcomes and its depth-1 lineage neighbourhood, each neighbour a link to walk the graph.
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Dataset, DatasetDetail, LineageNode } from '../api.js';
import { api } from '../api.js';
import { ErrorBox, Loading, StateBadge } from '../components.js';
import { formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import type { LiveUpdate } from '../live.js';
import type { Route } from '../router.js';
import { href, navigate } from '../router.js';

/** Runs record lineage as they go: any run's update may change what these views show. */
const byRuns = (u: LiveUpdate): boolean => u.runId !== null;
/** Datasets of a page of the list. */
const PAGE = 50;
/** What a Sluice run id looks like (core/ids.ts); other run ids are OpenLineage UUIDs. */
const SLUICE_RUN = /^run_\d{8}T\d{6}Z_[0-9a-f]+$/;

/**
 * The dataset list (route "#/datasets?q=&cursor="): searched by name, paged by cursor.
 *
 * @example
 * ```tsx
 * <DatasetsView route={route} />
 * ```
 */
export function DatasetsView({ route }: { route: Route }): VNode {
  const q = route.query.get('q') ?? '';
  const cursor = route.query.get('cursor') ?? undefined;
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (q !== '') query.set('q', q);
  if (cursor !== undefined) query.set('cursor', cursor);
  const path = `/datasets?${query.toString()}`;
  const list = useResource(
    `datasets:${path}`,
    (signal) => api<{ datasets: Dataset[]; nextCursor: string | null }>(path, { signal }),
    byRuns,
  );
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const data = list.data;
  return (
    <>
      <h1>Datasets</h1>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(href(['datasets'], { q: text.trim() }));
        }}
      >
        <label for="dataset-q">Name or namespace holds</label>
        <input
          id="dataset-q"
          type="search"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={list.error} />
      {data === undefined ? (
        list.loading && <Loading what="the datasets" />
      ) : data.datasets.length === 0 ? (
        <p class="muted">
          {q === ''
            ? 'No dataset is recorded yet; runs record the datasets they read and write.'
            : `No dataset's name or namespace holds "${q}".`}
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Datasets{q === '' ? '' : ` matching "${q}"`}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Namespace</th>
                <th scope="col">Fields</th>
                <th scope="col">Producers</th>
                <th scope="col">Consumers</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {data.datasets.map((d) => (
                <tr key={d.id}>
                  <td>
                    <a href={href(['datasets', d.id])}>{d.name}</a>
                  </td>
                  <td>
                    <code>{d.namespace}</code>
                  </td>
                  <td class="num">{d.fields.length}</td>
                  <td>{d.producers.join(', ') || <span class="muted">-</span>}</td>
                  <td>{d.consumers.join(', ') || <span class="muted">-</span>}</td>
                  <td>{formatTime(d.lastSeen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Dataset pages">
        {cursor !== undefined && <a href={href(['datasets'], { q })}>First page</a>}
        {data?.nextCursor != null && (
          <a href={href(['datasets'], { q, cursor: data.nextCursor })}>Next page</a>
        )}
      </nav>
    </>
  );
}

/**
 * One dataset (route "#/datasets/<id>"): two requests, the dataset and its depth-1 lineage.
 *
 * @example
 * ```tsx
 * <DatasetView id="dataset:file:///lake:orders" />
 * ```
 */
export function DatasetView({ id }: { id: string }): VNode {
  const detail = useResource(
    `dataset:${id}`,
    (signal) => api<DatasetDetail>(`/datasets/${encodeURIComponent(id)}`, { signal }),
    byRuns,
  );
  const lineage = useResource(
    `lineage:${id}`,
    (signal) =>
      api<{ graph: LineageNode[] }>(
        `/lineage?${new URLSearchParams({ nodeId: id, depth: '1', direction: 'both' }).toString()}`,
        { signal },
      ),
    byRuns,
  );
  const data = detail.data;
  const d = data?.dataset;
  return (
    <>
      <p class="muted small">
        <a href="#/datasets">Datasets</a> /
      </p>
      <h1>{d?.name ?? id}</h1>
      <ErrorBox error={detail.error} />
      {data === undefined || d === undefined ? (
        detail.loading && <Loading what="the dataset" />
      ) : (
        <>
          <dl class="facts">
            <div>
              <dt>Id</dt>
              <dd>
                <code>{d.id}</code>
              </dd>
            </div>
            <div>
              <dt>Namespace</dt>
              <dd>
                <code>{d.namespace}</code>
              </dd>
            </div>
            <div>
              <dt>First seen</dt>
              <dd>{formatTime(d.firstSeen)}</dd>
            </div>
            <div>
              <dt>Last seen</dt>
              <dd>{formatTime(d.lastSeen)}</dd>
            </div>
            <div>
              <dt>Producers</dt>
              <dd>{d.producers.join(', ') || '-'}</dd>
            </div>
            <div>
              <dt>Consumers</dt>
              <dd>{d.consumers.join(', ') || '-'}</dd>
            </div>
          </dl>
          <section aria-labelledby="lineage-h">
            <h2 id="lineage-h">Lineage (depth 1)</h2>
            <ErrorBox error={lineage.error} />
            {lineage.data === undefined ? (
              lineage.loading && <Loading what="the lineage" />
            ) : (
              <Neighbourhood id={id} graph={lineage.data.graph} />
            )}
          </section>
          <section aria-labelledby="schema-h">
            <h2 id="schema-h">Schema</h2>
            {d.fields.length === 0 ? (
              <p class="muted">No schema has been recorded.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <caption class="sr-only">Fields of {d.name}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">Type</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.fields.map((f) => (
                      <tr key={f.name}>
                        <td>
                          <code>{f.name}</code>
                        </td>
                        <td>{f.type ?? <span class="muted">unknown</span>}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section aria-labelledby="writes-h">
            <h2 id="writes-h">Latest writes</h2>
            {data.lastRuns.length === 0 ? (
              <p class="muted">No write has been recorded.</p>
            ) : (
              <ul class="plain">
                {data.lastRuns.map((r) => (
                  <li key={`${r.runId}:${r.eventTime}:${r.eventType ?? ''}`}>
                    {formatTime(r.eventTime)} <strong>{r.jobName}</strong>{' '}
                    {r.eventType !== null && <span class="muted">{r.eventType}</span>} in{' '}
                    <RunRef id={r.runId} />
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="quality-h">
            <h2 id="quality-h">Quality</h2>
            {data.quality.length === 0 ? (
              <p class="muted">No quality suite has checked this dataset.</p>
            ) : (
              <ul class="plain">
                {data.quality.map((q) => (
                  <li key={`${q.runId}:${q.at}:${q.success}`}>
                    <StateBadge state={q.success ? 'success' : 'failed'} />{' '}
                    {q.success ? 'passed' : 'failed'} {formatTime(q.at)} in <RunRef id={q.runId} />
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </>
  );
}

function RunRef({ id }: { id: string }): VNode {
  return SLUICE_RUN.test(id) ? (
    <a href={href(['runs', id])}>run {id}</a>
  ) : (
    <span>
      run <code>{id}</code>
    </span>
  );
}

/** The name part of a lineage id ("dataset:<namespace>:<name>" or "job:<namespace>:<name>"). */
function nameOf(id: string, nodes: ReadonlyMap<string, LineageNode>): string {
  const node = nodes.get(id);
  if (node !== undefined) return node.data.name;
  const at = id.lastIndexOf(':');
  return at < 0 ? id : id.slice(at + 1);
}

function DatasetLinks(props: {
  ids: readonly string[];
  nodes: ReadonlyMap<string, LineageNode>;
}): VNode {
  if (props.ids.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="inline-list">
      {props.ids.map((id) => (
        <li key={id}>
          <a href={href(['datasets', id])} title={id}>
            {nameOf(id, props.nodes)}
          </a>
        </li>
      ))}
    </ul>
  );
}

/**
 * The depth-1 neighbourhood as a three-column graph: the jobs that write the dataset (with the
 * datasets they read) on the left, the dataset, and the jobs that read it (with what they write).
 */
function Neighbourhood(props: { id: string; graph: readonly LineageNode[] }): VNode {
  const nodes = new Map(props.graph.map((n) => [n.id, n]));
  const jobs = props.graph.filter((n) => n.id.startsWith('job:'));
  const upstream = jobs.filter((j) => j.outEdges.some((e) => e.destination === props.id));
  const downstream = jobs.filter((j) => j.inEdges.some((e) => e.origin === props.id));
  const others = (edges: readonly string[]): string[] =>
    [...new Set(edges)].filter((x) => x !== props.id && x.startsWith('dataset:')).sort();
  if (upstream.length === 0 && downstream.length === 0)
    return <p class="muted">No job reads or writes this dataset.</p>;
  return (
    <div class="neighbourhood">
      <section class="card" aria-labelledby="upstream-h">
        <h3 id="upstream-h">Upstream</h3>
        {upstream.length === 0 ? (
          <p class="muted">No job writes it.</p>
        ) : (
          <ul class="plain">
            {upstream.map((j) => (
              <li key={j.id}>
                <DatasetLinks ids={others(j.inEdges.map((e) => e.origin))} nodes={nodes} />
                <span aria-hidden="true"> → </span>
                <strong>{j.data.name}</strong> <span class="muted small">(job)</span>
                <span class="sr-only"> writes it</span>
                {others(j.outEdges.map((e) => e.destination)).length > 0 && (
                  <div class="small">
                    also writes{' '}
                    <DatasetLinks
                      ids={others(j.outEdges.map((e) => e.destination))}
                      nodes={nodes}
                    />
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <div class="node-self" aria-hidden="true">
        <span>{nameOf(props.id, nodes)}</span>
      </div>
      <section class="card" aria-labelledby="downstream-h">
        <h3 id="downstream-h">Downstream</h3>
        {downstream.length === 0 ? (
          <p class="muted">No job reads it.</p>
        ) : (
          <ul class="plain">
            {downstream.map((j) => (
              <li key={j.id}>
                <span class="sr-only">read by </span>
                <strong>{j.data.name}</strong> <span class="muted small">(job)</span>
                <span aria-hidden="true"> → </span>
                <DatasetLinks ids={others(j.outEdges.map((e) => e.destination))} nodes={nodes} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
