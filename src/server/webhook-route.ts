import { createHash } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { ConfigError } from '../core/errors.js';
import {
  WEBHOOK_SIGNATURE_HEADER,
  WebhookInbox,
  parseWebhookSignature,
  verifyWebhookSignature,
} from '../connectors/http/webhook-inbox.js';
import type { Principal } from './api-auth.js';
import type { BodyBudget } from './request-limits.js';
import { IDEMPOTENCY_KEY, readBodyWithin, refusedBody } from './request-limits.js';
import type { IdempotentAnswer } from './webhook-receipts.js';
import { WebhookReceipts } from './webhook-receipts.js';

/**
 * Largest webhook body an inbox takes by default (10 MiB).
 *
 * @example
 * ```ts
 * mountWebhooks(app, { ...options, maxBodyBytes: DEFAULT_MAX_WEBHOOK_BYTES / 2 });
 * ```
 */
export const DEFAULT_MAX_WEBHOOK_BYTES = 10 * 1024 * 1024;
/**
 * How far a signature's timestamp may be from the server's clock by default (5 minutes).
 *
 * @example
 * ```ts
 * parseWebhookSignature(header, { toleranceSeconds: DEFAULT_WEBHOOK_TOLERANCE_SECONDS });
 * ```
 */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const INBOX_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Options of {@link mountWebhooks}. */
export interface WebhookRouteOptions {
  readonly stateDir: string;
  /**
   * Checks the request's token for `role` (and its rate limit) before the body is read: the
   * principal, or the response refusing the request.
   */
  readonly authorize: (c: Context, role: 'trigger') => Promise<Principal | Response>;
  /** Checks the rate limit of a signed inbox: undefined, or the 429 response. */
  readonly limit: (c: Context, key: string) => Response | undefined;
  /** The 429 response when the client failed too often lately (bad signatures), else undefined. */
  readonly blocked: (c: Context) => Response | undefined;
  /** Notes a failed authentication of the client (a bad signature). */
  readonly failed: (c: Context) => void;
  /** Environment holding `SLUICE_WEBHOOK_SECRET_<INBOX>` (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Default {@link DEFAULT_MAX_WEBHOOK_BYTES}. */
  readonly maxBodyBytes?: number;
  /** Default {@link DEFAULT_WEBHOOK_TOLERANCE_SECONDS}. */
  readonly toleranceSeconds?: number;
  /** The body bytes all requests may hold at once (503 past it); unbounded when absent. */
  readonly budget?: BodyBudget;
}

/**
 * The environment variable holding an inbox's signing secret: `SLUICE_WEBHOOK_SECRET_<INBOX>`,
 * the name upper-cased with `-` as `_`.
 *
 * @example
 * ```ts
 * webhookSecretVariable('shop-orders'); // "SLUICE_WEBHOOK_SECRET_SHOP_ORDERS"
 * ```
 */
export function webhookSecretVariable(inbox: string): string {
  return `SLUICE_WEBHOOK_SECRET_${inbox.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * Refuses an environment where a webhook secret or `SLUICE_API_TOKEN` is set but empty (an
 * empty key would switch authentication off): a ConfigError naming every such variable.
 *
 * @example
 * ```ts
 * checkSecretsConfigured(process.env); // throws when SLUICE_WEBHOOK_SECRET_ORDERS= is set empty
 * ```
 */
export function checkSecretsConfigured(env: NodeJS.ProcessEnv): void {
  const empty = Object.entries(env)
    .filter(
      ([name, value]) =>
        (name === 'SLUICE_API_TOKEN' || name.startsWith('SLUICE_WEBHOOK_SECRET_')) &&
        (value === undefined || value.trim() === ''),
    )
    .map(([name]) => name)
    .sort();
  if (empty.length > 0)
    throw new ConfigError(
      empty.map((name) => ({
        code: 'empty-secret',
        message: `${name} is set but empty; an empty secret would let every request in`,
        hint: `give ${name} a long random value (e.g. openssl rand -hex 32), or unset it`,
      })),
    );
}

/**
 * Mounts `POST /hooks/:inbox`: the body (one JSON object, an array of objects, or NDJSON with
 * `Content-Type: application/x-ndjson`) is written durably to the inbox as one batch before the
 * answer, 202 `{ inbox, batch, records }`.
 *
 * Checks come before the body is read, cheapest first: the inbox name, the token (or, for an
 * inbox with a secret, the signature header and its timestamp), the rate limit, the declared
 * length; the body is then read while its bytes are counted, and refused (413) at the limit. A
 * signed inbox's rate limit counts only requests whose signature matched; clients whose
 * signatures keep failing are slowed (429) instead.
 *
 * When `SLUICE_WEBHOOK_SECRET_<INBOX>` is set, requests must be signed as Stripe signs:
 * `Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. A timestamp more
 * than the tolerance (default 5 minutes) away is refused (401), and so is a signature accepted
 * before (409: a replay), also after a restart. Otherwise a token with the `trigger` role is
 * required (when the API requires tokens). An `Idempotency-Key` header makes a resent batch
 * answer 200 with the first batch's number, appending nothing (422 when the key comes with a
 * different body).
 *
 * @example
 * ```ts
 * mountWebhooks(app, { stateDir: project.stateDir, authorize, limit, blocked, failed });
 * // curl -X POST -H 'Authorization: Bearer ...' -H 'Content-Type: application/json' -d '[{"id":1}]' localhost:8080/hooks/orders
 * ```
 */
