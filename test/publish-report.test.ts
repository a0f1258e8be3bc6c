import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { StepEvent } from '../src/engine/executor.js';
import { defaultRegistry, defineSink, pipeline, ref, sink, sql } from '../src/index.js';
import { runIn, stepOf, tempDir } from './helpers.js';

/** A sink that stages its rows and then cannot publish them. */
const refusingSink = defineSink({
  name: 'refusing',
  summary: 'stages, then fails to publish',
  config: z.strictObject({ input: z.unknown().optional() }),
  async write(_config, context) {
    const [row] = await context.connection.rows(`SELECT count(*) AS n FROM ${context.input}`);
    return {
      rowsWritten: Number(row?.['n']),
      outputs: ['refusing://target'],
      publish: async () => {
        throw new Error('the target went read-only');
      },
      discard: async () => {},
    };
  },
});

describe('a run whose publishing stops part-way', () => {
  it('reports the sink that failed to publish as failed and the sinks after it as canceled, never success', async () => {
    const dir = await tempDir();
    const events: StepEvent[] = [];
    const report = await runIn(
      dir,
      pipeline('half', {
        steps: {
          rows: sql`select range as n from range(10)`,
          a: sink.custom('refusing', { input: ref('rows') }),
          b: sink.ndjson({ input: ref('rows'), path: 'out/b.ndjson' }),
        },
      }),
      { registry: defaultRegistry.with(refusingSink), onEvent: (event) => events.push(event) },
    );
    expect(report.status).toBe('failed');
    expect(stepOf(report, 'a')).toMatchObject({
      status: 'failed',
      error: { code: 'SINK_FAILED', message: expect.stringContaining('read-only') as unknown },
    });
    expect(stepOf(report, 'b')).toMatchObject({
      status: 'canceled',
      error: { message: expect.stringContaining('not published') as unknown },
    });
    await expect(access(join(dir, 'out', 'b.ndjson'))).rejects.toThrow();
    expect(events.some((event) => event.type === 'step-published')).toBe(false);
    // Those who follow the events hear the last word on each sink.
    const lastWord = (id: string): string | undefined =>
      events
        .filter((event) => event.type === 'step-finished' && event.step.id === id)
        .map((event) => (event.type === 'step-finished' ? event.step.status : undefined))
        .at(-1);
    expect(lastWord('a')).toBe('failed');
    expect(lastWord('b')).toBe('canceled');
  });

  it('tells each published sink as it publishes', async () => {
    const dir = await tempDir();
    const events: StepEvent[] = [];
    const report = await runIn(
      dir,
      pipeline('whole', {
        steps: {
          rows: sql`select range as n from range(10)`,
          b: sink.ndjson({ input: ref('rows'), path: 'out/b.ndjson' }),
        },
      }),
      { onEvent: (event) => events.push(event) },
    );
    expect(report.status).toBe('success');
    expect(events.filter((event) => event.type === 'step-published')).toEqual([
      { type: 'step-published', stepId: 'b' },
    ]);
  });
});
