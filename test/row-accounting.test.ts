import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defaultRegistry,
  defineSink,
  defineSource,
  pipeline,
  ref,
  sink,
  source,
} from '../src/index.js';
import { runIn, stepOf, tempDir } from './helpers.js';

/** A source whose parser "loses" records: it types 3 of the 5 its input holds. */
const leakySource = defineSource({
  name: 'leaky',
  summary: 'types fewer records than the input holds',
  config: z.strictObject({}),
  async read(_config, context) {
    await context.connection.run(
      `CREATE VIEW "${context.stepId}" AS SELECT range AS n FROM range(3)`,
    );
    return {
      rowsRead: 3,
      rowsQuarantined: 0,
      recordsInInput: 5,
      fields: [{ name: 'n', type: { kind: 'int64' }, nullable: false }],
      inputs: ['leaky://input'],
    };
  },
});

/** A sink that stages fewer rows than it was given. */
const shortSink = defineSink({
  name: 'short',
  summary: 'writes one row less than its input',
  config: z.strictObject({ input: z.unknown().optional() }),
  async write(_config, context) {
    const [row] = await context.connection.rows(`SELECT count(*) AS n FROM ${context.input}`);
    return {
      rowsWritten: Number(row?.['n']) - 1,
      outputs: ['short://out'],
      publish: async () => {
        throw new Error('a sink that lost rows must never publish');
      },
      discard: async () => {},
    };
  },
});

const registry = defaultRegistry.with(leakySource, shortSink);

describe('row accounting is an engine invariant', () => {
  it('fails a source whose reader accounts for fewer records than its independent count', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('leaks', {
        steps: {
          input: source.custom('leaky', {}),
          out: sink.ndjson({ input: ref('input'), path: 'out.ndjson' }),
        },
      }),
      { registry },
    );
    expect(report.status).toBe('failed');
    const input = stepOf(report, 'input');
    expect(input.error?.code).toBe('ROWS_UNACCOUNTED');
    expect(input.error?.message).toMatch(/5 records .* accounted for 3/);
    await expect(access(join(dir, 'out.ndjson'))).rejects.toThrow();
  });

  it('fails a sink that staged fewer rows than its input and publishes nothing', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('short', {
        steps: {
          input: source.custom('numbers', {}),
          out: sink.custom('short', { input: ref('input') }),
        },
      }),
      { registry: registry.with(numbers) },
    );
    expect(report.status).toBe('failed');
    expect(stepOf(report, 'out').error?.code).toBe('ROWS_UNACCOUNTED');
  });
});

const numbers = defineSource({
  name: 'numbers',
  summary: 'ten numbers',
  config: z.strictObject({}),
  async read(_config, context) {
    await context.connection.run(
      `CREATE TABLE "${context.stepId}" AS SELECT range AS n FROM range(10)`,
    );
    return {
      rowsRead: 10,
      rowsQuarantined: 0,
      recordsInInput: 10,
      fields: [{ name: 'n', type: { kind: 'int64' }, nullable: false }],
      inputs: [],
    };
  },
});
