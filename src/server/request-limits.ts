import type { Context } from 'hono';
/**
 * A token bucket per key (an API token's name, an inbox, a client address): each key may make
 * `burst` requests at once and `perSecond` a second after that. The map of buckets is bounded;
 * the least recently used bucket is forgotten first (it was full again anyway).
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ perSecond: 50, burst: 200 });
 * const wait = limiter.take('deploy-bot'); // undefined: go on; else seconds to wait (Retry-After)
 * ```
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #maxKeys: number;

  constructor(options: {
    readonly perSecond: number;
    readonly burst: number;
    readonly maxKeys?: number;
  }) {
    this.#perSecond = options.perSecond;
    this.#burst = Math.max(1, options.burst);
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** The seconds to wait when `key`'s bucket is empty now, else undefined; takes nothing. */
  peek(key: string, now: number = Date.now()): number | undefined {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return undefined;
    const tokens = Math.min(
      this.#burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond,
    );
    return tokens >= 1 ? undefined : Math.max(1, Math.ceil((1 - tokens) / this.#perSecond));
  }

  /** Takes one request from `key`'s bucket: undefined when allowed, else the seconds to wait. */
  take(key: string, now: number = Date.now()): number | undefined {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    this.#buckets.delete(key);
    bucket.tokens = Math.min(
      this.#burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond,
    );
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perSecond));
  }
}

/**
 * The bytes of request bodies the server holds at once, across requests: a body is counted as
 * it arrives and until its request is answered, so many large uploads at once (each within its
 * own limit) cannot add up past this; a request that would is answered 503 with `Retry-After`.
 *
 * @example
 * ```ts
 * const budget = new BodyBudget(128 * 1024 * 1024);
 * const read = await readBodyWithin(c.req.raw, 10 * 1024 * 1024, budget);
 * ```
 */
export class BodyBudget {
  readonly bytes: number;
  #used = 0;

  constructor(bytes: number) {
    this.bytes = bytes;
  }

  /** The bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Holds `n` more bytes: false (and nothing held) when that would pass the budget. */
  take(n: number): boolean {
    if (this.#used + n > this.bytes) return false;
    this.#used += n;
    return true;
  }

  release(n: number): void {
    this.#used = Math.max(0, this.#used - n);
  }
}

/** A body read within its limits; `release()` gives its bytes back to the budget. */
export interface ReadBody {
  readonly body: Buffer;
  release(): void;
}

/**
 * Reads a request body while counting its bytes as they arrive, so a chunked upload with no
 * `Content-Length` cannot grow the server's memory past `maxBytes`: at the limit the read stops
 * and resolves to `too-large` (answer 413). A declared length over the limit is refused without
 * reading. With a {@link BodyBudget}, the bytes are held in it until `release()`, and the read
 * stops with `busy` (answer 503) when the budget is spent.
 *
 * @example
 * ```ts
 * const read = await readBodyWithin(c.req.raw, 10 * 1024 * 1024, budget);
 * if (read === 'too-large') return c.json({ error: 'too large' }, 413);
 * try { use(read.body); } finally { read.release(); }
 * ```
 */
export async function readBodyWithin(
  request: Request,
  maxBytes: number,
  budget?: BodyBudget,
): Promise<ReadBody | 'too-large' | 'busy'> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) return 'too-large';
  if (request.body === null) return { body: Buffer.alloc(0), release: () => undefined };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const stop = async (): Promise<void> => {
    budget?.release(size);
    await reader.cancel().catch(() => undefined);
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      await stop();
      return 'too-large';
    }
    if (budget !== undefined && !budget.take(value.byteLength)) {
      await stop();
      return 'busy';
    }
    size += value.byteLength;
    chunks.push(value);
  }
  let released = false;
  return {
    body: Buffer.concat(chunks, size),
    release: () => {
      if (released) return;
      released = true;
      budget?.release(size);
    },
  };
}

/**
 * The answer to a body {@link readBodyWithin} refused: 413 when it is over `maxBytes` (with
 * `advice` after the reason), 503 with `Retry-After` when the server's body budget is spent.
 * The connection is then closed (see `lingeringClose`), so the rest of the upload is not kept.
 *
 * @example
 * ```ts
 * if (read === 'too-large' || read === 'busy') return refusedBody(c, read, maxBytes, 'send smaller batches');
 * ```
 */
export function refusedBody(
  c: Context,
  refusal: 'too-large' | 'busy',
  maxBytes: number,
  advice?: string,
): Response {
  if (refusal === 'busy') {
    c.header('Retry-After', '1');
    return c.json(
      { error: 'the server is busy reading other bodies; try again', code: 'busy' },
      503,
    );
  }
  return c.json(
    {
      error: `the body is larger than ${maxBytes} bytes${advice === undefined ? '' : `; ${advice}`}`,
      code: 'too_large',
    },
    413,
  );
}

/** What an `Idempotency-Key` header may hold: 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
