import { UsageError } from '../core/errors.js';
import type { SqlDatabase } from './sql-database.js';

/** A node of the lineage graph found in the store. */
export type LineageNodeRef =
  | {
      readonly kind: 'dataset';
      readonly id: number;
      readonly namespace: string;
      readonly name: string;
    }
  | { readonly kind: 'job'; readonly id: number; readonly namespace: string; readonly name: string }
  | {
      readonly kind: 'datasetField';
      /** The field's id. */
      readonly id: number;
      readonly datasetId: number;
      readonly namespace: string;
      readonly name: string;
      readonly field: string;
    };

/** Most `:` a node id may hold (namespaces such as `postgres://host:5432` hold some). */
const MAX_SEPARATORS = 32;

/**
 * The Marquez-style id of a node: `dataset:<namespace>:<name>`, `job:<namespace>:<name>` or
 * `datasetField:<namespace>:<name>:<field>`.
 *
 * @example
 * ```ts
 * lineageNodeId({ kind: 'dataset', namespace: 'postgres://db:5432', name: 'shop.public.orders' });
 * // "dataset:postgres://db:5432:shop.public.orders"
 * ```
 */
export function lineageNodeId(
  node:
    | { readonly kind: 'dataset' | 'job'; readonly namespace: string; readonly name: string }
    | {
        readonly kind: 'datasetField';
        readonly namespace: string;
        readonly name: string;
        readonly field: string;
      },
): string {
  return node.kind === 'datasetField'
    ? `datasetField:${node.namespace}:${node.name}:${node.field}`
    : `${node.kind}:${node.namespace}:${node.name}`;
}

/**
 * Finds the node a Marquez-style id names. Namespaces, names and fields may hold `:` themselves
 * (`postgres://host:5432`), so every way of splitting the id is looked up in the store and the
 * one that exists is the node; `undefined` when none does. A malformed id, or one that two nodes
 * could have, is a UsageError saying so.
 *
 * @example
 * ```ts
 * const node = await findLineageNode(db, 'datasetField:file:///lake:orders:amount');
 * ```
 */
export async function findLineageNode(
  db: SqlDatabase,
  nodeId: string,
): Promise<LineageNodeRef | undefined> {
  const match = /^(dataset|job|datasetField):/.exec(nodeId);
  if (match === null)
    throw new UsageError(
      `"${shorten(nodeId)}" is not a node id: it must start with "dataset:", "job:" or "datasetField:"`,
      { hint: 'e.g. dataset:<namespace>:<name> or datasetField:<namespace>:<name>:<field>' },
    );
  const kind = match[1] as LineageNodeRef['kind'];
  const rest = nodeId.slice(match[0].length);
  const colons = [...rest.matchAll(/:/g)].map((m) => m.index);
  if (colons.length > MAX_SEPARATORS)
    throw new UsageError(
      `the node id has ${colons.length} ":" separators; at most ${MAX_SEPARATORS} are accepted`,
    );
  if (colons.length < (kind === 'datasetField' ? 2 : 1))
    throw new UsageError(
      `"${shorten(nodeId)}" is not a node id: ${kind === 'datasetField' ? 'datasetField:<namespace>:<name>:<field>' : `${kind}:<namespace>:<name>`} expected`,
    );
  const found: LineageNodeRef[] = [];
  if (kind === 'datasetField') {
    for (let i = 0; i < colons.length; i++)
      for (let j = i + 1; j < colons.length; j++) {
        const [a, b] = [colons[i] as number, colons[j] as number];
        const [namespace, name, field] = [
          rest.slice(0, a),
          rest.slice(a + 1, b),
          rest.slice(b + 1),
        ];
        if (namespace === '' || name === '' || field === '') continue;
        const [row] = await db.all(
          `SELECT f.id AS id, d.id AS dataset_id FROM lineage_datasets d
           JOIN lineage_fields f ON f.dataset_id = d.id
           WHERE d.namespace = ? AND d.name = ? AND f.name = ?`,
          [namespace, name, field],
        );
        if (row !== undefined)
          found.push({
            kind,
            id: Number(row['id']),
            datasetId: Number(row['dataset_id']),
            namespace,
            name,
            field,
          });
      }
  } else {
    for (const at of colons) {
      const [namespace, name] = [rest.slice(0, at), rest.slice(at + 1)];
      if (namespace === '' || name === '') continue;
      const [row] = await db.all(
        `SELECT id FROM ${kind === 'job' ? 'lineage_jobs' : 'lineage_datasets'} WHERE namespace = ? AND name = ?`,
        [namespace, name],
      );
      if (row !== undefined) found.push({ kind, id: Number(row['id']), namespace, name });
    }
  }
  if (found.length > 1)
    throw new UsageError(`"${shorten(nodeId)}" names ${found.length} nodes`, {
      hint: `they are ${found.map((node) => JSON.stringify([node.namespace, node.name, ...('field' in node ? [node.field] : [])])).join(', ')}; ask for the dataset by namespace and name instead`,
    });
  return found[0];
}