export function mountWebhooks(app: Hono, options: WebhookRouteOptions): void {
  const env = options.env ?? process.env;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BYTES;
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  const inboxes = new Map<string, { inbox: WebhookInbox; receipts: Promise<WebhookReceipts> }>();
  const opened = (name: string) => {
    let entry = inboxes.get(name);
    if (entry === undefined) {
      entry = {
        inbox: WebhookInbox.open(options.stateDir, name),
        receipts: WebhookReceipts.open(options.stateDir, name, toleranceSeconds),
      };
      entry.receipts.catch(() => inboxes.delete(name));
      inboxes.set(name, entry);
    }
    return entry;
  };

  app.post('/hooks/:inbox', async (c) => {
    const name = c.req.param('inbox');
    if (!INBOX_NAME.test(name))
      return c.json(
        {
          error: `"${name.slice(0, 80)}${name.length > 80 ? '...' : ''}" is not a webhook inbox name: use letters, digits, "_" and "-" (at most 64)`,
        },
        404,
      );
    const variable = webhookSecretVariable(name);
    const secret = env[variable];
    let signed: { readonly timestamp: number } | undefined;
    if (secret !== undefined) {
      if (secret.trim() === '')
        return c.json({ error: `${variable} is set but empty; the inbox takes nothing` }, 500);
      const blocked = options.blocked(c);
      if (blocked !== undefined) return blocked;
      const parsed = parseWebhookSignature(c.req.header(WEBHOOK_SIGNATURE_HEADER), {
        toleranceSeconds,
      });
      if (!parsed.ok) {
        options.failed(c);
        return c.json({ error: parsed.reason, code: 'bad_signature' }, 401);
      }
      signed = parsed;
    } else {
      const who = await options.authorize(c, 'trigger');
      if (who instanceof Response) return who;
    }
    const key = c.req.header('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
      return c.json(
        { error: 'the Idempotency-Key header must be 1 to 255 printable ASCII characters' },
        400,
      );

    const read = await readBodyWithin(c.req.raw, maxBodyBytes, options.budget);
    if (read === 'too-large' || read === 'busy')
      return refusedBody(c, read, maxBodyBytes, 'send smaller batches');
    try {
      return await accept(c, name, read.body, secret, signed, key);
    } finally {
      read.release();
    }
  });

  /** Verifies, parses and appends a body read within the limits. */
  async function accept(
    c: Context,
    name: string,
    body: Buffer,
    secret: string | undefined,
    signed: { readonly timestamp: number } | undefined,
    key: string | undefined,
  ): Promise<Response> {
    let signature: { readonly id: string; readonly timestamp: number } | undefined;
    if (secret !== undefined && signed !== undefined) {
      const checked = verifyWebhookSignature(secret, body, c.req.header(WEBHOOK_SIGNATURE_HEADER), {
        toleranceSeconds,
      });
      if (!checked.ok) {
        options.failed(c);
        return c.json({ error: checked.reason, code: 'bad_signature' }, 401);
      }
      // Only verified requests count against the inbox's rate, so forged ones cannot exhaust it.
      const limited = options.limit(c, `hook:${name}`);
      if (limited !== undefined) return limited;
      signature = { id: checked.signature, timestamp: checked.timestamp };
    }
    const records = parseRecords(body.toString('utf8'), c.req.header('content-type') ?? '');
    if (typeof records === 'string') return c.json({ error: records }, 400);

    const { inbox, receipts: opening } = opened(name);
    const receipts = await opening;
    if (signature !== undefined && !receipts.reserveSignature(signature.id, signature.timestamp))
      return c.json(
        {
          error:
            'this signed request was accepted before (a replay); sign each new request with its own timestamp',
          code: 'replayed',
        },
        409,
      );
    try {
      const digest = createHash('sha256').update(body).digest('hex');
      const append = async (): Promise<IdempotentAnswer> => {
        const batch = records.count === 0 ? null : await inbox.appendNDJSON(records.ndjson);
        const answer = { digest, batch, records: records.count };
        await receipts.record({
          ...(signature === undefined ? {} : { signature }),
          ...(key === undefined ? {} : { key: { key, answer } }),
        });
        return answer;
      };
      if (key === undefined) {
        const answer = await append();
        return c.json(
          {
            inbox: name,
            ...(answer.batch === null ? {} : { batch: answer.batch }),
            records: answer.records,
          },
          202,
        );
      }
      const { answer, first } = await receipts.withKey(key, append);
      if (first)
        return c.json(
          {
            inbox: name,
            ...(answer.batch === null ? {} : { batch: answer.batch }),
            records: answer.records,
          },
          202,
        );
      if (signature !== undefined) receipts.release(signature.id);
      if (answer.digest !== digest)
        return c.json(
          {
            error:
              'this Idempotency-Key came before with a different body; use a new key for a new batch',
            code: 'idempotency_conflict',
          },
          422,
        );
      return c.json(
        {
          inbox: name,
          ...(answer.batch === null ? {} : { batch: answer.batch }),
          records: answer.records,
          duplicate: true,
        },
        200,
      );
    } catch (error) {
      if (signature !== undefined) receipts.release(signature.id);
      throw error;
    }
  }
}

/** The records of a body as NDJSON lines and their count, or why the body is not acceptable. */
function parseRecords(
  text: string,
  contentType: string,
): { readonly ndjson: string; readonly count: number } | string {
  const pieces: string[] = [];
  let lines: string[] = [];
  let count = 0;
  const take = (record: unknown): string | undefined => {
    if (typeof record !== 'object' || record === null || Array.isArray(record))
      return 'every record must be a JSON object';
    lines.push(`${JSON.stringify(record)}\n`);
    count += 1;
    if (lines.length === 10_000) {
      pieces.push(lines.join(''));
      lines = [];
    }
    return undefined;
  };
  const ndjson = contentType.includes('ndjson');
  const values = ndjson ? text.split('\n').filter((line) => line.trim() !== '') : [text];
  for (const [index, value] of values.entries()) {
    const problem = eachRecord(value, take);
    if (problem === 'malformed')
      return ndjson && values.length > 1
        ? `line ${index + 1} is not valid JSON`
        : 'the body must be JSON: an object, an array of objects, or NDJSON lines (Content-Type: application/x-ndjson)';
    if (problem !== undefined) return problem;
  }
  pieces.push(lines.join(''));
  return { ndjson: pieces.join(''), count };
}

/**
 * Calls `take` with each record of one JSON value: the value itself, or each element of an
 * array. An array is split into its elements by a scan of the text and each is parsed alone, so
 * a large array of small objects never exists as objects all at once (a 10 MB body of `{}` would
 * take some 400 MB that way). Resolves to `malformed`, to what `take` refused, or undefined.
 */
function eachRecord(
  text: string,
  take: (record: unknown) => string | undefined,
): string | 'malformed' | undefined {
  const start = skipSpace(text, 0);
  if (text.charCodeAt(start) !== 0x5b /* [ */) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return 'malformed';
    }
    return take(value);
  }
  let i = skipSpace(text, start + 1);
  if (text.charCodeAt(i) === 0x5d /* ] */)
    return skipSpace(text, i + 1) === text.length ? undefined : 'malformed';
  for (;;) {
    const from = i;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (inString) {
        if (ch === 0x5c /* \ */) i++;
        else if (ch === 0x22 /* " */) inString = false;
        continue;
      }
      if (ch === 0x22) inString = true;
      else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) depth++;
      else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
        if (depth === 0) break;
        depth--;
      } else if (ch === 0x2c /* , */ && depth === 0) break;
    }
    if (i >= text.length) return 'malformed';
    let value: unknown;
    try {
      value = JSON.parse(text.slice(from, i));
    } catch {
      return 'malformed';
    }
    const refused = take(value);
    if (refused !== undefined) return refused;
    const ch = text.charCodeAt(i);
    if (ch === 0x2c) {
      i++;
      continue;
    }
    if (ch !== 0x5d) return 'malformed';
    return skipSpace(text, i + 1) === text.length ? undefined : 'malformed';
  }
}

/** The index of the first character at or after `i` that is not JSON whitespace. */
function skipSpace(text: string, i: number): number {
  let at = i;
  for (; at < text.length; at++) {
    const ch = text.charCodeAt(at);
    if (ch !== 0x20 && ch !== 0x09 && ch !== 0x0a && ch !== 0x0d) break;
  }
  return at;
}
