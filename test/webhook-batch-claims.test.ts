import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebhookInbox } from '../src/connectors/http/webhook-inbox.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { pipeline, ref, schema, sink, source, t } from '../src/index.js';
import { readNDJSON, runIn, tempDir } from './helpers.js';
import { readDeltaTable, workUntilFinished } from './support/orchestrator-project.js';

const PIPELINE = `
import { PermanentError, pipeline, ref, schema, sink, source, t, transform } from 'sluice';
export default pipeline('hooks', {
  params: { fail: 'no' },
  steps: {
    orders: source.webhook({ inbox: 'orders', schema: schema({ id: t.int64().notNull() }) }),
    gate: transform({
      input: ref('orders'),
      map: (row, context) => {
        if (context.params.fail === 'yes') throw new PermanentError('asked to fail');
        return row;
      },
    }),
    out: sink.delta({ input: ref('gate'), path: '../lake/orders', mode: 'append' }),
  },
});`;

describe('source.webhook tracks the batches it read by identity, not by number', () => {
  let dir: string;
  let stateDir: string;
  let store: RunStore;
  let project: Project;

  beforeEach(async () => {
    dir = await tempDir('sluice-webhook-claims-');
    stateDir = join(dir, '.sluice');
    await mkdir(join(dir, 'pipelines'));
    await writeFile(join(dir, 'pipelines', 'hooks.ts'), PIPELINE);
    project = await Project.open(dir);
    store = await RunStore.open(join(stateDir, 'sluice.db'));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await store.close();
  });

  const runOnce = async (params: Record<string, string> = {}): Promise<RunRecord> => {
    const [run] = await store.enqueueRuns([{ pipeline: 'hooks', trigger: 'manual', params }]);
    const [done] = await workUntilFinished(store, project, [run as RunRecord]);
    return done as RunRecord;
  };
  const ids = async (): Promise<number[]> =>
    (await readDeltaTable(dir, join(dir, 'lake', 'orders')))
      .map((r) => Number(r['id']))
      .sort((a, b) => a - b);
  /** What a server process started now writes, its clock `behindMs` behind. */
  const postFromServer = async (records: object[], behindMs = 0): Promise<string> => {
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now - behindMs);
    try {
      return await WebhookInbox.open(stateDir, 'orders').append(records);
    } finally {
      clock.mockRestore();
    }
  };

  it('reads a batch numbered below those already read (a server restarted with its clock behind)', async () => {
    const first = await postFromServer([{ id: 1 }, { id: 2 }]);
    expect((await runOnce()).state).toBe('success');
    // Nothing new: the batch the first run read is deleted, the inbox is empty.
    expect((await runOnce()).state).toBe('success');
    expect(await ids()).toEqual([1, 2]);

    // The server restarts with its clock an hour behind: the new batch is numbered below the
    // batch already read, and it was accepted (202), so it must be read.
    const late = await postFromServer([{ id: 3 }], 3_600_000);
    expect(late < first).toBe(true);
    expect((await runOnce()).state).toBe('success');
    expect(await ids()).toEqual([1, 2, 3]);

    // A failed run keeps what it read for the next one; nothing is read twice.
    await postFromServer([{ id: 4 }], 7_200_000);
    expect((await runOnce({ fail: 'yes' })).state).toBe('failed');
    await postFromServer([{ id: 5 }], 10_800_000);
    expect((await runOnce()).state).toBe('success');
    expect(await ids()).toEqual([1, 2, 3, 4, 5]);
    expect((await runOnce()).state).toBe('success');
    expect(await ids()).toEqual([1, 2, 3, 4, 5]);
    expect(await readdir(join(stateDir, 'inbox', 'orders'))).toEqual([]);
  });

  it('reads both batches when a reused number names a new batch beside one a failed run claimed', async () => {
    await postFromServer([{ id: 1 }]);
    expect((await runOnce()).state).toBe('success');
    // A failed run removes what the success read and claims the next batch...
    const second = await postFromServer([{ id: 2 }]);
    expect((await runOnce({ fail: 'yes' })).state).toBe('failed');
    // ...and a server restarted with its clock back gives a new batch the very same number.
    const clock = vi.spyOn(Date, 'now').mockReturnValue(Number(BigInt(second) / 1000n));
    const reused = await WebhookInbox.open(stateDir, 'orders').append([{ id: 3 }]);
    clock.mockRestore();
    expect(reused).toBe(second);
    expect((await runOnce()).state).toBe('success');
    expect(await ids()).toEqual([1, 2, 3]);
  });

  it('sets batches a state from an older version counted as consumed aside, deleting none', async () => {
    const older = await postFromServer([{ id: 1 }]);
    const inbox = WebhookInbox.open(stateDir, 'orders');
    const { folder, moved } = await inbox.setAsideThrough(older);
    expect(moved).toBe(1);
    expect(await readdir(folder)).toEqual([`${older}.ndjson`]);
    expect(await inbox.pending(undefined)).toEqual([]);
  });

  it('names the batch file in its claim as _source_file', async () => {
    await postFromServer([{ id: 7 }]);
    const out = join(dir, 'out.ndjson');
    const p = pipeline('claims', {
      steps: {
        orders: source.webhook({
          inbox: 'orders',
          schema: schema({ id: t.int64().notNull() }),
          metadata: ['_source_file'],
        }),
        out: sink.ndjson({ input: ref('orders'), path: out }),
      },
    });
    const report = await runIn(dir, p);
    expect(report.status).toBe('success');
    const [row] = await readNDJSON(out);
    expect(row?.['id']).toBe(7);
    expect(String(row?.['_source_file'])).toMatch(
      /[/\\]inbox[/\\]orders[/\\]\.read[/\\]\d{13}-[0-9a-f-]{36}[/\\]\d{16}\.ndjson$/,
    );
  });

  it('takes over a numeric state from an older version: batches up to it are set aside, later ones read', async () => {
    const first = await postFromServer([{ id: 1 }]);
    const second = await postFromServer([{ id: 2 }]);
    await postFromServer([{ id: 3 }]);
    const out = join(dir, 'upgrade.ndjson');
    const p = pipeline('upgrade', {
      steps: {
        orders: source.webhook({ inbox: 'orders', schema: schema({ id: t.int64().notNull() }) }),
        out: sink.ndjson({ input: ref('orders'), path: out }),
      },
    });
    const report = await runIn(dir, p, { watermarks: { orders: second } });
    expect(report.status).toBe('success');
    expect((await readNDJSON(out)).map((r) => r['id'])).toEqual([3]);
    const aside = join(stateDir, 'inbox', 'orders', '.read-before-upgrade');
    expect((await readdir(aside)).sort()).toEqual([`${first}.ndjson`, `${second}.ndjson`]);
    expect(JSON.parse(String(report.watermarks?.['orders']))).toEqual({
      read: [expect.stringMatching(/^\d{13}-[0-9a-f-]{36}$/)],
    });
  });
});
