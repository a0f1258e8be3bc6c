import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordLineageEvent } from '../src/orchestrator/lineage-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { runEvent } from './support/lineage-events.js';
import { runSluice } from './support/sluice-process.js';

// Runs the built CLI (npm run build first): bin/sluice.js loads dist/.

const LAKE = 'file:///srv/lake';
const HOSTILE = 'we"ird [name]\n{x} #1;';
let project = '';

beforeAll(async () => {
  // kept for the whole file (tempDir() folders go after each test)
  project = await mkdtemp(join(tmpdir(), 'sluice-lineage-cli-'));
  await mkdir(join(project, 'pipelines'), { recursive: true });
  await writeFile(join(project, 'sluice.config.ts'), 'export default {};\n');
  const store = await RunStore.open(join(project, '.sluice', 'sluice.db'));
  try {
    const events = [
      runEvent({
        job: ['shop', 'orders.silver'],
        inputs: [{ namespace: LAKE, name: 'raw_orders', fields: ['id', 'amount'] }],
        outputs: [
          {
            namespace: LAKE,
            name: 'silver_orders',
            fields: ['id', 'amount_eur'],
            columns: {
              id: [[LAKE, 'raw_orders', 'id']],
              amount_eur: [[LAKE, 'raw_orders', 'amount', 'DIRECT', 'TRANSFORMATION']],
            },
          },
        ],
      }),
      runEvent({
        job: ['shop', 'orders.gold'],
        inputs: [{ namespace: LAKE, name: 'silver_orders' }],
        outputs: [
          {
            namespace: LAKE,
            name: HOSTILE,
            fields: ['revenue'],
            columns: { revenue: [[LAKE, 'silver_orders', 'amount_eur', 'DIRECT', 'AGGREGATION']] },
          },
        ],
      }),
      // the same short name in another namespace
      runEvent({
        job: ['other', 'j'],
        outputs: [{ namespace: 'file:///elsewhere', name: 'silver_orders' }],
      }),
    ];
    for (const event of events) await recordLineageEvent(store.db, event);
  } finally {
    await store.close();
  }
});

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

const sluice = (...args: string[]) => runSluice(['lineage', ...args], { cwd: project });

describe('sluice lineage', () => {
  it('prints the dataset graph as text and as the API JSON', async () => {
    const text = await sluice(`${LAKE}:silver_orders`, '--upstream');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(
      `dataset:${LAKE}:silver_orders (upstream, depth 20): 2 datasets, 1 jobs, 2 edges\n` +
        `  dataset "${LAKE}:raw_orders" -> job "shop:orders.silver"\n` +
        `  job "shop:orders.silver" -> dataset "${LAKE}:silver_orders"\n`,
    );
    const json = await sluice('raw_orders', '--downstream', '--json');
    expect(json.code, json.stderr).toBe(0);
    const graph = JSON.parse(json.stdout) as { graph: { id: string; type: string }[] };
    expect(graph.graph.map((n) => n.id)).toEqual([
      `dataset:${LAKE}:raw_orders`,
      `dataset:${LAKE}:silver_orders`,
      `dataset:${LAKE}:${HOSTILE}`,
      'job:shop:orders.gold',
      'job:shop:orders.silver',
    ]);
    const shallow = await sluice('raw_orders', '--downstream', '--depth', '1', '--json');
    expect((JSON.parse(shallow.stdout) as { graph: unknown[] }).graph).toHaveLength(3);
  });

  it('prints column lineage and DOT and Mermaid that hostile names cannot break', async () => {
    const dot = await sluice('raw_orders.amount', '--downstream', '--dot');
    expect(dot.code, dot.stderr).toBe(0);
    expect(dot.stdout).toContain(
      `[label="${LAKE}:we\\"ird [name]\\n{x} #1;.revenue", shape=ellipse];`,
    );
    expect(dot.stdout.trimEnd().split('\n')).toHaveLength(3 + 3 + 2);
    const mermaid = await sluice(`dataset:${LAKE}:${HOSTILE}`, '--mermaid');
    expect(mermaid.code, mermaid.stderr).toBe(0);
    const lines = mermaid.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(lines).toContain(
      `  n2["file:///srv/lake:we#34;ird #91;name#93;#10;#123;x#125; #35;1#59;"]`,
    );
    expect(lines).toContain('  n3[["shop:orders.gold"]]');
    expect(lines.filter((l) => l.includes('-->'))).toHaveLength(4);
  });

  it('answers impact analysis: columns, datasets and jobs downstream', async () => {
    const text = await sluice('raw_orders.amount', '--impact');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(
      [
        `if "datasetField:${LAKE}:raw_orders:amount" changes:`,
        '  columns (2):',
        `    1  "${LAKE}:silver_orders.amount_eur"  DIRECT:TRANSFORMATION`,
        `    2  ${JSON.stringify(`${LAKE}:${HOSTILE}.revenue`)}  DIRECT:AGGREGATION`,
        '  datasets (2):',
        `    "${LAKE}:silver_orders"`,
        `    ${JSON.stringify(`${LAKE}:${HOSTILE}`)}`,
        '  jobs (2):',
        '    "shop:orders.gold"',
        '    "shop:orders.silver"',
        '',
      ].join('\n'),
    );
    const json = await sluice('raw_orders.amount', '--impact', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      jobs: [{ name: 'orders.gold' }, { name: 'orders.silver' }],
    });
  });

  it('refuses ambiguous and unknown names and contradictory flags with exit code 2', async () => {
    const ambiguous = await sluice('silver_orders');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('ambiguous');
    expect(ambiguous.stderr).toContain(`dataset:${LAKE}:silver_orders`);
    expect(ambiguous.stderr).toContain('dataset:file:///elsewhere:silver_orders');
    const unknown = await sluice('nope.nothing');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no dataset or column "nope.nothing"');
    for (const args of [
      ['raw_orders', '--dot', '--mermaid'],
      ['raw_orders', '--depth', '-1'],
      ['raw_orders', '--depth', 'deep'],
      ['raw_orders.amount', '--impact', '--dot'],
    ]) {
      const refused = await sluice(...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr.length).toBeGreaterThan(10);
    }
  });
});
