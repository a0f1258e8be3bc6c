import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../src/orchestrator/alert-store.js';
import { APITokens } from '../src/orchestrator/api-tokens.js';
import { AuditLog } from '../src/orchestrator/audit-log.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { ROOT, tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const pgSkip = await postgresUnavailable();
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(drops.map((drop) => drop()));
});

interface StoreKind {
  readonly name: string;
  readonly skip: string | undefined;
  /** A new, empty store's location. */
  location(): Promise<string>;
}

const STORES: readonly StoreKind[] = [
  {
    name: 'embedded',
    skip: undefined,
    location: async () => join(await tempDir('sluice-audit-'), 'sluice.db'),
  },
  {
    name: 'postgres',
    skip: pgSkip,
    location: async () => {
      const db = await createTestDatabase();
      drops.push(db.drop);
      return db.url;
    },
  },
];

const DIST = join(ROOT, 'dist', 'orchestrator', 'audit-log.js');
const distSkip = existsSync(DIST) ? undefined : 'dist/ is not built (npm run build)';
if (distSkip !== undefined && process.env['CI'] === 'true') throw new Error(distSkip);

async function withStore<T>(kind: StoreKind, work: (store: RunStore) => Promise<T>): Promise<T> {
  const store = await RunStore.open(await kind.location());
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function appendSome(store: RunStore, count: number): Promise<void> {
  for (let i = 1; i <= count; i++)
    await store.audit.append({
      actor: `user:u${i}`,
      action: 'dataset.write',
      target: { pipeline: 'orders', dataset: `lake/t${i}`, runId: `run_${i}` },
      detail: { rows: i * 10, mode: 'append' },
    });
}

/**
 * A script run by `node` in processes of their own: opens the store and appends `count` entries
 * one transaction each, printing "ready" after the first.
 */
const APPENDER = `
const [{ openDatabase }, { migrate }, { AuditLog }] = await Promise.all([
  import(${JSON.stringify(join(ROOT, 'dist', 'orchestrator', 'sql-database.js'))}),
  import(${JSON.stringify(join(ROOT, 'dist', 'orchestrator', 'migrations.js'))}),
  import(${JSON.stringify(DIST)}),
]);
const [location, name, count] = process.argv.slice(1);
const db = await openDatabase(location);
await migrate(db);
const log = new AuditLog(db);
for (let i = 0; i < Number(count); i++) {
  await log.append(
    { actor: 'user:' + name, action: 'dataset.write', target: { dataset: 'lake/' + name }, detail: { i } },
    { actor: 'user:' + name, action: 'dataset.schema_change', target: { dataset: 'lake/' + name }, detail: { i, changes: ['added column x'] } },
  );
  if (i === 0) process.stdout.write('ready\\n');
}
await db.close();
`;

function startAppender(location: string, name: string, count: number) {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', APPENDER, location, name, String(count)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const kind of STORES)
  describe.skipIf(kind.skip !== undefined)(`the audit log in the ${kind.name} run store`, () => {
    it('chains entries from the genesis hash and verifies an unbroken chain', async () => {
      await withStore(kind, async (store) => {
        expect(await store.audit.verify()).toEqual({
          checked: 0,
          head: { seq: 0, hash: '0'.repeat(64) },
        });
        await appendSome(store, 12);
        const entries = (await store.audit.list()).reverse();
        expect(entries.map((e) => e.seq)).toEqual([...Array(12).keys()].map((i) => i + 1));
        expect(entries[0]?.prevHash).toBe('0'.repeat(64));
        for (let i = 1; i < entries.length; i++)
          expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
        // Paging through the chain finds the same head as one page.
        const verified = await store.audit.verify({ pageSize: 5 });
        expect(verified).toEqual({ checked: 12, head: { seq: 12, hash: entries[11]?.hash } });
        expect(await store.audit.head()).toEqual(verified.head);
      });
    });

    it('fails verify when a row is edited in the database, naming the entry', async () => {
      await withStore(kind, async (store) => {
        await appendSome(store, 6);
        await store.db.run(`UPDATE audit_log SET detail = ? WHERE seq = 4`, [
          '{"mode":"append","rows":1}',
        ]);
        const result = await store.audit.verify();
        expect(result.broken).toMatchObject({ seq: 4, reason: expect.stringMatching(/edited/) });
        expect(result.checked).toBe(3);
      });
    });

    it('fails verify when an edit is re-hashed in place: the next entry no longer links', async () => {
      await withStore(kind, async (store) => {
        await appendSome(store, 5);
        const [row] = await store.audit
          .list({ limit: 5 })
          .then((l) => l.filter((e) => e.seq === 2));
        const { auditEntryHash } = await import('../src/observe/audit/audit-chain.js');
        const forged = { ...row!, actor: 'user:mallory' };
        await store.db.run('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 2', [
          forged.actor,
          auditEntryHash(forged),
        ]);
        expect((await store.audit.verify()).broken).toMatchObject({
          seq: 3,
          reason: expect.stringMatching(/prev_hash/),
        });
      });
    });

    it('fails verify when a row is deleted, or rows are reordered', async () => {
      await withStore(kind, async (store) => {
        await appendSome(store, 6);
        await store.db.run('DELETE FROM audit_log WHERE seq = 3');
        expect((await store.audit.verify()).broken).toEqual({
          seq: 4,
          reason: 'entry 3 is missing (deleted)',
        });
      });
      await withStore(kind, async (store) => {
        await appendSome(store, 6);
        await store.db.run('UPDATE audit_log SET seq = -1 WHERE seq = 2');
        await store.db.run('UPDATE audit_log SET seq = 2 WHERE seq = 5');
        await store.db.run('UPDATE audit_log SET seq = 5 WHERE seq = -1');
        expect((await store.audit.verify()).broken).toMatchObject({
          seq: 2,
          reason: expect.stringMatching(/prev_hash|edited/),
        });
      });
      await withStore(kind, async (store) => {
        await appendSome(store, 3);
        await store.db.run(`UPDATE audit_log SET detail = 'not json' WHERE seq = 2`);
        expect((await store.audit.verify()).broken).toEqual({
          seq: 2,
          reason: 'its detail is not JSON (edited)',
        });
        await expect(store.audit.list()).rejects.toThrow(/audit entry 2 is unreadable/);
      });
    });

    it('keeps hostile names exactly, and refuses what cannot be stored', async () => {
      await withStore(kind, async (store) => {
        const names = [
          `it's "quoted"; DROP TABLE audit_log; --`,
          'ünïcödé 数据集 \u{1F600} \u202Eevil',
          'line\nbreak\ttab\u001b[31m',
          'x'.repeat(4_096),
          ' ',
        ];
        for (const name of names)
          await store.audit.append({
            actor: `token:${name.slice(0, 50)}`,
            action: 'dataset.write',
            target: { dataset: name, pipeline: name, runId: name },
            detail: { [name.slice(0, 100)]: name, nested: { list: [name, 1.5, -0, null, true] } },
          });
        expect((await store.audit.verify()).checked).toBe(names.length);
        for (const name of names) {
          const [entry] = await store.audit.list({ dataset: name });
          expect(entry?.target).toEqual({ dataset: name, pipeline: name, runId: name });
          expect(entry?.detail[name.slice(0, 100)]).toBe(name);
        }
        await expect(
          store.audit.append({ actor: 'user:a', action: 'x', target: { dataset: 'a\u0000b' } }),
        ).rejects.toThrow(/target.dataset holds a NUL character/);
        await expect(store.audit.append({ actor: '', action: 'x' })).rejects.toThrow(
          /non-empty actor/,
        );
        await expect(
          store.audit.append({ actor: 'a', action: 'x', target: { pipeline: 'p'.repeat(4_097) } }),
        ).rejects.toThrow(/4097 characters long/);
        await expect(
          store.audit.append({ actor: 'a', action: 'x', detail: { n: Number.NaN } }),
        ).rejects.toThrow(/NaN/);
        // Nothing refused was written, and the chain is still whole.
        expect((await store.audit.verify()).checked).toBe(names.length);
      });
    });

    it('records control actions with their actor, in the transaction of the action', async () => {
      await withStore(kind, async (base) => {
        const alice = base.withAuditActor('user:alice');
        const bot = base.withActor('bot', 'token:bot');
        const [run] = await alice.enqueueRuns([
          { pipeline: 'orders', trigger: 'manual', params: { region: 'EU' } },
        ]);
        await bot.requestCancel(run!.id);
        await alice.setPaused('orders', true);
        await bot.setPaused('orders', false);
        const day = 86_400_000;
        await alice.createBackfill(
          { id: 'bf_1', pipeline: 'orders', range: { start: 0, end: 3 * day } },
          [0, 1, 2].map((d) => ({
            pipeline: 'orders',
            trigger: 'backfill' as const,
            interval: { start: d * day, end: (d + 1) * day },
            backfillId: 'bf_1',
          })),
        );
        expect(
          await base.advanceSchedule(
            'orders',
            undefined,
            [
              {
                pipeline: 'orders',
                trigger: 'schedule',
                interval: { start: 5 * day, end: 6 * day },
              },
            ],
            6 * day,
          ),
        ).toHaveLength(1);
        const tokens = new APITokens(alice);
        const { token } = await tokens.create('deploy', 'trigger');
        await tokens.revoke('deploy');
        expect(await tokens.revoke('deploy')).toBe(false);
        const alerts = new AlertStore(base.db);
        const silence = await alerts.silence('pipeline=orders', '2h', {
          now: Date.now(),
          actor: 'user:carol',
          comment: 'migration',
        });
        await alerts.unsilence(silence.id, Date.now(), 'user:carol');
        await alerts.saveIncidents(
          [
            {
              fingerprint: 'abcdef0123456789',
              rule: 'run_failed',
              state: 'firing',
              severity: 'critical',
              summary: 'orders failed',
              labels: { pipeline: 'orders' },
              startsAt: 1,
              openedAt: 1,
              resolvedNotified: false,
            },
          ],
          Date.now(),
        );
        await alerts.acknowledge('abcdef', { now: Date.now(), actor: 'user:dave' });

        const entries = (await base.audit.list()).reverse();
        expect(entries.map((e) => [e.actor, e.action, e.target])).toEqual([
          ['user:alice', 'run.trigger', { pipeline: 'orders', runId: run!.id }],
          ['token:bot', 'run.cancel', { pipeline: 'orders', runId: run!.id }],
          ['user:alice', 'pipeline.pause', { pipeline: 'orders' }],
          ['token:bot', 'pipeline.unpause', { pipeline: 'orders' }],
          ['user:alice', 'backfill.create', { pipeline: 'orders' }],
          ['scheduler', 'run.schedule', expect.objectContaining({ pipeline: 'orders' })],
          ['user:alice', 'token.create', {}],
          ['user:alice', 'token.revoke', {}],
          ['user:carol', 'alert.silence', {}],
          ['user:carol', 'alert.unsilence', {}],
          ['user:dave', 'alert.ack', {}],
        ]);
        expect(entries[0]?.detail).toEqual({
          runs: 1,
          trigger: 'manual',
          params: { region: 'EU' },
        });
        expect(entries[1]?.detail).toEqual({ state: 'queued' });
        expect(entries[4]?.detail).toMatchObject({
          backfill: 'bf_1',
          intervals: 3,
          runsCreated: 3,
        });
        expect(entries[6]?.detail).toEqual({ token: 'deploy', role: 'trigger' });
        expect(entries[8]?.detail).toMatchObject({ silence: silence.id, comment: 'migration' });
        expect(entries[10]?.detail).toEqual({ fingerprint: 'abcdef0123456789' });
        // The secret is never recorded, nor its digest.
        const { createHash } = await import('node:crypto');
        const digest = createHash('sha256').update(token).digest('hex');
        const raw = JSON.stringify(await base.db.all('SELECT * FROM audit_log'));
        expect(raw).not.toContain(token);
        expect(raw).not.toContain(digest);
        // Who queued a run is kept with it: its writes are recorded for that actor.
        expect((await base.getRun(run!.id))?.triggeredBy).toBe('user:alice');
        expect((await base.audit.verify()).checked).toBe(entries.length);
      });
    });

    it("records a finished attempt's writes for the actor who queued the run", async () => {
      await withStore(kind, async (base) => {
        const [run] = await base
          .withAuditActor('user:erin')
          .enqueueRuns([{ pipeline: 'orders', trigger: 'manual' }]);
        const claim = await base.claimRun('w1', 30_000);
        expect(claim?.run.id).toBe(run!.id);
        await base.finishAttempt(run!.id, claim!.fencingToken, {
          state: 'success',
          audit: [
            {
              action: 'dataset.write',
              target: { pipeline: 'orders', runId: run!.id, dataset: '/lake/orders' },
              detail: { step: 'out', rows: 3, mode: 'append', version: 0 },
            },
          ],
        });
        const [write] = await base.audit.list({ dataset: '/lake/orders' });
        expect(write).toMatchObject({ actor: 'user:erin', action: 'dataset.write' });
      });
    });

    it.skipIf(distSkip !== undefined)(
      'keeps the chain whole when an appending process is killed with SIGKILL',
      async () => {
        const location = await kind.location();
        // Create the schema first: the kill should land in appends, not in the migration.
        await (await RunStore.open(location)).close();
        for (let round = 0; round < 3; round++) {
          const appender = startAppender(location, `k${round}`, 100_000);
          await until(`appender ${round} to start (${appender.stderr()})`, () =>
            appender.stdout().includes('ready'),
          );
          await sleep(50 + round * 70);
          appender.child.kill('SIGKILL');
          expect((await appender.exited).signal).toBe('SIGKILL');
        }
        const store = await RunStore.open(location);
        try {
          const result = await store.audit.verify();
          expect(result.broken).toBeUndefined();
          // Entries come in pairs of one transaction: a kill never leaves half of one.
          expect(result.checked % 2).toBe(0);
          expect(result.checked).toBeGreaterThanOrEqual(6);
          await appendSome(store, 1);
          expect((await store.audit.verify()).broken).toBeUndefined();
        } finally {
          await store.close();
        }
      },
    );
  });

describe.skipIf(pgSkip !== undefined || distSkip !== undefined)(
  'concurrent appends to the PostgreSQL audit log',
  () => {
    it('from several processes and connections make one unbroken chain', async () => {
      const location = await STORES[1]!.location();
      const stores = await Promise.all([0, 1, 2].map(() => RunStore.open(location)));
      try {
        const processes = ['p1', 'p2', 'p3'].map((name) => startAppender(location, name, 40));
        await Promise.all(
          stores.map(async (store, s) => {
            for (let i = 0; i < 40; i++)
              await store.audit.append({
                actor: `user:c${s}`,
                action: 'api.read',
                detail: { i },
              });
          }),
        );
        for (const p of processes) expect((await p.exited).code, p.stderr()).toBe(0);
        const result = await new AuditLog(stores[0]!.db).verify();
        expect(result.broken).toBeUndefined();
        expect(result.checked).toBe(3 * 40 * 2 + 3 * 40);
        // Each writer's entries are all there, in its own order.
        for (const name of ['p1', 'p2', 'p3']) {
          const mine = (await stores[0]!.audit.list({ actor: `user:${name}`, limit: 1_000 }))
            .reverse()
            .filter((e) => e.action === 'dataset.write')
            .map((e) => e.detail['i']);
          expect(mine).toEqual([...Array(40).keys()]);
        }
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  },
);
