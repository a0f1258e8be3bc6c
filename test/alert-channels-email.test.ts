// The email channel against a real SMTP server on loopback (Debian's python3-aiosmtpd): the
// test reads each message back as Python's email package parsed it.
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AlertDeliveryError,
  alertChannelConfig,
  channelFailureLogger,
  createAlertChannel,
  groupText,
  sendWithRetry,
} from '../src/observe/alerts/channels/index.js';
import { tempDir } from './helpers.js';
import {
  capturedLogger,
  errorText,
  firingAlert,
  rejection,
  resolvedAlert,
} from './support/alert-fixtures.js';
import type { SMTPReceiver } from './support/smtp-receiver.js';
import { makeCertificate, smtpUnavailable, startSMTPReceiver } from './support/smtp-receiver.js';

const unavailable = smtpUnavailable();
if (unavailable !== undefined) console.warn(`skipping the email channel tests: ${unavailable}`);

const PASSWORD = 'smtp-Pa55word-9c1e7f';
const signal = () => AbortSignal.timeout(60_000);

/** An email channel to `port`, from raw config as a project would give it. */
function mailChannel(port: number, extra: Record<string, unknown> = {}) {
  return createAlertChannel(
    alertChannelConfig.parse({
      type: 'email',
      name: 'ops-mail',
      host: '127.0.0.1',
      port,
      security: 'none',
      username: 'sluice',
      password: { env: 'SMTP_PASSWORD' },
      from: 'Sluice alerts <sluice@example.com>',
      to: ['ops@example.com'],
      timeout: '10s',
      ...extra,
    }),
    { env: { SMTP_PASSWORD: PASSWORD } },
  );
}

