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
 * Reads a request body while counting its bytes as they arrive, so a chunked upload with no
 * `Content-Length` cannot grow the server's memory past `maxBytes`: at the limit the read stops
 * and resolves to `undefined` (answer 413). A declared length over the limit is refused without
 * reading.
 *
 * @example
 * ```ts
 * const body = await readBodyWithin(c.req.raw, 10 * 1024 * 1024);
 * if (body === undefined) return c.json({ error: 'too large' }, 413);
 * ```
 */
export async function readBodyWithin(
  request: Request,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) return undefined;
  if (request.body === null) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
