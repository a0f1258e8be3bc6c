import { describe, expect, it } from 'vitest';
import { BodyBudget, RateLimiter, readBodyWithin } from './request-limits.js';

/** A POST request whose body arrives in `chunks` pieces of `size` bytes, with no length. */
function chunked(chunks: number, size: number): Request {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) controller.close();
      else {
        sent += 1;
        controller.enqueue(new Uint8Array(size));
      }
    },
  });
  return new Request('http://127.0.0.1/hooks/x', {
    method: 'POST',
    body,
    duplex: 'half',
  } as RequestInit);
}

describe('readBodyWithin', () => {
  it('stops at the limit without a length, and refuses a declared length over it unread', async () => {
    expect(await readBodyWithin(chunked(5, 1000), 4_500)).toBe('too-large');
    const read = await readBodyWithin(chunked(4, 1000), 4_500);
    expect(read !== 'too-large' && read !== 'busy' && read.body.length).toBe(4_000);
    const declared = new Request('http://127.0.0.1/', {
      method: 'POST',
      body: 'x'.repeat(10),
      headers: { 'content-length': '10' },
    });
    expect(await readBodyWithin(declared, 9)).toBe('too-large');
  });

  it('holds bodies in a shared budget until released; past it, busy', async () => {
    const budget = new BodyBudget(3_000);
    const first = await readBodyWithin(chunked(2, 1000), 10_000, budget);
    expect(budget.used).toBe(2_000);
    expect(await readBodyWithin(chunked(2, 1000), 10_000, budget)).toBe('busy');
    expect(budget.used).toBe(2_000); // the refused read gave back what it held
    if (first === 'busy' || first === 'too-large') throw new Error('first read refused');
    first.release();
    first.release(); // twice is once
    expect(budget.used).toBe(0);
    const again = await readBodyWithin(chunked(2, 1000), 10_000, budget);
    expect(again !== 'busy' && again !== 'too-large').toBe(true);
  });
});

describe('RateLimiter', () => {
  it('lets a burst through, then the rate, per key, and says how long to wait', () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 });
    const t = 1_000_000;
    expect([0, 1, 2].map(() => limiter.take('a', t))).toEqual([undefined, undefined, undefined]);
    expect(limiter.take('a', t)).toBe(1);
    expect(limiter.peek('a', t)).toBe(1);
    expect(limiter.take('b', t)).toBeUndefined();
    expect(limiter.take('a', t + 500)).toBeUndefined(); // one more after half a second
    expect(limiter.take('a', t + 500)).toBe(1);
    expect(limiter.peek('unknown', t)).toBeUndefined();
  });

  it('forgets the least recently used keys past its size', () => {
    const limiter = new RateLimiter({ perSecond: 0.001, burst: 1, maxKeys: 2 });
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('c', 0);
    expect(limiter.peek('a', 0)).toBeUndefined(); // forgotten: a full bucket again
    expect(limiter.peek('c', 0)).toBeGreaterThan(0);
  });
});