describe.skipIf(unavailable !== undefined)('email channel over SMTP', () => {
  const servers: SMTPReceiver[] = [];
  /** A server of its own, writing into a folder of its own. */
  const server = async (options: Parameters<typeof startSMTPReceiver>[1]) => {
    const started = await startSMTPReceiver(await tempDir('sluice-smtp-'), options);
    servers.push(started);
    return started;
  };
  const certificate = async () => makeCertificate(await tempDir('sluice-cert-'));

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('sends one message per group with subject, text and HTML bodies, after logging in', async () => {
    const smtp = await server({ user: 'sluice', password: PASSWORD });
    const mail = mailChannel(smtp.port, { cc: ['lead@example.com'] });
    await mail.send([firingAlert, resolvedAlert], signal());
    const [message, ...more] = await smtp.messages();
    expect(more).toHaveLength(0);
    expect(message?.authenticated).toBe(true);
    expect(message?.mailFrom).toBe('sluice@example.com');
    expect(message?.rcptTos).toEqual(['ops@example.com', 'lead@example.com']);
    expect(message?.contentType).toBe('multipart/alternative');
    expect(message?.headers).toMatchObject({
      subject:
        '[sluice] FIRING [1 firing, 1 resolved]: orders_daily failed after 3 attempts (+1 more)',
      from: 'Sluice alerts <sluice@example.com>',
      to: 'ops@example.com',
      cc: 'lead@example.com',
      'x-sluice-alert-status': 'firing',
    });
    expect(message?.text?.replaceAll('\r\n', '\n')).toBe(groupText([firingAlert, resolvedAlert]));
    const html = message?.html ?? '';
    expect(html).toContain(
      '<h3 style="margin:16px 0 4px;color:#b00020">FIRING: orders_daily failed after 3 attempts</h3>',
    );
    expect(html).toContain(
      '<h3 style="margin:16px 0 4px;color:#1b7f3b">RESOLVED: orders is fresh again</h3>',
    );
    expect(html).toContain(
      '<a href="http://sluice.example/runs/20261207-0600-abc">http://sluice.example/runs/20261207-0600-abc</a>',
    );
    expect(html).toContain('>fingerprint</th><td style="padding:2px 0">b7c1e0d2a9f4c3e1</td>');
  });

  it('marks a resolved group as resolved in the subject and header', async () => {
    const smtp = await server({ user: 'sluice', password: PASSWORD });
    await mailChannel(smtp.port).send([resolvedAlert], signal());
    const [message] = await smtp.messages();
    expect(message?.headers['subject']).toBe('[sluice] RESOLVED: orders is fresh again');
    expect(message?.headers['x-sluice-alert-status']).toBe('resolved');
  });

  it('keeps a hostile summary from adding headers or markup', async () => {
    const smtp = await server({ user: 'sluice', password: PASSWORD });
    const hostile = {
      ...firingAlert,
      summary: 'boom\r\nBcc: thief@evil.example\r\n\r\n<script>alert(1)</script>',
      url: 'javascript:alert(1)',
    };
    await mailChannel(smtp.port).send([hostile], signal());
    const [message] = await smtp.messages();
    expect(message?.rcptTos).toEqual(['ops@example.com']);
    expect(message?.headers['bcc']).toBeUndefined();
    expect(message?.headers['subject']).toBe(
      '[sluice] FIRING: boom Bcc: thief@evil.example <script>alert(1)</script>',
    );
    expect(message?.html).not.toContain('<script>');
    expect(message?.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(message?.html).not.toContain('href="javascript:');
  });

  it('upgrades with STARTTLS and verifies the server against the configured CA', async () => {
    const pem = await certificate();
    const smtp = await server({
      mode: 'starttls',
      certificate: pem,
      user: 'sluice',
      password: PASSWORD,
    });
    await mailChannel(smtp.port, {
      security: 'starttls',
      tls: { caFile: pem.cert },
    }).send([firingAlert], signal());
    const [message] = await smtp.messages();
    expect(message?.tls).toBe(true);
    expect(message?.authenticated).toBe(true);
  });

  it('with "starttls-if-offered", upgrades when offered and sends in clear when not', async () => {
    const pem = await certificate();
    const offering = await server({ mode: 'starttls', certificate: pem });
    const clear = await server({});
    for (const smtp of [offering, clear])
      await mailChannel(smtp.port, {
        security: 'starttls-if-offered',
        tls: { caFile: pem.cert },
        username: undefined,
        password: undefined,
      }).send([firingAlert], signal());
    expect((await offering.messages()).map((m) => m.tls)).toEqual([true]);
    expect((await clear.messages()).map((m) => m.tls)).toEqual([false]);
  });

  it('speaks TLS from the first byte with security "tls"', async () => {
    const pem = await certificate();
    const smtp = await server({
      mode: 'implicit',
      certificate: pem,
      user: 'sluice',
      password: PASSWORD,
    });
    await mailChannel(smtp.port, {
      security: 'tls',
      tls: { caFile: pem.cert, servername: 'localhost' },
    }).send([firingAlert], signal());
    const [message] = await smtp.messages();
    expect(message?.tls).toBe(true);
  });

  it('refuses for good a certificate it cannot verify, and a server without STARTTLS', async () => {
    const tlsServer = await server({ mode: 'starttls', certificate: await certificate() });
    const untrusted = (await rejection(
      mailChannel(tlsServer.port, {
        security: 'starttls',
        username: undefined,
        password: undefined,
      }).send([firingAlert], signal()),
    )) as AlertDeliveryError;
    expect(untrusted).toBeInstanceOf(AlertDeliveryError);
    expect(untrusted.code).toBe('PERMANENT');
    expect(untrusted.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate');

    const clear = await server({});
    const noTLS = (await rejection(
      mailChannel(clear.port, {
        security: 'starttls',
        username: undefined,
        password: undefined,
      }).send([firingAlert], signal()),
    )) as AlertDeliveryError;
    expect(noTLS.code).toBe('PERMANENT');
    expect(noTLS.message).toContain('answered: 454 TLS not available');
    expect(await clear.messages()).toHaveLength(0);
  });

  it('fails for good on a wrong password, without the password in the error or the log', async () => {
    const smtp = await server({ user: 'sluice', password: 'the-right-password' });
    const { logger, lines } = capturedLogger();
    const error = (await rejection(
      sendWithRetry(mailChannel(smtp.port), [firingAlert], {
        onFailure: channelFailureLogger(logger),
      }),
    )) as AlertDeliveryError;
    expect(error.code).toBe('PERMANENT');
    expect(error.status).toBe(535);
    expect(error.message).toContain(`SMTP 127.0.0.1:${smtp.port} answered: 535`);
    expect(lines).toHaveLength(1);
    const shown = `${errorText(error)}\n${lines.join('')}`;
    for (const form of [
      PASSWORD,
      Buffer.from(PASSWORD).toString('base64'),
      Buffer.from(`\0sluice\0${PASSWORD}`).toString('base64'),
    ])
      expect(shown).not.toContain(form);
    expect(await smtp.messages()).toHaveLength(0);
  });

  it('tells a refused address (permanent) from a busy one (retryable), and names partial refusals', async () => {
    const smtp = await server({ user: 'sluice', password: PASSWORD });
    const refused = (await rejection(
      mailChannel(smtp.port, { to: ['refused@example.com'] }).send([firingAlert], signal()),
    )) as AlertDeliveryError;
    expect(refused.code).toBe('PERMANENT');
    expect(refused.status).toBe(550);

    const busy = (await rejection(
      mailChannel(smtp.port, { to: ['busy@example.com'] }).send([firingAlert], signal()),
    )) as AlertDeliveryError;
    expect(busy.code).toBe('RETRYABLE');
    expect(busy.status).toBe(451);

    const partial = (await rejection(
      mailChannel(smtp.port, { to: ['ops@example.com', 'refused@example.com'] }).send(
        [firingAlert],
        signal(),
      ),
    )) as AlertDeliveryError;
    expect(partial.code).toBe('PERMANENT');
    expect(partial.message).toContain(
      'refused 1 recipient(s): refused@example.com; the others got the message',
    );
    const delivered = await smtp.messages();
    expect(delivered.map((m) => m.rcptTos)).toEqual([['ops@example.com']]);
  });

  it('reports a server that went away, and one that never greets, as retryable', async () => {
    const smtp = await server({ user: 'sluice', password: PASSWORD });
    await smtp.stop();
    const gone = (await rejection(
      mailChannel(smtp.port).send([firingAlert], signal()),
    )) as AlertDeliveryError;
    expect(gone.code).toBe('RETRYABLE');
    expect(gone.message).toContain('ECONNREFUSED');

    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((ready) => silent.listen(0, '127.0.0.1', ready));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const started = Date.now();
      const mute = (await rejection(
        mailChannel(port, { timeout: '500ms' }).send([firingAlert], signal()),
      )) as AlertDeliveryError;
      expect(mute.code).toBe('RETRYABLE');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => silent.close(() => done()));
    }
  });
});
