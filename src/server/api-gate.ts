import type { Context } from 'hono';
import { ConfigError } from '../core/errors.js';
import type { APITokenRole } from '../orchestrator/api-tokens.js';
import { roleAllows } from '../orchestrator/api-tokens.js';
import type { RunStore } from '../orchestrator/run-store.js';
import type { Principal } from './api-auth.js';
import { ANONYMOUS, APIAuth, auditActorOf } from './api-auth.js';
import { RateLimiter } from './request-limits.js';

/** Options of {@link createAPIGate}. */
export interface APIGateOptions {
  readonly store: RunStore;
  /** An `admin` token named `env` (what `$SLUICE_API_TOKEN` sets). */
  readonly token?: string;
  /** Requests a second each token may make, sustained (default 100). */
  readonly requestsPerSecond?: number;
  /** Requests a token may make at once before the sustained rate applies (default 1000). */
  readonly burst?: number;
}

/** The checks every route of an HTTP listener of Sluice makes before it answers. */
export interface APIGate {
  readonly auth: APIAuth;
  /** The principal of a request allowed `needed`, or the response refusing it (401, 403, 429). */
  authorize(c: Context, needed: APITokenRole): Promise<Principal | Response>;
  /** Takes one request of `key`'s rate: undefined, or the 429 to answer. */
  limit(c: Context, key: string): Response | undefined;
  /** The 429 for a client address that failed to authenticate lately, if it did. */
  blocked(c: Context): Response | undefined;
  /** Counts a failed authentication against the request's client address. */
  failed(c: Context): void;
}

/**
 * The token check and rate limits shared by `sluice serve --http` and the `/metrics` listeners
 * of `sluice worker` and `sluice stream`: tokens from the run store and `$SLUICE_API_TOKEN`,
 * roles, a rate per token, and a slow-down of client addresses that fail to authenticate. An
 * empty token is refused (a ConfigError), since it would let every request in.
 *
 * @example
 * ```ts
 * const gate = createAPIGate({ store, token: process.env.SLUICE_API_TOKEN });
 * app.get('/metrics', async (c) => {
 *   const who = await gate.authorize(c, 'read');
 *   return who instanceof Response ? who : c.text('...');
 * });
 * ```
 */
export function createAPIGate(options: APIGateOptions): APIGate {
  if (options.token !== undefined && options.token.trim() === '')
    throw new ConfigError([
      {
        code: 'empty-secret',
        message: 'the API token is empty; an empty token would let every request in',
        hint: 'give SLUICE_API_TOKEN a long random value (e.g. openssl rand -hex 32), or unset it',
      },
    ]);
  const limiter = new RateLimiter({
    perSecond: options.requestsPerSecond ?? 100,
    burst: options.burst ?? 1_000,
  });
  // Failed authentications per client address: a token cannot be guessed at speed.
  const failures = new RateLimiter({ perSecond: 1, burst: 20 });
  const auth = new APIAuth(options.store, options.token);
  const tooMany = (c: Context, seconds: number): Response => {
    c.header('Retry-After', String(seconds));
    return c.json(
      { error: `too many requests; try again in ${seconds} s`, code: 'rate_limited' },
      429,
    );
  };
  const limit = (c: Context, key: string): Response | undefined => {
    const wait = limiter.take(key);
    return wait === undefined ? undefined : tooMany(c, wait);
  };
  const blocked = (c: Context): Response | undefined => {
    const wait = failures.peek(clientAddress(c));
    return wait === undefined ? undefined : tooMany(c, wait);
  };
  const failed = (c: Context): void => void failures.take(clientAddress(c));
  const authorize = async (c: Context, needed: APITokenRole): Promise<Principal | Response> => {
    const header = c.req.header('authorization');
    const who = await auth.authenticate(header);
    // A client address that failed lately is slowed, unless it shows a stored token: those are
    // 256 random bits (never guessed), so clients sharing an address with a guesser (behind one
    // proxy) keep working. $SLUICE_API_TOKEN is chosen by a person, so it is slowed too: even a
    // right guess is answered 429 then.
    const storedToken = typeof who === 'object' && who.name !== 'env' && who.name !== ANONYMOUS;
    if (header !== undefined && header !== '' && !storedToken) {
      const refused = blocked(c);
      if (refused !== undefined) return refused;
    }
    if (who === 'missing' || who === 'invalid') {
      if (who === 'invalid') failed(c);
      return c.json(
        {
          error:
            who === 'missing'
              ? 'a token is required: send "Authorization: Bearer <token>" (sluice tokens create)'
              : 'the token is not valid (unknown, revoked, or not "Bearer <token>")',
          code: 'unauthorized',
        },
        401,
      );
    }
    if (!roleAllows(who.role, needed)) {
      await auditRequest(options.store, c, who, 'api.denied');
      return c.json(
        {
          error: `this needs a token with the "${needed}" role (or a stronger one); token "${who.name}" has "${who.role}"`,
          code: 'forbidden',
        },
        403,
      );
    }
    const limited = limit(c, `token:${who.name}`);
    if (limited !== undefined) return limited;
    // Every use of a token and every anonymous call of the JSON API. Scrapes of /metrics are
    // not recorded, with a token or without: they would add an entry every few seconds and
    // read no dataset.
    if (c.req.path !== '/metrics' && (who.name !== ANONYMOUS || c.req.path.startsWith('/api/')))
      await auditRequest(
        options.store,
        c,
        who,
        c.req.method === 'GET' || c.req.method === 'HEAD' ? 'api.read' : 'api.call',
      );
    return who;
  };
  return { auth, authorize, limit, blocked, failed };
}

/** Appends the audit entry of a request: who, which route, which pipeline or run. */
async function auditRequest(
  store: RunStore,
  c: Context,
  who: Principal,
  action: string,
): Promise<void> {
  const pipeline = c.req.param('name');
  const runId = c.req.param('id');
  await store.audit.append({
    actor: auditActorOf(who),
    action,
    target: {
      ...(pipeline === undefined ? {} : { pipeline: pipeline.slice(0, 1_024) }),
      ...(runId === undefined ? {} : { runId: runId.slice(0, 1_024) }),
    },
    detail: {
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path.slice(0, 1_024),
      role: who.role,
    },
  });
}

function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}
