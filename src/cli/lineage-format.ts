import type { LineageGraph, LineageImpact } from '../orchestrator/lineage-graph.js';

/** How `sluice lineage` prints a graph. */
export type LineageFormat = 'text' | 'json' | 'dot' | 'mermaid';

/** A node's short label: `namespace:name` for datasets and jobs, `name.field` for columns. */
function label(node: LineageGraph['graph'][number]): string {
  const data = node.data;
  if (node.type === 'DATASET_FIELD')
    return `${String(data['namespace'])}:${String(data['dataset'])}.${String(data['field'])}`;
  return `${String(data['namespace'])}:${String(data['name'])}`;
}

/** Every edge of a graph once, in a stable order. */
function edgesOf(graph: LineageGraph): { origin: string; destination: string }[] {
  const seen = new Map<string, { origin: string; destination: string }>();
  for (const node of graph.graph)
    for (const edge of [...node.inEdges, ...node.outEdges])
      seen.set(JSON.stringify([edge.origin, edge.destination]), edge);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}

/**
 * A double-quoted DOT string: backslashes, quotes and line breaks escaped, so no name can end
 * the string or the graph early.
 *
 * @example
 * ```ts
 * dotString('a"b\nc'); // '"a\\"b\\nc"'
 * ```
 */
export function dotString(text: string): string {
  return `"${text
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('\r', '\\r')
    .replaceAll('\n', '\\n')}"`;
}

/**
 * Text for inside a Mermaid `["..."]` label: letters, digits, spaces and `.:/_-` stay, every
 * other character becomes an entity code (`#35;`), so quotes, brackets, `#`, `;`, backticks and
 * line breaks cannot end the label or start markup.
 *
 * @example
 * ```ts
 * mermaidText('a"[b]'); // 'a#34;#91;b#93;'
 * ```
 */
export function mermaidText(text: string): string {
  return [...text]
    .map((char) =>
      /^[\p{L}\p{N} ._:/-]$/u.test(char) ? char : `#${char.codePointAt(0) as number};`,
    )
    .join('');
}

/**
 * Renders a lineage graph as text (edges, one a line), JSON (Marquez's shape), Graphviz DOT or a
 * Mermaid flowchart. Node names are escaped for DOT and Mermaid whatever they hold.
 *
 * @example
 * ```ts
 * io.stdout(formatLineageGraph(await datasetLineage(db, node, { depth: 5, direction: 'both' }), 'mermaid'));
 * ```
 */
export function formatLineageGraph(graph: LineageGraph, format: LineageFormat, title = ''): string {
  if (format === 'json') return `${JSON.stringify(graph)}\n`;
  const labels = new Map(graph.graph.map((node) => [node.id, label(node)]));
  const types = new Map(graph.graph.map((node) => [node.id, node.type]));
  const edges = edgesOf(graph);
  if (format === 'dot') {
    const keys = new Map(graph.graph.map((node, i) => [node.id, `n${i}`]));
    const lines = graph.graph.map(
      (node) =>
        `  ${keys.get(node.id)} [label=${dotString(label(node))}, shape=${node.type === 'JOB' ? 'box' : 'ellipse'}];`,
    );
    for (const edge of edges)
      lines.push(`  ${keys.get(edge.origin)} -> ${keys.get(edge.destination)};`);
    return `digraph lineage {\n  rankdir=LR;\n${lines.join('\n')}\n}\n`;
  }
  if (format === 'mermaid') {
    const keys = new Map(graph.graph.map((node, i) => [node.id, `n${i}`]));
    const lines = graph.graph.map((node) => {
      const text = mermaidText(label(node));
      return node.type === 'JOB'
        ? `  ${keys.get(node.id)}[["${text}"]]`
        : `  ${keys.get(node.id)}["${text}"]`;
    });
    for (const edge of edges)
      lines.push(`  ${keys.get(edge.origin)} --> ${keys.get(edge.destination)}`);
    return `flowchart LR\n${lines.join('\n')}\n`;
  }
  const kind = (id: string): string =>
    types.get(id) === 'JOB' ? 'job' : types.get(id) === 'DATASET' ? 'dataset' : 'column';
  const jobs = graph.graph.filter((n) => n.type === 'JOB').length;
  const head = `${title}${graph.graph.length - jobs} ${graph.graph[0]?.type === 'DATASET_FIELD' ? 'columns' : 'datasets'}, ${jobs} jobs, ${edges.length} edges\n`;
  if (edges.length === 0) return `${head}  (no lineage recorded around it)\n`;
  return (
    head +
    edges
      .map(
        (e) =>
          `  ${kind(e.origin)} ${JSON.stringify(labels.get(e.origin))} -> ${kind(e.destination)} ${JSON.stringify(labels.get(e.destination))}`,
      )
      .join('\n') +
    '\n'
  );
}

/**
 * Renders an impact analysis as text: the columns that change (with their depth and how), the
 * datasets and jobs, and the jobs that may change but recorded no column lineage.
 *
 * @example
 * ```ts
 * io.stdout(formatLineageImpact(await lineageImpact(db, node)));
 * ```
 */
export function formatLineageImpact(impact: LineageImpact): string {
  const lines = [`if ${JSON.stringify(impact.node)} changes:`];
  if (impact.columns.length > 0) {
    lines.push(`  columns (${impact.columns.length}):`);
    for (const c of impact.columns)
      lines.push(
        `    ${c.depth}  ${JSON.stringify(`${c.namespace}:${c.dataset}.${c.field}`)}  ${c.transformations.join(', ')}`,
      );
  }
  lines.push(`  datasets (${impact.datasets.length}):`);
  for (const d of impact.datasets) lines.push(`    ${JSON.stringify(`${d.namespace}:${d.name}`)}`);
  lines.push(`  jobs (${impact.jobs.length}):`);
  for (const j of impact.jobs) lines.push(`    ${JSON.stringify(`${j.namespace}:${j.name}`)}`);
  if (impact.unknownJobs.length > 0) {
    lines.push(
      `  may change too (these jobs read an affected dataset and recorded no column lineage) (${impact.unknownJobs.length}):`,
    );
    for (const j of impact.unknownJobs)
      lines.push(`    ${JSON.stringify(`${j.namespace}:${j.name}`)}`);
  }
  return `${lines.join('\n')}\n`;
}
