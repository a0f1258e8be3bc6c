import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AlertEngine } from '../src/orchestrator/alert-engine.js';
import type { WatchedPipeline } from '../src/orchestrator/alert-facts.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { sleep } from '../src/orchestrator/worker.js';
import { ROOT, tempDir, killChildren } from './helpers.js';
import type { AlertReceiver } from './support/alert-receiver.js';
import { startAlertReceiver, webhookChannel } from './support/alert-receiver.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const skip = await postgresUnavailable();
const drops: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
const receivers: AlertReceiver[] = [];

afterEach(async () => {
  await killChildren(children);
  for (const r of receivers.splice(0)) await r.close();
});
afterAll(async () => {
  await Promise.all(drops.map((drop) => drop()));
});

async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.skipIf(skip !== undefined)('alerts on one PostgreSQL store', () => {
  it('two engines racing on 40 incidents notify each exactly once, and resolve each once', async () => {
    const { url, drop } = await createTestDatabase();
    drops.push(drop);
    const hook = await startAlertReceiver();
    receivers.push(hook);
    const stores = [await RunStore.open(url), await RunStore.open(url)];
    try {
      const [first] = stores as [RunStore, RunStore];
      const names = Array.from({ length: 40 }, (_, i) => `p${i}`);
      const watched: WatchedPipeline[] = names.map((name) => ({
        name,
        rules: [{ kind: 'run_failed' }],
      }));
      const finish = async (name: string, state: 'failed' | 'success'): Promise<void> => {
        const [run] = await first.enqueueRuns([{ pipeline: name, trigger: 'manual' }]);
        const claim = await first.claimRun('w', 30_000, [name]);
        await first.finishAttempt(run?.id as string, claim?.fencingToken as number, {
          state,
          ...(state === 'failed' ? { error: { code: 'X', message: 'boom' } } : {}),
        });
      };
      for (const name of names) await finish(name, 'failed');
      const engines = stores.map(
        (store, i) =>
          new AlertEngine({
            store,
            config: {
              channels: [webhookChannel('hook', hook)],
              routes: [{ name: 'default', channels: ['hook'], groupWait: 0, repeatInterval: '4h' }],
            },
            pipelines: async () => watched,
            instance: `engine-${i}`,
          }),
      );
      const race = async (): Promise<void> => {
        for (let round = 0; round < 10; round++)
          await Promise.all(engines.map(async (e) => (await e.evaluate(), await e.deliver())));
      };
      await race();
      const firing = hook.received.flat();
      expect(firing.every((n) => n.notification === 'first')).toBe(true);
      expect(firing.map((n) => n.labels['pipeline']).sort()).toEqual([...names].sort());
      for (const name of names) await finish(name, 'success');
      await race();
      const all = hook.received.flat();
      expect(all).toHaveLength(80);
      expect(
        all
          .filter((n) => n.notification === 'resolved')
          .map((n) => n.labels['pipeline'])
          .sort(),
      ).toEqual([...names].sort());
      const [outbox] = await first.db.all(
        "SELECT count(*) AS n FROM alert_outbox WHERE state = 'sent'",
      );
      expect(Number(outbox?.['n'])).toBe(hook.received.length);
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('two sluice serve processes: a failed run is notified once, through the channel in sluice.config.ts', async () => {
    const { url, drop } = await createTestDatabase();
    drops.push(drop);
    const hook = await startAlertReceiver();
    receivers.push(hook);
    const dir = await tempDir('sluice-alerts-serve-');
    await mkdir(join(dir, 'pipelines'));
    await writeFile(
      join(dir, 'pipelines', 'broken.ts'),
      `import { pipeline, sql } from 'sluice';
export default pipeline('broken', {
  owners: ['data-eng'],
  alerts: [{ kind: 'run_failed' }],
  steps: { boom: sql\`select error('the source is gone') as x\` },
});
`,
    );
    await writeFile(
      join(dir, 'sluice.config.ts'),
      `import { defineProject } from 'sluice';
const hook = {
  name: 'hook',
  type: 'webhook',
  async send(group, signal) {
    const response = await fetch(process.env.ALERT_HOOK, { method: 'POST', body: JSON.stringify(group), signal });
    if (!response.ok) throw new Error('answered ' + response.status);
  },
};
export default defineProject({
  alerts: {
    channels: [hook],
    routes: [{ name: 'data-eng', match: ['owner=data-eng'], channels: ['hook'], groupWait: 0 }],
    evaluateEvery: '200ms',
  },
});
`,
    );
    const serve = (): ChildProcess => {
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'bin', 'sluice.js'),
          'serve',
          '--project',
          dir,
          '--store',
          url,
          '--workers',
          '1',
        ],
        {
          cwd: dir,
          env: { ...process.env, ALERT_HOOK: hook.url },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      children.push(child);
      return child;
    };
    serve();
    serve();
    const store = await RunStore.open(url);
    try {
      await store.enqueueRuns([{ pipeline: 'broken', trigger: 'manual' }]);
      await until(() => hook.received.length > 0, 60_000, 'the notification');
      const sentAt = Date.now();
      // Both processes evaluate twice more after it: still one notification.
      await until(
        async () => {
          const rows = await store.db.all(
            "SELECT seen_at FROM heartbeats WHERE component = 'scheduler'",
          );
          return rows.length === 2 && rows.every((r) => Number(r['seen_at']) > sentAt + 500);
        },
        30_000,
        'both serve processes to evaluate again',
      );
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]).toHaveLength(1);
      expect(hook.received[0]?.[0]).toMatchObject({
        rule: 'run_failed',
        notification: 'first',
        labels: { pipeline: 'broken', owners: 'data-eng' },
      });
      expect(hook.received[0]?.[0]?.description).toContain('the source is gone');
    } finally {
      await store.close();
    }
  });
});
