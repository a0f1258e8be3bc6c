import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookReceipts } from './webhook-receipts.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-receipts-'));
  dirs.push(dir);
  return dir;
}
const file = (dir: string) => join(dir, 'inbox', '.receipts', 'orders.ndjson');
const now = () => Math.floor(Date.now() / 1000);

describe('webhook receipts', () => {
  it('remember signatures and keys across a reopen, and a line cut short loses nothing after it', async () => {
    const dir = await stateDir();
    const receipts = await WebhookReceipts.open(dir, 'orders', 300);
    expect(receipts.reserveSignature('a'.repeat(64), now())).toBe(true);
    expect(receipts.reserveSignature('a'.repeat(64), now())).toBe(false);
    await receipts.record({ signature: { id: 'a'.repeat(64), timestamp: now() } });
    await appendFile(file(dir), '{"s":"cut'); // a crash in the middle of a line
    const reopened = await WebhookReceipts.open(dir, 'orders', 300);
    expect(reopened.reserveSignature('a'.repeat(64), now())).toBe(false);
    const answer = { digest: 'd', batch: '0000000000000001', records: 2 };
    await reopened.record({
      signature: { id: 'b'.repeat(64), timestamp: now() },
      key: { key: 'k1', answer },
    });
    const third = await WebhookReceipts.open(dir, 'orders', 300);
    expect(third.reserveSignature('b'.repeat(64), now())).toBe(false);
    let ran = false;
    const again = await third.withKey('k1', async () => {
      ran = true;
      return answer;
    });
    expect({ ran, first: again.first, answer: again.answer }).toEqual({
      ran: false,
      first: false,
      answer,
    });
  });

  it('forget signatures past the tolerance and compact the file', async () => {
    const dir = await stateDir();
    const receipts = await WebhookReceipts.open(dir, 'orders', 1);
    const old = now() - 60;
    for (let i = 0; i < 1_200; i++)
      await receipts.record({
        signature: { id: i.toString(16).padStart(64, '0'), timestamp: old },
      });
    await receipts.record({ signature: { id: 'f'.repeat(64), timestamp: now() } });
    const lines = (await readFile(file(dir), 'utf8')).split('\n').filter((l) => l !== '');
    expect(lines.length).toBeLessThan(300);
    const reopened = await WebhookReceipts.open(dir, 'orders', 300);
    expect(reopened.reserveSignature('f'.repeat(64), now())).toBe(false);
    // An expired signature is refused by its timestamp anyway; the store no longer holds it.
    expect(reopened.reserveSignature('0'.repeat(64), old)).toBe(true);
  });

  it('runs one request per idempotency key when copies arrive together', async () => {
    const receipts = await WebhookReceipts.open(await stateDir(), 'orders', 300);
    let runs = 0;
    const work = async () => {
      runs += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return { digest: 'd', batch: '0000000000000007', records: 1 };
    };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => receipts.withKey('k', work)),
    );
    expect(runs).toBe(1);
    expect(results.filter((r) => r.first)).toHaveLength(1);
    expect(new Set(results.map((r) => r.answer.batch))).toEqual(new Set(['0000000000000007']));
  });
});

describe('webhook receipts, bounded', () => {
  it('remember at most maxKeys idempotency keys, the newest, across a reopen', async () => {
    const dir = await stateDir();
    const receipts = await WebhookReceipts.open(dir, 'orders', 300, { maxKeys: 3 });
    for (const key of ['k1', 'k2', 'k3', 'k4'])
      await receipts.withKey(key, async () => {
        const answer = { digest: key, batch: null, records: 0 };
        await receipts.record({ key: { key, answer } });
        return answer;
      });
    const reopened = await WebhookReceipts.open(dir, 'orders', 300, { maxKeys: 3 });
    const first = async (r: WebhookReceipts, key: string) =>
      (await r.withKey(key, async () => ({ digest: 'new', batch: null, records: 0 }))).first;
    expect(await first(receipts, 'k1')).toBe(true); // forgotten: taken as new
    expect(await first(reopened, 'k4')).toBe(false);
    expect(await first(reopened, 'k2')).toBe(false);
  });
});
