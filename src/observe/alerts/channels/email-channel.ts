import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../../core/errors.js';
import { secretValue } from '../../../contracts/secrets.js';
import type { AlertNotification } from '../notification.js';
import type { ChannelOptions, ConfiguredAlertChannel } from './channel-config.js';
import { channelBaseFields, channelLimits } from './channel-config.js';
import { ChannelSecrets } from './channel-secrets.js';
import { AlertDeliveryError, firstLine } from './delivery-error.js';
import { alertEmail } from './email-render.js';

/** An address as `user@host` or `Name <user@host>`; nodemailer parses it. */
const address = z
  .string()
  .min(3)
  .max(320)
  .regex(
    /^[^\r\n]*@[^\r\n]*$/,
    'an email address such as ops@example.com or "Ops <ops@example.com>"',
  );

/**
 * Config of an `email` channel: mail sent over SMTP with nodemailer.
 *
 * @example
 * ```ts
 * emailChannelConfig.parse({ type: 'email', name: 'ops-mail', host: 'smtp.example.com', from: 'sluice@example.com', to: ['ops@example.com'], username: 'sluice', password: { env: 'SMTP_PASSWORD' } });
 * ```
 */
export const emailChannelConfig = z
  .strictObject({
    type: z.literal('email'),
    ...channelBaseFields,
    host: z.string().min(1).describe("The SMTP server's host name or address."),
    port: z
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe('The SMTP port: by default 465 with `security: "tls"`, else 587.'),
    security: z
      .enum(['tls', 'starttls', 'starttls-if-offered', 'none'])
      .default('starttls')
      .describe(
        'How the connection is encrypted: `tls` (TLS from the first byte, port 465), `starttls` (upgrade with STARTTLS, and fail when the server does not offer it), `starttls-if-offered` (upgrade when offered, else send in clear), `none` (never upgrade; only for a relay on the same host).',
      ),
    tls: z
      .strictObject({
        rejectUnauthorized: z
          .boolean()
          .default(true)
          .describe(
            'Refuse a server whose certificate does not verify (turn off only for a test server).',
          ),
        caFile: z
          .string()
          .min(1)
          .optional()
          .describe(
            "A PEM file of the certificate authorities to trust instead of the system's (a private CA or a self-signed server).",
          ),
        servername: z
          .string()
          .min(1)
          .optional()
          .describe("The name the server's certificate must carry, when it differs from `host`."),
        minVersion: z
          .enum(['TLSv1.2', 'TLSv1.3'])
          .default('TLSv1.2')
          .describe('The oldest TLS version accepted.'),
      })
      .default({ rejectUnauthorized: true, minVersion: 'TLSv1.2' })
      .describe('TLS settings of the connection.'),
    username: z
      .string()
      .min(1)
      .optional()
      .describe('The SMTP login, when the server asks for one.'),
    password: secretValue
      .optional()
      .describe('The SMTP password; a credential, so give it as `{ env: "NAME" }`.'),
    from: address.describe('The sender, such as `"Sluice alerts <sluice@example.com>"`.'),
    to: z.array(address).min(1).max(100).describe('The recipients.'),
    cc: z.array(address).max(100).default([]).describe('Recipients in copy.'),
    subjectPrefix: z
      .string()
      .max(64)
      .default('[sluice]')
      .describe('Put before the state and summary in every subject, for mail filters.'),
  })
  .superRefine((config, context) => {
    if ((config.username === undefined) !== (config.password === undefined))
      context.addIssue({
        code: 'custom',
        path: [config.username === undefined ? 'username' : 'password'],
        message: 'username and password go together: give both, or neither',
      });
  })
  .describe('Sends one email per group over SMTP, with a plain text and an HTML body.');

/** Config of an `email` channel as written. */
export type EmailChannelInput = z.input<typeof emailChannelConfig>;
/** Config of an `email` channel after parsing. */
export type EmailChannelConfig = z.output<typeof emailChannelConfig>;

/** nodemailer's error fields the channel reads. */
interface MailerError extends Error {
  readonly code?: string;
  /** The system error's code when nodemailer replaced it (`DEPTH_ZERO_SELF_SIGNED_CERT`). */
  readonly originalCode?: string;
  readonly responseCode?: number;
  readonly response?: string;
  readonly permanent?: boolean;
}

/** Errors without an SMTP reply that retrying the same config cannot fix. */
const PERMANENT_CODES = new Set([
  'EAUTH',
  'ENOAUTH',
  'ETLS',
  'EREQUIRETLS',
  'EENVELOPE',
  'ECONFIG',
]);

/** A server that cannot do the TLS the config asks for, whatever its reply code says. */
const TLS_REFUSED = new Set(['ETLS', 'EREQUIRETLS']);

/** Node's codes for a server certificate that does not verify (a config problem, not an outage). */
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|HOSTNAME_MISMATCH/;

