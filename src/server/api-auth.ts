import { createHash, timingSafeEqual } from 'node:crypto';
import type { APITokenRole } from '../orchestrator/api-tokens.js';
import { APITokens } from '../orchestrator/api-tokens.js';
import type { RunStore } from '../orchestrator/run-store.js';

/** Who made a request: a token's name (the actor of the events it causes) and its role. */
export interface Principal {
  readonly name: string;
  readonly role: APITokenRole;
}

/**
 * The name a request is recorded under when the API requires no token (loopback, or --insecure).
 *
 * @example
 * ```ts
 * if (principal.name === ANONYMOUS) logger.warn({}, 'an unauthenticated request');
 * ```
 */
export const ANONYMOUS = 'anonymous';

/**
 * The audit log's actor for a request's principal: `token:<name>` (`token:env` for
 * `$SLUICE_API_TOKEN`), or `anonymous` when the API requires no token.
 *
 * @example
 * ```ts
 * auditActorOf({ name: 'deploy-bot', role: 'trigger' }); // "token:deploy-bot"
 * ```
 */
export function auditActorOf(who: Principal): string {
  return who.name === ANONYMOUS ? ANONYMOUS : `token:${who.name}`;
}

/**
 * Authenticates `Authorization: Bearer <token>` headers against `$SLUICE_API_TOKEN` (an `admin`
 * token named `env`) and the tokens of the run store (`sluice tokens create`). When neither
 * exists, every request is let in as `anonymous` with the `admin` role: `sluice serve` refuses
 * to listen beyond loopback in that state unless `--insecure` is given.
 *
 * @example
 * ```ts
 * const auth = new APIAuth(store, process.env.SLUICE_API_TOKEN);
 * const who = await auth.authenticate(c.req.header('authorization')); // Principal | 'missing' | 'invalid'
 * ```
 */
export class APIAuth {
  readonly tokens: APITokens;
  /** sha256 of `$SLUICE_API_TOKEN`: digests compare in constant time whatever the lengths. */
  readonly #envDigest: Buffer | undefined;

  constructor(store: RunStore, envToken: string | undefined) {
    this.tokens = new APITokens(store);
    this.#envDigest = envToken === undefined ? undefined : sha256(envToken);
  }

  /** Whether any token exists, so requests must carry one. */
  async required(): Promise<boolean> {
    return this.#envDigest !== undefined || (await this.tokens.any());
  }

  /**
   * The principal of an `Authorization` header: `missing` when a token is required and none was
   * given, `invalid` when the one given is unknown (or the header is not `Bearer <token>`).
   */
  async authenticate(header: string | undefined): Promise<Principal | 'missing' | 'invalid'> {
    if (header === undefined || header.trim() === '')
      return (await this.required()) ? 'missing' : { name: ANONYMOUS, role: 'admin' };
    const match = /^Bearer +(\S{1,512})\s*$/i.exec(header);
    if (match === null) return 'invalid';
    const token = match[1] as string;
    if (this.#envDigest !== undefined && timingSafeEqual(sha256(token), this.#envDigest))
      return { name: 'env', role: 'admin' };
    const record = await this.tokens.authenticate(token);
    return record === undefined ? 'invalid' : { name: record.name, role: record.role };
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
