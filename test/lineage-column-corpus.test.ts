import { describe, expect, it } from 'vitest';
import type { ColumnLineageResult } from '../src/observe/lineage/index.js';
import { deriveColumnLineage } from '../src/observe/lineage/index.js';
import type { CorpusCase } from './lineage-corpus/index.js';
import { LINEAGE_CORPUS } from './lineage-corpus/index.js';

const DATASET = '(dataset)';

function expectedEdges(entry: CorpusCase): Set<string> {
  const edges = new Set<string>();
  for (const [field, inputs] of Object.entries(entry.fields ?? {})) {
    for (const input of inputs) edges.add(`${field} <- ${input}`);
  }
  for (const input of entry.dataset ?? []) edges.add(`${DATASET} <- ${input}`);
  return edges;
}

function producedEdges(result: ColumnLineageResult): Set<string> {
  const edges = new Set<string>();
  if (result.status !== 'derived') return edges;
  const add = (field: string, inputs: (typeof result.fields)[number]['inputFields']): void => {
    for (const input of inputs) {
      for (const transformation of input.transformations) {
        edges.add(`${field} <- ${input.dataset} ${input.field} ${transformation.subtype}`);
      }
    }
  };
  for (const field of result.fields) add(field.name, field.inputFields);
  add(DATASET, result.dataset);
  return edges;
}

describe('column lineage corpus', () => {
  it('has at least 60 labelled statements with unique names', () => {
    expect(LINEAGE_CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(LINEAGE_CORPUS.map((entry) => entry.name)).size).toBe(LINEAGE_CORPUS.length);
    for (const entry of LINEAGE_CORPUS) {
      expect(entry.unresolved !== undefined || entry.fields !== undefined, entry.name).toBe(true);
    }
  });

  it('derives >= 95% of the expected edges exactly, no wrong edge, and refuses what it must', async () => {
    let expectedCount = 0;
    let exact = 0;
    const wrong: string[] = [];
    const missing: string[] = [];
    const notRefused: string[] = [];
    const wrongColumns: string[] = [];
    for (const entry of LINEAGE_CORPUS) {
      const result = await deriveColumnLineage(entry.sql, entry.inputs, { dialect: entry.dialect });
      if (entry.unresolved !== undefined) {
        if (result.status !== 'unresolved' || result.reason !== entry.unresolved) {
          notRefused.push(
            `${entry.name}: ${result.status === 'unresolved' ? result.reason : 'derived'}`,
          );
        }
        continue;
      }
      const expected = expectedEdges(entry);
      const produced = producedEdges(result);
      expectedCount += expected.size;
      for (const edge of expected) {
        if (produced.has(edge)) exact += 1;
        else missing.push(`${entry.name}: ${edge}`);
      }
      for (const edge of produced) if (!expected.has(edge)) wrong.push(`${entry.name}: ${edge}`);
      if (result.status === 'derived') {
        const names = result.fields.map((field) => field.name);
        if (JSON.stringify(names) !== JSON.stringify(Object.keys(entry.fields ?? {}))) {
          wrongColumns.push(`${entry.name}: ${names.join(', ')}`);
        }
      } else {
        missing.push(`${entry.name}: refused (${result.reason}: ${result.message})`);
      }
    }
    const refusals = LINEAGE_CORPUS.filter((entry) => entry.unresolved !== undefined).length;
    console.info(
      `column lineage corpus: ${LINEAGE_CORPUS.length} statements (${refusals} must be refused); ` +
        `edges expected ${expectedCount}, exact ${exact} (${((100 * exact) / expectedCount).toFixed(1)}%), ` +
        `wrong ${wrong.length}, missing ${missing.length}`,
    );
    if (missing.length > 0) console.info(`missing:\n  ${missing.join('\n  ')}`);
    expect(wrong).toEqual([]);
    expect(wrongColumns).toEqual([]);
    expect(notRefused).toEqual([]);
    expect(expectedCount).toBeGreaterThan(200);
    expect(exact / expectedCount).toBeGreaterThanOrEqual(0.95);
  });
});
