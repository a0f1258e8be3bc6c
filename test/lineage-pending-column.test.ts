import { describe, expect, it } from 'vitest';
import type { Field } from '../src/core/types.js';
import {
  OPENLINEAGE_SCHEMA_URL,
  SLUICE_PRODUCER,
} from '../src/observe/lineage/openlineage-event.js';
import type { RunEvent } from '../src/observe/lineage/openlineage-event.js';
import {
  PENDING_COLUMN_LINEAGE,
  pendingColumnLineage,
} from '../src/observe/lineage/pending-column-lineage.js';
import { lineageRunId } from '../src/observe/lineage/run-uuid.js';
import { memoryEmitter } from './support/lineage-memory.js';

const INT: Field['type'] = { kind: 'int64' };

/** A step run's START (`sql` undefined) or COMPLETE asking for the column lineage of `sql`. */
function stepEvent(job: string, sql?: string): RunEvent {
  return {
    eventType: sql === undefined ? 'START' : 'COMPLETE',
    eventTime: new Date().toISOString(),
    producer: SLUICE_PRODUCER,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    run: { runId: lineageRunId(job), facets: {} },
    job: { namespace: 'test', name: job, facets: {} },
    inputs: [],
    outputs:
      sql === undefined
        ? []
        : [
            {
              namespace: 'test',
              name: job,
              facets: {
                [PENDING_COLUMN_LINEAGE]: pendingColumnLineage({
                  sql,
                  dialect: 'duckdb',
                  inputs: [
                    {
                      namespace: 'test',
                      name: 'p.rows',
                      relation: 'rows',
                      fields: [{ name: 'n', type: INT, nullable: false }],
                    },
                  ],
                }),
              },
            },
          ],
  };
}

const EVENTS = (): RunEvent[] => [
  stepEvent('p.a'),
  stepEvent('p.a', 'select n * 2 as twice from rows'),
  stepEvent('p.b'),
  stepEvent('p.b', 'select no_such_column from rows'),
  stepEvent('p.c'),
];

function outputFacets(events: readonly RunEvent[]): (string[] | undefined)[] {
  return events.map((e) =>
    e.outputs[0] === undefined ? undefined : Object.keys(e.outputs[0].facets ?? {}),
  );
}

describe('column lineage requested by a run, derived by the emitter that delivers it', () => {
  it('derives it once the parser is ready, keeps the events in order and never sends the request', async () => {
    let ready!: () => void;
    const { emitter, events } = memoryEmitter({
      prepareColumnLineage: () => new Promise<void>((resolve) => (ready = resolve)),
    });
    for (const event of EVENTS()) emitter.emit(event);
    // The first request waits for the parser, and every event after it waits behind it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.map((e) => e.job.name)).toEqual(['p.a']);
    const { loadSQLParser } = await import('../src/observe/lineage/sql-parser.js');
    await loadSQLParser();
    ready();
    expect(await emitter.flush(10_000)).toBe(0);
    expect(events.map((e) => [e.job.name, e.eventType])).toEqual([
      ['p.a', 'START'],
      ['p.a', 'COMPLETE'],
      ['p.b', 'START'],
      ['p.b', 'COMPLETE'],
      ['p.c', 'START'],
    ]);
    expect(events[1]?.outputs[0]?.facets?.['columnLineage']).toMatchObject({
      fields: { twice: { inputFields: [{ namespace: 'test', name: 'p.rows', field: 'n' }] } },
    });
    // A statement that does not resolve gets no facet (a partial one would look complete).
    expect(outputFacets(events)).toEqual([undefined, ['columnLineage'], undefined, [], undefined]);
    expect(emitter.columnLineageOmitted).toBe(1);
    expect(JSON.stringify(events)).not.toContain(PENDING_COLUMN_LINEAGE);
  });

  it('without a deriver, or when the parser fails to load, the events go out without the facet', async () => {
    const off = memoryEmitter({ columnLineage: false });
    const broken = memoryEmitter({
      prepareColumnLineage: () => Promise.reject(new Error('no wasm here')),
      columnLineage: () => {
        throw new Error('the parser is not loaded');
      },
    });
    for (const { emitter } of [off, broken]) for (const event of EVENTS()) emitter.emit(event);
    for (const { emitter, events } of [off, broken]) {
      expect(await emitter.flush(10_000)).toBe(0);
      expect(events).toHaveLength(5);
      expect(outputFacets(events)).toEqual([undefined, [], undefined, [], undefined]);
    }
    expect(off.emitter.columnLineageOmitted).toBe(0);
    expect(broken.emitter.columnLineageOmitted).toBe(2);
  });

  it('a malformed request (wrong types, no inputs) is left out and counted, never thrown', async () => {
    const { emitter, events } = memoryEmitter();
    const bad = stepEvent('p.bad', 'select 1 as one');
    const output = bad.outputs[0] as { facets: Record<string, unknown> };
    output.facets[PENDING_COLUMN_LINEAGE] = {
      _producer: SLUICE_PRODUCER,
      _schemaURL: 'urn:sluice:pending-column-lineage',
      sql: 42,
      inputs: 'not a list',
      dialect: null,
    };
    emitter.emit(stepEvent('p.bad'));
    emitter.emit(bad);
    expect(await emitter.flush(10_000)).toBe(0);
    expect(outputFacets(events)).toEqual([undefined, []]);
    expect(emitter.columnLineageOmitted).toBe(1);
  });

  it("a run process's emitter forwards the request to its parent untouched", async () => {
    const { emitter, events } = memoryEmitter({ columnLineage: 'forward' });
    for (const event of EVENTS()) emitter.emit(event);
    expect(await emitter.flush(10_000)).toBe(0);
    expect(outputFacets(events)).toEqual([
      undefined,
      [PENDING_COLUMN_LINEAGE],
      undefined,
      [PENDING_COLUMN_LINEAGE],
      undefined,
    ]);
  });
});
