import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEngine } from '../src/orchestrator/alert-engine.js';
import { AlertStore } from '../src/orchestrator/alert-store.js';
import { AuditLog } from '../src/orchestrator/audit-log.js';
import type { RunStore } from '../src/orchestrator/run-store.js';
import type { AttemptOutcome } from '../src/orchestrator/run-types.js';
import type { APIHarness, JSONValue } from './api-v1-harness.js';
import { apiDialects, expectError, startAPIHarness } from './api-v1-harness.js';

const DIALECTS = await apiDialects();

const failed: AttemptOutcome = {
  state: 'failed',
  retryable: false,
  error: { code: 'SOURCE_FAILED', message: 'the orders API answered 500' },
};

/** Enqueues, claims and finishes one run of `pipeline`. */
async function finishRun(
  store: RunStore,
  pipeline: string,
  outcome: AttemptOutcome,
): Promise<void> {
  await store.enqueueRuns([{ pipeline, trigger: 'manual', maxAttempts: 1 }]);
  const claim = await store.claimRun('worker', 30_000, [pipeline]);
  if (claim === undefined) throw new Error(`no claimable run of ${pipeline}`);
  await store.finishAttempt(claim.run.id, claim.fencingToken, outcome);
  // The rules read the newest finished run: the next one must finish a millisecond later.
  const now = Date.now();
  while (Date.now() === now) await new Promise((resolve) => setImmediate(resolve));
}

