import type { ChildProcess } from 'node:child_process';
import { Socket, createServer } from 'node:net';
import type { Server } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { FINISHED_STATES } from '../src/orchestrator/run-types.js';
import { sleep } from '../src/orchestrator/worker.js';
import {
  orchestratorProject,
  readDeltaTable,
  startOrchestratorProcess,
} from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';
import { killChildren } from './helpers.js';

const skip = await postgresUnavailable();
const LEASE_MS = 2_000;
const children: ChildProcess[] = [];
const drops: (() => Promise<void>)[] = [];

afterEach(() => killChildren(children));
afterAll(async () => {
  await Promise.all(drops.map((drop) => drop()));
});

async function untilFinished(
  store: RunStore,
  runs: readonly RunRecord[],
  timeoutMs: number,
): Promise<RunRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await store.listRuns({ limit: 10_000 });
    const mine = current.filter((r) => runs.some((x) => x.id === r.id));
    if (mine.every((r) => FINISHED_STATES.includes(r.state)) || Date.now() > deadline) return mine;
    await sleep(100);
  }
}

describe.skipIf(skip !== undefined)('workers on PostgreSQL', () => {
  let url: string;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drops.push(db.drop);
    url = db.url;
  });

  it('3 workers, one SIGKILLed mid-run, 200 runs: all succeed once, the lost run moves on within lease + 1 s', async () => {
    const dir = await orchestratorProject();
    const store = await RunStore.open(url);
    try {
      const long = (
        await store.enqueueRuns([
          {
            pipeline: 'work',
            trigger: 'manual',
            params: { n: '0', delay_ms: '4000' },
            maxAttempts: 6,
            priority: 1,
          },
        ])
      )[0] as RunRecord;
      const runs = [
        long,
        ...(await store.enqueueRuns(
          Array.from({ length: 199 }, (_, i) => ({
            pipeline: 'work',
            trigger: 'manual' as const,
            params: { n: String(i + 1), delay_ms: '20' },
            maxAttempts: 6,
          })),
        )),
      ];
      const workers = await Promise.all(
        ['w1', 'w2', 'w3'].map((id) =>
          startOrchestratorProcess(
            'worker',
            dir,
            url,
            { id: id, leaseMs: LEASE_MS, pollMs: 50 },
            children,
          ),
        ),
      );
      let holder: RunRecord | undefined;
      while (holder?.state !== 'running') {
        holder = await store.getRun(long.id);
        await sleep(20);
      }
      await sleep(500);
      const victim = workers[['w1', 'w2', 'w3'].indexOf(holder.leaseOwner ?? '')] as ChildProcess;
      victim.kill('SIGKILL');
      const killedAt = Date.now();
      await sleep(50);
      const expiresAt = (await store.getRun(long.id))?.leaseExpiresAt ?? killedAt;
      expect(expiresAt - killedAt).toBeLessThanOrEqual(LEASE_MS);

      const done = await untilFinished(store, runs, 120_000);
      expect(
        done.filter((r) => r.state !== 'success').map((r) => [r.id, r.state, r.error]),
      ).toEqual([]);
      expect(done).toHaveLength(200);

      const retried = (await store.getRun(long.id)) as RunRecord;
      expect(retried.attempt).toBeGreaterThanOrEqual(2);
      // Once its lease ran out, the run was claimed again by the first worker to free up (or at
      // once by an idle one): never more than 1 s later.
      const restarted = (await store.listEvents({ runId: long.id })).find(
        (e) => e.kind === 'run.started' && e.data['attempt'] === 2,
      );
      expect(restarted?.data['worker']).not.toBe(holder.leaseOwner);
      const [freed] = await store.db.all(
        `SELECT min(at) AS at FROM events WHERE at >= ? AND kind IN ('run.success', 'run.failed', 'run.up_for_retry')`,
        [expiresAt],
      );
      const freeAt = Math.max(expiresAt, Number(freed?.['at'] ?? expiresAt));
      expect((restarted?.at ?? Infinity) - freeAt).toBeLessThanOrEqual(1_000);
      const tasks = await store.listTasks(long.id);
      expect(tasks.filter((t) => t.step === 'out' && t.state === 'success')).toHaveLength(1);

      const successes = await store.db.all(
        `SELECT run_id, count(*) AS n FROM events WHERE kind = 'run.success' GROUP BY run_id HAVING count(*) > 1`,
      );
      expect(successes).toEqual([]);
      const rows = await readDeltaTable(dir, join(dir, 'out', 'work'));
      expect(rows).toHaveLength(200);
      expect(new Set(rows.map((r) => r['run_id'])).size).toBe(200);
    } finally {
      await store.close();
    }
  }, 180_000);

  it('recovers when PostgreSQL is unreachable for 10 s: no run lost or run twice', async () => {
    // Workers reach PostgreSQL through a proxy that is cut for 10 s: connections are dropped
    // and new ones refused, as when the database restarts or the network fails.
    const target = new URL(url);
    const sockets = new Set<Socket>();
    let cut = false;
    const proxy: Server = createServer((client) => {
      if (cut) return client.destroy();
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname);
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(port);

    const dir = await orchestratorProject();
    const store = await RunStore.open(url);
    // Enough runs that many are queued or running through the outage; each takes a run
    // process of its own, seconds apiece on a loaded 2-core machine.
    const RUNS = 30;
    // A scheduler through the same proxy: a run every 2 s, catching up what the outage delayed.
    const start = Math.ceil(Date.now() / 2_000) * 2_000;
    await writeFile(
      join(dir, 'pipelines', 'ticker.ts'),
      `import { pipeline, sql } from 'sluice';
export default pipeline('ticker', {
  schedule: { every: '2s' }, catchup: true, start: '${new Date(start).toISOString()}',
  steps: { one: sql\`select 1 as x\` },
});`,
    );
    try {
      const runs = await store.enqueueRuns(
        Array.from({ length: RUNS }, (_, i) => ({
          pipeline: 'work',
          trigger: 'manual' as const,
          params: { n: String(1_000 + i), delay_ms: '100' },
          maxAttempts: 6,
        })),
      );
      const scheduler = await startOrchestratorProcess(
        'scheduler',
        dir,
        viaProxy.toString(),
        { tickMs: 200 },
        children,
      );
      const workers = await Promise.all(
        ['p1', 'p2'].map((id) =>
          startOrchestratorProcess(
            'worker',
            dir,
            viaProxy.toString(),
            { id: id, leaseMs: LEASE_MS, pollMs: 50 },
            children,
          ),
        ),
      );
      while (
        (await store.listRuns({ states: ['success'], limit: 1_000 })).filter((r) =>
          runs.some((x) => x.id === r.id),
        ).length < 5
      )
        await sleep(50);
      cut = true;
      for (const s of sockets) s.destroy();
      await sleep(10_000);
      cut = false;
      const recovered = Date.now();
      while (((await store.lastScheduled('ticker')) ?? 0) < recovered + 2_000) await sleep(100);
      scheduler.kill('SIGTERM');
      const tickerRuns = await store.listRuns({ pipeline: 'ticker', limit: 1_000 });
      const starts = tickerRuns.map((r) => r.interval?.start ?? -1).sort((a, b) => a - b);
      expect(starts[0]).toBe(start);
      starts.forEach((s, i) => expect(s).toBe(start + i * 2_000));
      expect(starts.length).toBeGreaterThanOrEqual(8);
      const done = await untilFinished(store, [...runs, ...tickerRuns], 120_000);
      expect(workers.map((w) => w.exitCode ?? w.signalCode)).toEqual([null, null]);
      expect(
        done.filter((r) => r.state !== 'success').map((r) => [r.id, r.state, r.error]),
      ).toEqual([]);
      const successes = await store.db.all(
        `SELECT run_id, count(*) AS n FROM events WHERE kind = 'run.success' GROUP BY run_id HAVING count(*) > 1`,
      );
      expect(successes).toEqual([]);
      const rows = (await readDeltaTable(dir, join(dir, 'out', 'work'))).filter(
        (r) => Number(r['n']) >= 1_000,
      );
      expect(rows).toHaveLength(RUNS);
      expect(new Set(rows.map((r) => r['run_id'])).size).toBe(RUNS);
    } finally {
      await store.close();
      proxy.close();
      for (const s of sockets) s.destroy();
    }
  }, 300_000);
});
