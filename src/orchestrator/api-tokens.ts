import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditLog } from './audit-log.js';
import { UsageError } from '../core/errors.js';
import type { RunStore } from './run-store.js';

/**
 * What a token of the HTTP API may do: `read` the GET endpoints; `trigger` also queue runs and
 * post webhooks; `admin` everything (cancel, pause, backfill).
 */
export type APITokenRole = 'read' | 'trigger' | 'admin';

/**
 * The roles, weakest first: a role may do what every role before it may.
 *
 * @example
 * ```ts
 * API_TOKEN_ROLES.join(', '); // "read, trigger, admin"
 * ```
 */
export const API_TOKEN_ROLES: readonly APITokenRole[] = ['read', 'trigger', 'admin'];

/** A stored API token: its name and role, never the token. */
export interface APITokenRecord {
  readonly name: string;
  readonly role: APITokenRole;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Epoch milliseconds of the last request it authorised (kept to the minute), if any. */
  readonly lastUsedAt: number | undefined;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const PREFIX = 'sluice_';
/** A token's last use is written at most this often, so requests do not each write. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Whether `role` may do what `needed` allows (`admin` may do everything).
 *
 * @example
 * ```ts
 * roleAllows('trigger', 'read'); // true
 * roleAllows('read', 'admin'); // false
 * ```
 */
export function roleAllows(role: APITokenRole, needed: APITokenRole): boolean {
  return API_TOKEN_ROLES.indexOf(role) >= API_TOKEN_ROLES.indexOf(needed);
}

/**
 * Parses a role given on the command line or in a request.
 *
 * @example
 * ```ts
 * parseRole('admin'); // 'admin'
 * ```
 */
export function parseRole(text: string): APITokenRole {
  if ((API_TOKEN_ROLES as readonly string[]).includes(text)) return text as APITokenRole;
  throw new UsageError(`"${text}" is not a role`, {
    hint: `use one of ${API_TOKEN_ROLES.join(', ')}`,
  });
}

/**
 * The named API tokens of `sluice serve --http`, kept in the run store as sha256 digests: a
 * token is shown once, when it is created, and cannot be read back. Tokens are 32 random bytes
 * (base64url, prefixed `sluice_`), so a digest lookup is as good as a comparison of secrets; the
 * digest found is still compared in constant time.
 *
 * @example
 * ```ts
 * const tokens = new APITokens(store);
 * const { token } = await tokens.create('deploy-bot', 'trigger'); // show it once
 * (await tokens.authenticate(token))?.role; // 'trigger'
 * ```
 */
export class APITokens {
  readonly #store: RunStore;

  constructor(store: RunStore) {
    this.#store = store;
  }

  /** Creates a token; refuses a name in use. Resolves to the token (shown once) and its record. */
  async create(
    name: string,
    role: APITokenRole,
  ): Promise<{ readonly token: string; readonly record: APITokenRecord }> {
    if (!NAME.test(name))
      throw new UsageError(`"${name}" is not a token name`, {
        hint: 'use letters, digits, ".", "_" and "-" (at most 64)',
      });
    if (name === 'env')
      throw new UsageError('"env" is the name of the $SLUICE_API_TOKEN token', {
        hint: 'choose another name',
      });
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const createdAt = Date.now();
    const inserted = await this.#store.db.transaction(async (tx) => {
      const count = await tx.run(
        `INSERT INTO api_tokens (name, token_sha256, role, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING`,
        [name, digest(token), role, createdAt],
      );
      // The name and role only: never the token or its digest.
      if (count > 0)
        await new AuditLog(tx).append({
          actor: this.#store.auditActor,
          action: 'token.create',
          detail: { token: name, role },
        });
      return count;
    });
    if (inserted === 0)
      throw new UsageError(`a token named "${name}" exists already`, {
        hint: `revoke it first (sluice tokens revoke ${name}) or choose another name`,
      });
    return { token, record: { name, role, createdAt, lastUsedAt: undefined } };
  }

  /** Every token, by name. */
  async list(): Promise<APITokenRecord[]> {
    const rows = await this.#store.db.all('SELECT * FROM api_tokens ORDER BY name');
    return rows.map((row) => ({
      name: String(row['name']),
      role: String(row['role']) as APITokenRole,
      createdAt: Number(row['created_at']),
      lastUsedAt: row['last_used_at'] === null ? undefined : Number(row['last_used_at']),
    }));
  }

  /** Deletes a token; false when there was none of that name. */
  async revoke(name: string): Promise<boolean> {
    return this.#store.db.transaction(async (tx) => {
      const deleted = await tx.run('DELETE FROM api_tokens WHERE name = ?', [name]);
      if (deleted > 0)
        await new AuditLog(tx).append({
          actor: this.#store.auditActor,
          action: 'token.revoke',
          detail: { token: name },
        });
      return deleted > 0;
    });
  }

  /** Whether any token exists (then the API requires one). */
  async any(): Promise<boolean> {
    return (await this.#store.db.all('SELECT 1 AS x FROM api_tokens LIMIT 1')).length > 0;
  }

  /**
   * The token's record when `token` is a stored token (and notes its use), else undefined.
   */
  async authenticate(token: string): Promise<APITokenRecord | undefined> {
    if (!token.startsWith(PREFIX) || token.length > 200) return undefined;
    const wanted = digest(token);
    const [row] = await this.#store.db.all('SELECT * FROM api_tokens WHERE token_sha256 = ?', [
      wanted,
    ]);
    if (row === undefined) return undefined;
    const stored = Buffer.from(String(row['token_sha256']));
    const given = Buffer.from(wanted);
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
    const now = Date.now();
    const lastUsedAt = row['last_used_at'] === null ? undefined : Number(row['last_used_at']);
    if (lastUsedAt === undefined || now - lastUsedAt >= LAST_USED_RESOLUTION_MS)
      await this.#store.db.run('UPDATE api_tokens SET last_used_at = ? WHERE name = ?', [
        now,
        String(row['name']),
      ]);
    return {
      name: String(row['name']),
      role: String(row['role']) as APITokenRole,
      createdAt: Number(row['created_at']),
      lastUsedAt: now,
    };
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