const PIPELINES = ['orders', 'billing', 'refunds', 'ledger'];

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip !== undefined)(`/api/v1 alerts on ${dialect.name}`, () => {
    let h: APIHarness;
    let engine: AlertEngine;

    beforeAll(async () => {
      h = await startAPIHarness(dialect.name);
      engine = new AlertEngine({
        store: h.store,
        config: {},
        pipelines: async () =>
          PIPELINES.map((name) => ({
            name,
            owners: ['data-eng'],
            rules: [{ kind: 'run_failed' as const }],
          })),
        instance: 'api-test',
      });
      // Every pipeline fails: four incidents fire.
      for (const name of PIPELINES) await finishRun(h.store, name, failed);
      await engine.evaluate();
      // billing, refunds and ledger succeed again, one pass each: three resolve, in that order.
      for (const name of ['billing', 'refunds', 'ledger']) {
        await finishRun(h.store, name, { state: 'success' });
        await engine.evaluate();
      }
    }, 60_000);

    afterAll(async () => {
      await h?.close();
    });

    it('GET /alerts: the firing incident, resolved history newest first, no silences', async () => {
      const { status, body } = await h.call('/api/v1/alerts', { token: h.tokens.read });
      expect(status).toBe(200);
      const firing = body['firing'] as JSONValue[];
      expect(firing).toHaveLength(1);
      expect(firing[0]).toMatchObject({
        rule: 'run_failed',
        state: 'firing',
        labels: expect.objectContaining({ pipeline: 'orders' }),
        resolvedAt: null,
      });
      expect(firing[0]?.['id']).toMatch(/^[0-9a-f]{6,}$/);
      expect(typeof firing[0]?.['since']).toBe('number');
      expect(typeof firing[0]?.['summary']).toBe('string');
      const history = body['history'] as JSONValue[];
      expect(history.map((i) => (i['labels'] as JSONValue)['pipeline'])).toEqual([
        'ledger',
        'refunds',
        'billing',
      ]);
      for (const incident of history) {
        expect(incident['state']).toBe('resolved');
        expect(incident['resolvedAt']).toBeGreaterThanOrEqual(incident['since'] as number);
      }
      expect(body['nextCursor']).toBeNull();
      expect(body['silences']).toEqual([]);
      // The overview's firing alerts are the same incident.
      const overview = await h.call('/api/v1/overview', { token: h.tokens.read });
      expect((overview.body['firingAlerts'] as JSONValue[]).map((a) => a['id'])).toEqual([
        firing[0]?.['id'],
      ]);
    });

    it('GET /alerts pages the history by cursor, with no repeat and no gap', async () => {
      const all = (await h.call('/api/v1/alerts')).body['history'] as JSONValue[];
      const seen: unknown[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const answer: { status: number; body: JSONValue } = await h.call(
          `/api/v1/alerts?limit=1${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
        );
        expect(answer.status).toBe(200);
        seen.push(...(answer.body['history'] as JSONValue[]).map((i) => i['id']));
        cursor = answer.body['nextCursor'] as string | null;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(seen).toEqual(all.map((i) => i['id']));
      expect(pages).toBe(3);
    });

    it('GET /alerts refuses bad limits and cursors with 400', async () => {
      for (const query of ['limit=0', 'limit=501', 'limit=abc', 'limit=1.5'])
        expectError(await h.call(`/api/v1/alerts?${query}`), 400, 'bad_request', /limit/);
      for (const cursor of ['nope!', 'WzFd', Buffer.from('["x","y"]').toString('base64url')])
        expectError(
          await h.call(`/api/v1/alerts?cursor=${encodeURIComponent(cursor)}`),
          400,
          'bad_request',
          /cursor/,
        );
    });

    it('POST /silences creates a silence (201) an admin can expire; both are audited', async () => {
      const until = Date.now() + 3_600_000;
      const created = await h.call('/api/v1/silences', {
        method: 'POST',
        body: JSON.stringify({
          matchers: [
            { name: 'pipeline', value: 'orders' },
            { name: 'severity', value: 'critical|warning', isRegex: true },
            { name: 'owner', value: 'a,b' },
          ],
          until,
          comment: 'source migration',
        }),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toEqual({
        id: expect.stringMatching(/^sil_/),
        matchers: [
          { name: 'pipeline', value: 'orders', isRegex: false, isEqual: true },
          { name: 'severity', value: 'critical|warning', isRegex: true, isEqual: true },
          { name: 'owner', value: 'a,b', isRegex: false, isEqual: true },
        ],
        startsAt: expect.any(Number),
        endsAt: until,
        comment: 'source migration',
        createdBy: 'operator',
      });
      const id = created.body['id'] as string;
      // The engine reads it back as a mute, and the list shows it.
      const active = await new AlertStore(h.store.db).activeSilences(Date.now());
      expect(active.map((s) => s.id)).toContain(id);
      const listed = await h.call('/api/v1/alerts', { token: h.tokens.read });
      expect((listed.body['silences'] as JSONValue[]).map((s) => s['id'])).toContain(id);
      // An ISO time works too, and a negated matcher.
      const iso = await h.call('/api/v1/silences', {
        method: 'POST',
        body: JSON.stringify({
          matchers: [{ name: 'pipeline', value: 'tmp_.*', isRegex: true, isEqual: false }],
          until: new Date(until).toISOString(),
        }),
      });
      expect(iso.status).toBe(201);
      expect(iso.body).toMatchObject({
        endsAt: until,
        comment: null,
        matchers: [{ name: 'pipeline', value: 'tmp_.*', isRegex: true, isEqual: false }],
      });
      // Expire it: gone from the list; a second expiry is 404.
      const expired = await h.call(`/api/v1/silences/${id}/expire`, { method: 'POST' });
      expect(expired).toEqual({ status: 200, body: { id, expired: true } });
      const after = await h.call('/api/v1/alerts');
      expect((after.body['silences'] as JSONValue[]).map((s) => s['id'])).not.toContain(id);
      expectError(
        await h.call(`/api/v1/silences/${id}/expire`, { method: 'POST' }),
        404,
        'not_found',
        /no active silence/,
      );
      const audit = await new AuditLog(h.store.db).list({});
      const mine = audit.filter(
        (e) => e.action.startsWith('alert.') && JSON.stringify(e.detail).includes(id),
      );
      expect(mine.map((e) => [e.action, e.actor]).sort()).toEqual([
        ['alert.silence', 'token:operator'],
        ['alert.unsilence', 'token:operator'],
      ]);
    });

    it('silencing needs admin: read and trigger get 403, no token 401', async () => {
      const body = JSON.stringify({
        matchers: [{ name: 'pipeline', value: 'orders' }],
        until: Date.now() + 60_000,
      });
      for (const token of [h.tokens.read, h.tokens.trigger]) {
        expectError(
          await h.call('/api/v1/silences', { method: 'POST', body, token }),
          403,
          'forbidden',
        );
        expectError(
          await h.call('/api/v1/silences/sil_x/expire', { method: 'POST', token }),
          403,
          'forbidden',
        );
      }
      expectError(
        await h.call('/api/v1/silences', { method: 'POST', body, token: null }),
        401,
        'unauthorized',
      );
      expectError(await h.call('/api/v1/alerts', { token: null }), 401, 'unauthorized');
      const active = await new AlertStore(h.store.db).activeSilences(Date.now());
      expect(active.filter((s) => s.matchers.some((m) => m.value === 'orders'))).toEqual([]);
    });

    it('hostile matchers and times are 400 naming the field, and store nothing', async () => {
      const silencesBefore = (await new AlertStore(h.store.db).activeSilences(Date.now())).length;
      const post = (body: unknown): Promise<{ status: number; body: JSONValue }> =>
        h.call('/api/v1/silences', {
          method: 'POST',
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
      const later = Date.now() + 60_000;
      const cases: [unknown, RegExp][] = [
        [
          { matchers: [{ name: 'a', value: '(a+)+', isRegex: true }], until: later },
          /matchers\.0.*nests quantifiers/,
        ],
        [
          { matchers: [{ name: 'a', value: '(x*)*$', isRegex: true }], until: later },
          /matchers\.0.*nests quantifiers/,
        ],
        [
          { matchers: [{ name: 'a', value: '[unclosed', isRegex: true }], until: later },
          /matchers\.0.*not a regular expression/,
        ],
        [
          { matchers: [{ name: 'a', value: 'x'.repeat(300), isRegex: true }], until: later },
          /matchers\.0.*too long/,
        ],
        [
          {
            matchers: [
              { name: 'ok', value: 'x' },
              { name: 'bad name', value: 'x' },
            ],
            until: later,
          },
          /matchers\.1\.name.*not a label name/,
        ],
        [{ matchers: [{ name: '1a', value: 'x' }], until: later }, /matchers\.0\.name/],
        [{ matchers: [{ name: 'a=b', value: 'x' }], until: later }, /matchers\.0\.name/],
        [{ matchers: [{ name: 'a', value: ' padded ' }], until: later }, /matchers\.0\.value/],
        [{ matchers: [{ name: 'a', value: '"q,"' }], until: later }, /matchers\.0\.value/],
        [{ matchers: [], until: later }, /matchers/],
        [{ matchers: [{ name: 'a' }], until: later }, /matchers\.0\.value/],
        [{ matchers: [{ name: 'a', value: 'x', isRegex: 'yes' }], until: later }, /isRegex/],
        [
          { matchers: [{ name: 'a', value: 'x' }], until: Date.now() - 1_000 },
          /until.*not in the future/,
        ],
        [{ matchers: [{ name: 'a', value: 'x' }], until: 'tomorrow' }, /until/],
        [{ matchers: [{ name: 'a', value: 'x' }], until: 1e300 }, /until/],
        [{ matchers: [{ name: 'a', value: 'x' }] }, /until/],
        [{ matchers: [{ name: 'a', value: 'x' }], until: later, comment: 5 }, /comment/],
        ['{not json', /JSON/],
        ['[]', /object/],
      ];
      for (const [body, message] of cases)
        expectError(await post(body), 400, 'bad_request', message);
      expect((await new AlertStore(h.store.db).activeSilences(Date.now())).length).toBe(
        silencesBefore,
      );
    });

    it('a silence body over the limit is 413 too_large', async () => {
      const answer = await h.call('/api/v1/silences', {
        method: 'POST',
        body: JSON.stringify({
          matchers: [{ name: 'a', value: 'x' }],
          until: Date.now() + 60_000,
          comment: 'x'.repeat(2 * 1024 * 1024),
        }),
      });
      expectError(answer, 413, 'too_large');
    });

    it('hostile silence ids are 404 or 400, never a 500', async () => {
      for (const id of ["sil_x' OR '1'='1", '%2e%2e%2f', 'x'.repeat(200), 'ünï']) {
        const answer = await h.call(`/api/v1/silences/${encodeURIComponent(id)}/expire`, {
          method: 'POST',
        });
        expectError(answer, 404, 'not_found');
      }
      expectError(
        await h.call(`/api/v1/silences/${'x'.repeat(300)}/expire`, { method: 'POST' }),
        400,
        'bad_request',
      );
      expectError(
        await h.call('/api/v1/silences/a%00b/expire', { method: 'POST' }),
        400,
        'bad_request',
        /control character/,
      );
    });
  });

describe('/api/v1 silences without tokens', () => {
  let h: APIHarness;

  beforeAll(async () => {
    h = await startAPIHarness('embedded SQLite', { tokens: false });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('an anonymous request on loopback is admin: it may silence, recorded as anonymous', async () => {
    const created = await h.call('/api/v1/silences', {
      method: 'POST',
      body: JSON.stringify({
        matchers: [{ name: 'pipeline', value: 'x' }],
        until: Date.now() + 60_000,
      }),
    });
    expect(created.status).toBe(201);
    expect(created.body['createdBy']).toBe('anonymous');
    const [entry] = (await new AuditLog(h.store.db).list({})).filter((e) =>
      e.action.startsWith('alert.'),
    );
    expect(entry).toMatchObject({ action: 'alert.silence', actor: 'anonymous' });
    const alerts = await h.call('/api/v1/alerts');
    expect(alerts.status).toBe(200);
    expect(alerts.body).toMatchObject({ firing: [], history: [], nextCursor: null });
  });
});