/**
 * An email channel: one message per group over SMTP (nodemailer, loaded on the first send),
 * with a plain text and an HTML body, to every recipient. A refused login, a refused address,
 * a certificate that does not verify and any 5xx reply are permanent; 4xx replies, timeouts and
 * lost connections are retryable. A message refused for some recipients only is reported as a
 * permanent failure naming them (the others got it; sending again would send them a copy).
 * The password is read through the secret resolver and masked in every error.
 *
 * @example
 * ```ts
 * const mail = createEmailChannel(emailChannelConfig.parse({ type: 'email', name: 'ops-mail', host: 'smtp.example.com', from: 'sluice@example.com', to: ['ops@example.com'] }));
 * await mail.send(group, AbortSignal.timeout(60_000));
 * ```
 */
export function createEmailChannel(
  config: EmailChannelConfig,
  options: ChannelOptions = {},
): ConfiguredAlertChannel {
  const secrets = new ChannelSecrets(config.name, options.env);
  const password =
    config.password === undefined ? undefined : secrets.value(config.password, 'password');
  const ca = config.tls.caFile === undefined ? undefined : readCA(config.name, config.tls.caFile);
  const { timeoutMs, retry } = channelLimits(config);
  const port = config.port ?? (config.security === 'tls' ? 465 : 587);
  const where = `SMTP ${config.host}:${port}`;
  const transportOptions = {
    host: config.host,
    port,
    secure: config.security === 'tls',
    requireTLS: config.security === 'starttls',
    ignoreTLS: config.security === 'none',
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    tls: {
      rejectUnauthorized: config.tls.rejectUnauthorized,
      minVersion: config.tls.minVersion,
      ...(ca === undefined ? {} : { ca }),
      ...(config.tls.servername === undefined ? {} : { servername: config.tls.servername }),
    },
    ...(config.username === undefined || password === undefined
      ? {}
      : { auth: { user: config.username, pass: password } }),
  };
  const fail = (message: string, retryable: boolean, status: number | undefined, cause: unknown) =>
    secrets.redactor.redactError(
      new AlertDeliveryError(secrets.redactor.redact(message), {
        channel: config.name,
        channelType: 'email',
        retry: { kind: retryable ? 'retryable' : 'permanent' },
        ...(status === undefined ? {} : { status }),
        cause,
      }),
    );
  return {
    name: config.name,
    type: 'email',
    retry,
    secrets: secrets.redactor,
    async send(group: readonly AlertNotification[], signal: AbortSignal) {
      if (group.length === 0) return;
      const { createTransport } = await import('nodemailer');
      const transport = createTransport(transportOptions);
      const timeout = AbortSignal.timeout(timeoutMs);
      const email = alertEmail(group, config.subjectPrefix);
      let rejected: readonly string[];
      try {
        const info = await transport.sendMail({
          from: config.from,
          to: [...config.to],
          ...(config.cc.length === 0 ? {} : { cc: [...config.cc] }),
          subject: email.subject,
          text: email.text,
          html: email.html,
          headers: {
            'X-Sluice-Alert-Status': group.some((a) => a.state === 'firing')
              ? 'firing'
              : 'resolved',
          },
          signal: AbortSignal.any([signal, timeout]),
        });
        rejected = info.rejected.map(String);
      } catch (cause) {
        const error = cause as MailerError;
        const reply = error.responseCode;
        if (signal.aborted) throw fail(`${where}: sending was cancelled`, true, reply, cause);
        if (timeout.aborted)
          throw fail(`${where}: not sent within ${timeoutMs} ms (timeout)`, true, reply, cause);
        const codes = [error.code, error.originalCode].filter((c) => c !== undefined);
        const said =
          reply === undefined
            ? `${where}: ${codes.length === 0 ? '' : `${codes.join(' ')}: `}${error.message}`
            : `${where} answered${firstLine(error.response ?? error.message)}`;
        const permanent =
          TLS_REFUSED.has(error.code ?? '') ||
          CERTIFICATE_CODE.test(error.originalCode ?? '') ||
          (reply === undefined
            ? PERMANENT_CODES.has(error.code ?? '')
            : (error.permanent ?? (reply >= 500 && reply !== 503)));
        throw fail(said, !permanent, reply, cause);
      } finally {
        transport.close();
      }
      if (rejected.length > 0)
        throw fail(
          `${where} refused ${rejected.length} recipient(s): ${rejected.join(', ')}; the others got the message`,
          false,
          undefined,
          undefined,
        );
    },
  };
}

function readCA(channel: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      [
        {
          code: 'invalid-config',
          path: `channels.${channel}.tls.caFile`,
          message: `alert channel "${channel}": cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? 'unreadable'})`,
          hint: 'give the path of a PEM file of the certificate authorities to trust',
        },
      ],
      { cause },
    );
  }
}
