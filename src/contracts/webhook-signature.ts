import { createHmac } from 'node:crypto';

/**
 * The header a signed webhook request carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
 *
 * @example
 * ```ts
 * headers[WEBHOOK_SIGNATURE_HEADER] = signWebhook(secret, body); // Sluice-Signature: t=...,v1=...
 * ```
 */
export const WEBHOOK_SIGNATURE_HEADER = 'Sluice-Signature';

/**
 * The `Sluice-Signature` header value for a request body, as Stripe signs: `t=<unix
 * seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>`. The timestamp is part of
 * what is signed, so a receiver refuses old requests and remembers the signatures it took within
 * its tolerance window to refuse replays.
 *
 * @example
 * ```ts
 * const body = JSON.stringify([{ id: 1 }]);
 * await fetch('http://127.0.0.1:8080/hooks/orders', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json', 'sluice-signature': signWebhook('s3cret', body) },
 *   body,
 * });
 * ```
 */
export function signWebhook(
  secret: string,
  body: string | Uint8Array,
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`;
}

/**
 * The hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed by `secret`: the `v1` of a
 * `Sluice-Signature`.
 *
 * @example
 * ```ts
 * webhookSignature('s3cret', 1767225600, '[]'); // 64 hex digits
 * ```
 */
export function webhookSignature(
  secret: string,
  timestamp: number,
  body: string | Uint8Array,
): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}
