/**
 * The `lineage` group: column lineage derivation over the labelled corpus
 * (bench/lineage-derive.ts) and graph queries over a generated lineage store
 * (bench/lineage-query.ts).
 */
import type { BenchResult } from './common.js';
import { runLineageDeriveBench } from './lineage-derive.js';
import { runLineageQueryBench } from './lineage-query.js';

export async function runLineageGroup(): Promise<BenchResult[]> {
  return [...(await runLineageDeriveBench()), ...(await runLineageQueryBench())];
}