/**
 * Finds the dataset or column a person names on the command line: a node id, `namespace:name`,
 * a dataset name alone when only one namespace has it, or any of these followed by `.column`.
 * Throws a UsageError when nothing matches, or listing the matches when several do.
 *
 * @example
 * ```ts
 * await resolveLineageArgument(db, 'orders.amount'); // { kind: 'datasetField', field: 'amount', ... }
 * ```
 */
export async function resolveLineageArgument(
  db: SqlDatabase,
  argument: string,
): Promise<LineageNodeRef> {
  if (/^(dataset|job|datasetField):/.test(argument)) {
    const node = await findLineageNode(db, argument);
    if (node === undefined) throw notFound(argument);
    return node;
  }
  const found = new Map<string, LineageNodeRef>();
  const add = (node: LineageNodeRef): void => void found.set(lineageNodeId(node), node);
  for (const dataset of await datasetsNamed(db, argument)) add(dataset);
  for (const dot of [...argument.matchAll(/\./g)].map((m) => m.index)) {
    const field = argument.slice(dot + 1);
    if (field === '') continue;
    for (const dataset of await datasetsNamed(db, argument.slice(0, dot))) {
      const [row] = await db.all(
        'SELECT id FROM lineage_fields WHERE dataset_id = ? AND name = ?',
        [dataset.id, field],
      );
      if (row !== undefined)
        add({
          kind: 'datasetField',
          id: Number(row['id']),
          datasetId: dataset.id,
          namespace: dataset.namespace,
          name: dataset.name,
          field,
        });
    }
  }
  const matches = [...found.values()];
  if (matches.length === 1) return matches[0] as LineageNodeRef;
  if (matches.length === 0) throw notFound(argument);
  throw new UsageError(`"${shorten(argument)}" is ambiguous: it names ${matches.length} nodes`, {
    hint: `name one of: ${matches.map((node) => lineageNodeId(node)).join(', ')}`,
  });
}

async function datasetsNamed(
  db: SqlDatabase,
  text: string,
): Promise<Extract<LineageNodeRef, { kind: 'dataset' }>[]> {
  const rows = [
    ...(await db.all('SELECT id, namespace, name FROM lineage_datasets WHERE name = ?', [text])),
  ];
  for (const colon of [...text.matchAll(/:/g)].map((m) => m.index).slice(0, MAX_SEPARATORS))
    rows.push(
      ...(await db.all(
        'SELECT id, namespace, name FROM lineage_datasets WHERE namespace = ? AND name = ?',
        [text.slice(0, colon), text.slice(colon + 1)],
      )),
    );
  return rows.map((row) => ({
    kind: 'dataset',
    id: Number(row['id']),
    namespace: String(row['namespace']),
    name: String(row['name']),
  }));
}

function notFound(argument: string): UsageError {
  return new UsageError(`no dataset or column "${shorten(argument)}" in the lineage store`, {
    hint: 'name a dataset as namespace:name or by its name alone, a column as <dataset>.<column>; lineage is recorded as runs emit OpenLineage events',
  });
}

function shorten(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}
