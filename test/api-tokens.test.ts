import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APITokens, parseRole, roleAllows } from '../src/orchestrator/api-tokens.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const pgSkip = await postgresUnavailable();
if (pgSkip !== undefined && process.env['CI'] === 'true') throw new Error(pgSkip);
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(drops.map((drop) => drop()));
});

const STORES: readonly { name: string; skip: string | undefined; open(): Promise<RunStore> }[] = [
  {
    name: 'embedded',
    skip: undefined,
    open: async () => RunStore.open(join(await tempDir(), 'sluice.db')),
  },
  {
    name: 'postgres',
    skip: pgSkip,
    open: async () => {
      const db = await createTestDatabase();
      drops.push(db.drop);
      return RunStore.open(db.url);
    },
  },
];

describe('roles', () => {
  it('orders read < trigger < admin and parses only those', () => {
    expect(roleAllows('admin', 'trigger')).toBe(true);
    expect(roleAllows('trigger', 'read')).toBe(true);
    expect(roleAllows('trigger', 'admin')).toBe(false);
    expect(roleAllows('read', 'trigger')).toBe(false);
    expect(parseRole('read')).toBe('read');
    expect(() => parseRole('Admin')).toThrow(/"Admin" is not a role/);
  });
});

for (const kind of STORES)
  describe.skipIf(kind.skip !== undefined)(`API tokens in the ${kind.name} run store`, () => {
    it('stores digests only, authenticates, notes the last use, revokes', async () => {
      const store = await kind.open();
      try {
        const tokens = new APITokens(store);
        expect(await tokens.any()).toBe(false);
        const { token, record } = await tokens.create('ci', 'trigger');
        expect(record).toMatchObject({ name: 'ci', role: 'trigger', lastUsedAt: undefined });
        await expect(tokens.create('ci', 'admin')).rejects.toThrow(/named "ci" exists already/);
        await expect(tokens.create('env', 'admin')).rejects.toThrow(/SLUICE_API_TOKEN/);
        await expect(tokens.create('a b', 'read')).rejects.toThrow(/not a token name/);
        expect(await tokens.any()).toBe(true);
        expect(JSON.stringify(await store.db.all('SELECT * FROM api_tokens'))).not.toContain(token);

        expect(await tokens.authenticate(`${token}x`)).toBeUndefined();
        expect(await tokens.authenticate('sluice_')).toBeUndefined();
        expect(await tokens.authenticate(token.slice(7))).toBeUndefined();
        expect(await tokens.authenticate(token)).toMatchObject({ name: 'ci', role: 'trigger' });
        const [listed] = await tokens.list();
        expect(listed?.lastUsedAt).toBeGreaterThan(0);

        expect(await tokens.revoke('ci')).toBe(true);
        expect(await tokens.revoke('ci')).toBe(false);
        expect(await tokens.authenticate(token)).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('records the actor of a view on control events, and none without one', async () => {
      const store = await kind.open();
      try {
        const [run] = await store
          .withActor('ops')
          .enqueueRuns([{ pipeline: 'p', trigger: 'manual' }]);
        await store.enqueueRuns([{ pipeline: 'p', trigger: 'manual' }]);
        await store.withActor('ops').requestCancel(run?.id ?? '');
        await store.withActor('ops').setPaused('p', true);
        const events = (await store.listEvents()).map((e) => [e.kind, e.data['actor']]).reverse();
        // A single queued run carries the event, so run-show says who queued it.
        expect((await store.listEvents({ runId: run?.id ?? '' })).map((e) => e.kind)).toEqual([
          'run.canceled',
          'runs.queued',
        ]);
        expect(events).toEqual([
          ['runs.queued', 'ops'],
          ['runs.queued', undefined],
          ['run.canceled', 'ops'],
          ['pipeline.paused', 'ops'],
        ]);
      } finally {
        await store.close();
      }
    });
  });
