import type {
  FieldTransformation,
  InputFieldLineage,
  TransformationSubtype,
} from './column-lineage-types.js';

/** One edge: an input field reaching a value through one transformation subtype. */
export interface LineageEdge {
  readonly dataset: string;
  readonly field: string;
  readonly subtype: TransformationSubtype;
}

/** A set of edges, keyed so that the same edge is kept once. */
export type EdgeSet = Map<string, LineageEdge>;

const DIRECT_RANK: Readonly<Partial<Record<TransformationSubtype, number>>> = {
  IDENTITY: 0,
  TRANSFORMATION: 1,
  AGGREGATION: 2,
};

const SUBTYPE_ORDER: readonly TransformationSubtype[] = [
  'IDENTITY',
  'TRANSFORMATION',
  'AGGREGATION',
  'JOIN',
  'FILTER',
  'GROUP_BY',
  'SORT',
  'WINDOW',
  'CONDITIONAL',
];

export function isDirect(subtype: TransformationSubtype): boolean {
  return DIRECT_RANK[subtype] !== undefined;
}

/**
 * The subtype of an edge seen through a context: an indirect context makes every edge under it
 * that kind of indirect; an indirect edge stays indirect under a direct context; two direct
 * subtypes give the stronger one (IDENTITY < TRANSFORMATION < AGGREGATION).
 */
export function composeSubtype(
  context: TransformationSubtype,
  inner: TransformationSubtype,
): TransformationSubtype {
  const contextRank = DIRECT_RANK[context];
  if (contextRank === undefined) return context;
  const innerRank = DIRECT_RANK[inner];
  if (innerRank === undefined) return inner;
  return innerRank > contextRank ? inner : context;
}

export function addEdge(set: EdgeSet, edge: LineageEdge): void {
  set.set(`${edge.dataset}\u0000${edge.field}\u0000${edge.subtype}`, edge);
}

/** Adds every edge of `from` to `into`, each composed with `context`. */
export function addComposed(into: EdgeSet, from: EdgeSet, context: TransformationSubtype): void {
  for (const edge of from.values()) {
    addEdge(into, { ...edge, subtype: composeSubtype(context, edge.subtype) });
  }
}

/** Groups edges by input field, in first-seen field order with subtypes in a stable order. */
export function toInputFields(set: EdgeSet): InputFieldLineage[] {
  const byField = new Map<
    string,
    { dataset: string; field: string; subtypes: Set<TransformationSubtype> }
  >();
  for (const edge of set.values()) {
    const key = `${edge.dataset}\u0000${edge.field}`;
    let entry = byField.get(key);
    if (entry === undefined) {
      entry = { dataset: edge.dataset, field: edge.field, subtypes: new Set() };
      byField.set(key, entry);
    }
    entry.subtypes.add(edge.subtype);
  }
  return [...byField.values()].map((entry) => ({
    dataset: entry.dataset,
    field: entry.field,
    transformations: SUBTYPE_ORDER.filter((subtype) => entry.subtypes.has(subtype)).map(
      (subtype): FieldTransformation => ({
        type: isDirect(subtype) ? 'DIRECT' : 'INDIRECT',
        subtype,
        masking: false,
      }),
    ),
  }));
}
