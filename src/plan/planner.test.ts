import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConnectorSpec } from '../core/connector-spec.js';
import { schema, t } from '../core/schema.js';
import { ConfigError } from '../core/errors.js';
import { sink, source, sql, transform } from '../define/factories.js';
import { pipeline } from '../define/pipeline.js';
import { param, ref } from '../define/ref.js';
import type { StepDefinition } from '../define/steps.js';
import { defaultRegistry } from '../registry.js';
import type { ConnectorLookup } from './planner.js';
import { planOrThrow, planPipeline } from './planner.js';

const connectors = defaultRegistry.lookup;
const THIS_FILE = new URL(import.meta.url).pathname;

function problems(steps: Record<string, StepDefinition>, params?: Record<string, string>) {
  const result = planPipeline(
    pipeline('p', { steps, ...(params === undefined ? {} : { params }) }),
    { connectors },
  );
  return result.ok ? [] : result.diagnostics;
}

describe('planPipeline', () => {
  it('orders steps so inputs come first, and records consumers', () => {
    const result = planPipeline(
      pipeline('orders', {
        steps: {
          out: sink.csv({ input: ref('daily'), path: 'out.csv' }),
          daily: sql`select * from ${ref('orders')} join ${ref('customers')} using (id)`,
          orders: source.csv({ path: 'orders.csv' }),
          customers: source.csv({ path: 'customers.csv' }),
        },
      }),
      { connectors },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const order = result.plan.steps.map((s) => s.id);
    expect(order.indexOf('orders')).toBeLessThan(order.indexOf('daily'));
    expect(order.indexOf('customers')).toBeLessThan(order.indexOf('daily'));
    expect(order.indexOf('daily')).toBeLessThan(order.indexOf('out'));
    const daily = result.plan.steps.find((s) => s.id === 'daily');
    expect(daily?.inputs).toEqual(['orders', 'customers']);
    expect(daily?.consumers).toEqual(['out']);
    const csv = result.plan.steps.find((s) => s.id === 'orders');
    expect(csv?.config).toMatchObject({
      path: 'orders.csv',
      delimiter: ',',
      header: true,
      onMalformed: 'quarantine',
    });
  });

  it('reports every problem at once, each with the file and line of its step', () => {
    const found = problems({
      orders: source.csv({ path: 'orders.csv', delimiter: '' }),
      daily: sql`select * from ${ref('ordrs')}`,
      a: sql`select * from ${ref('b')}`,
      b: sql`select * from ${ref('a')}`,
      Orders: source.parquet({ path: 'x.parquet' }),
      out: sink.parquet({ input: ref('daily'), path: 'o', compression: 'brotli' as never }),
      late: sql`select * from ${ref('out')}`,
    });
    const byCode = found.map((d) => [d.code, d.stepId]);
    expect(byCode).toEqual(
      expect.arrayContaining([
        ['invalid-config', 'orders'],
        ['unknown-ref', 'daily'],
        ['duplicate-step', 'Orders'],
        ['invalid-config', 'out'],
        ['ref-to-sink', 'late'],
      ]),
    );
    expect(found.filter((d) => d.code === 'cycle')).toHaveLength(1);
    expect(found).toHaveLength(6);
    const unknown = found.find((d) => d.code === 'unknown-ref');
    expect(unknown?.hint).toBe('did you mean ref("orders")?');
    expect(unknown?.file).toBe(THIS_FILE);
    expect(unknown?.line).toBeGreaterThan(0);
    expect(found.find((d) => d.code === 'cycle')?.message).toMatch(
      /steps form a cycle: (a -> b -> a|b -> a -> b)/,
    );
    expect(found.find((d) => d.stepId === 'out')?.path).toBe('compression');
  });

  it('rejects unknown config keys, unknown connectors and bad names', () => {
    const found = problems({
      'bad-name': source.csv({ path: 'a.csv' }),
      __sluice_x: source.csv({ path: 'a.csv' }),
      typo: source.csv({ path: 'a.csv', delimeter: ';' } as never),
      custom: source.custom('kafka', {}),
      notAStep: { kind: 'nope' } as never,
    });
    expect(found.map((d) => d.code).sort()).toEqual([
      'invalid-config',
      'invalid-step-name',
      'invalid-step-name',
      'not-a-step',
      'unknown-connector',
    ]);
    expect(found.find((d) => d.stepId === 'typo')).toMatchObject({
      message: 'unknown option "delimeter" for source csv',
      path: 'delimeter',
      hint: 'did you mean "delimiter"?',
    });
  });

  it('checks transforms, schemas, params and self references', () => {
    const found = problems(
      {
        src: source.csv({ path: 'a.csv', schema: schema({ amount: t.decimal(40, 2) }) }),
        self: sql`select * from ${ref('self')}`,
        bad: transform({ input: ref('src'), batchSize: 0, map: (r) => r }),
        noInput: transform({ input: 'src' as never, map: (r) => r }),
        p: sql`select ${param('regoin')}`,
      },
      { region: 'EU' },
    );
    expect(found.map((d) => [d.code, d.stepId])).toEqual(
      expect.arrayContaining([
        ['invalid-schema', 'src'],
        ['self-reference', 'self'],
        ['invalid-config', 'bad'],
        ['missing-input', 'noInput'],
        ['unknown-param', 'p'],
      ]),
    );
    expect(found.find((d) => d.code === 'unknown-param')?.hint).toBe(
      'did you mean param("region")?',
    );
    expect(found).toHaveLength(5);
  });

  it('rejects an empty pipeline and a bad pipeline name', () => {
    const result = planPipeline(pipeline('no spaces allowed', { steps: {} }), { connectors });
    expect(result.ok ? [] : result.diagnostics.map((d) => d.code)).toEqual([
      'invalid-pipeline-name',
      'no-steps',
    ]);
  });

  it('throws a ConfigError carrying the diagnostics from planOrThrow', () => {
    const p = pipeline('p', { steps: { a: sql`select * from ${ref('missing')}` } });
    expect(() => planOrThrow(p, { connectors })).toThrow(ConfigError);
    try {
      planOrThrow(p, { connectors });
    } catch (error) {
      expect((error as ConfigError).diagnostics).toHaveLength(1);
      expect((error as ConfigError).message).toContain('ref("missing") names no step');
    }
  });

  it('resolves refs to child datasets of a source to the source step', () => {
    const nested: ConnectorSpec<{ children: string[] }> = {
      name: 'nested',
      role: 'source',
      summary: 'a source with child datasets',
      config: z.strictObject({ children: z.array(z.string()) }),
      childDatasets: (config) => config.children,
    };
    const lookup: ConnectorLookup = (role, name) =>
      role === 'source' && name === 'nested' ? (nested as ConnectorSpec) : connectors(role, name);
    const steps = {
      joined: sql`select * from ${ref('orders')} join ${ref('orders__items')} using (id)`,
      orders: source.custom('nested', { children: ['items', 'items__tags'] }),
      tags: transform({ input: ref('orders__items__tags'), map: (r) => r }),
    };
    const result = planPipeline(pipeline('p', { steps }), { connectors: lookup });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const inputs = Object.fromEntries(result.plan.steps.map((s) => [s.id, s.inputs]));
    expect(inputs).toEqual({ orders: [], joined: ['orders'], tags: ['orders'] });
    expect(result.plan.steps[0]?.consumers).toEqual(['joined', 'tags']);

    const bad = planPipeline(
      pipeline('p', {
        steps: {
          orders: source.custom('nested', { children: ['items', 'ITEMS'] }),
          typo: sql`select * from ${ref('orders__itemz')}`,
          other: source.csv({ path: 'o.csv' }),
          lost: sql`select * from ${ref('other__items')}`,
        },
      }),
      { connectors: lookup },
    );
    const found = bad.ok ? [] : bad.diagnostics;
    expect(found.map((d) => [d.code, d.stepId])).toEqual([
      ['child-dataset-clash', 'orders'],
      ['unknown-ref', 'typo'],
      ['unknown-ref', 'lost'],
    ]);
    expect(found[0]?.message).toBe(
      'source "orders" creates the dataset "orders__ITEMS", the name of a child dataset of source "orders"',
    );
    expect(found[1]).toMatchObject({
      message: 'ref("orders__itemz") names no dataset: step "orders" creates only "orders__items"',
      hint: expect.stringMatching(/^did you mean ref\("orders__items"\)\? a source creates only/),
    });
    expect(found[2]?.message).toBe(
      'ref("other__items") names no dataset: step "other" creates no child datasets',
    );
  });
});
