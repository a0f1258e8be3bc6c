import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import { WebhookInbox } from '../connectors/http/webhook-inbox.js';

/** Largest request body an inbox takes. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Mounts `POST /hooks/:inbox`: the body (one JSON object, an array of objects, or NDJSON with
 * `Content-Type: application/x-ndjson`) is written durably to the inbox as one batch before the
 * answer, 202 `{ inbox, batch, records }`. When `SLUICE_WEBHOOK_SECRET_<INBOX>` is set (the name
 * upper-cased, `-` as `_`), the request must carry `X-Sluice-Signature-256: sha256=<hex HMAC of
 * the body>` (GitHub's `X-Hub-Signature-256` is accepted too); otherwise the API's bearer token
 * applies when one is set.
 *
 * @example
 * ```ts
 * mountWebhooks(app, { stateDir: project.stateDir, token: process.env.SLUICE_API_TOKEN });
 * // curl -X POST -H 'Content-Type: application/json' -d '[{"id":1}]' localhost:8080/hooks/orders
 * ```
 */
export function mountWebhooks(
  app: Hono,
  options: {
    readonly stateDir: string;
    readonly authorized: (header: string | undefined) => boolean;
  },
): void {
  const inboxes = new Map<string, WebhookInbox>();
  app.post('/hooks/:inbox', async (c) => {
    const name = c.req.param('inbox');
    let inbox = inboxes.get(name);
    if (inbox === undefined) {
      try {
        inbox = WebhookInbox.open(options.stateDir, name);
      } catch (error) {
        return c.json({ error: (error as Error).message }, 404);
      }
      inboxes.set(name, inbox);
    }
    const tooLarge = () =>
      c.json(
        { error: `the body is larger than ${MAX_BODY_BYTES} bytes; send smaller batches` },
        413,
      );
    // The declared length refuses a large body before it is read; the read checks the real size.
    if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) return tooLarge();
    const body = Buffer.from(await c.req.arrayBuffer());
    if (body.length > MAX_BODY_BYTES) return tooLarge();
    const secret = process.env[`SLUICE_WEBHOOK_SECRET_${name.toUpperCase().replaceAll('-', '_')}`];
    if (secret !== undefined) {
      const signature =
        c.req.header('x-sluice-signature-256') ?? c.req.header('x-hub-signature-256');
      if (!validSignature(body, secret, signature))
        return c.json(
          { error: 'the X-Sluice-Signature-256 header is missing or does not match the body' },
          401,
        );
    } else if (!options.authorized(c.req.header('authorization'))) {
      return c.json({ error: 'a valid "Authorization: Bearer <token>" header is required' }, 401);
    }
    const records = parseRecords(body.toString('utf8'), c.req.header('content-type') ?? '');
    if (typeof records === 'string') return c.json({ error: records }, 400);
    if (records.length === 0) return c.json({ inbox: name, records: 0 }, 202);
    const batch = await inbox.append(records);
    return c.json({ inbox: name, batch, records: records.length }, 202);
  });
}

function validSignature(body: Buffer, secret: string, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The records of a body, or why it is not acceptable. */
function parseRecords(text: string, contentType: string): Record<string, unknown>[] | string {
  const lines = contentType.includes('ndjson')
    ? text.split('\n').filter((line) => line.trim() !== '')
    : [text];
  const records: Record<string, unknown>[] = [];
  for (const [index, line] of lines.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return lines.length > 1
        ? `line ${index + 1} is not valid JSON`
        : 'the body must be JSON: an object, an array of objects, or NDJSON lines (Content-Type: application/x-ndjson)';
    }
    for (const record of Array.isArray(value) ? value : [value]) {
      if (typeof record !== 'object' || record === null || Array.isArray(record))
        return 'every record must be a JSON object';
      records.push(record as Record<string, unknown>);
    }
  }
  return records;
}
