// Slack, webhook and PagerDuty channels against a real HTTP server on loopback: exact payloads,
// signatures a receiver verifies, retries, permanent failures, timeouts, and credentials that
// never show up in errors or logs.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { verifyWebhookSignature } from '../src/connectors/http/webhook-inbox.js';
import {
  AlertDeliveryError,
  alertChannelConfig,
  alertChannelsConfig,
  channelFailureLogger,
  createAlertChannel,
  createAlertChannels,
  sendWithRetry,
} from '../src/observe/alerts/channels/index.js';
import type { ChannelFailure } from '../src/observe/alerts/channels/index.js';
import type { AlertNotification } from '../src/observe/alerts/notification.js';
import {
  capturedLogger,
  errorText,
  firingAlert,
  rejection,
  resolvedAlert,
} from './support/alert-fixtures.js';
import type { HTTPReceiver } from './support/http-receiver.js';
import { startHTTPReceiver } from './support/http-receiver.js';

let receiver: HTTPReceiver;
beforeEach(async () => {
  receiver = await startHTTPReceiver();
});
afterEach(async () => {
  await receiver.close();
});

const SLACK_TOKEN = 'T0SLUICE/B0ALERTS/xoxSecretPathToken42';
const SIGNING_SECRET = 'whsec-7f3a9c1e5b2d4f6a8c0e';
const HOOK_TOKEN = 'hook-token-31415926535';
const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdef012345';

/** A channel from raw config, as a project config would give it. */
function channel(raw: unknown, env: NodeJS.ProcessEnv = {}) {
  return createAlertChannel(alertChannelConfig.parse(raw), { env });
}

const signal = () => AbortSignal.timeout(30_000);

describe('slack channel', () => {
  const slackURL = () => `${receiver.origin}/services/${SLACK_TOKEN}`;

  it('posts one Block Kit message per group, exactly as Slack takes it', async () => {
    const slack = channel(
      { type: 'slack', name: 'ops-slack', url: { env: 'SLACK_URL' } },
      { SLACK_URL: slackURL() },
    );
    await slack.send([firingAlert], signal());
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(`/services/${SLACK_TOKEN}`);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      text: 'FIRING: orders_daily failed after 3 attempts',
      blocks: [
        {
          type: 'header',
          text: {
            type: 'plain_text',
            text: ':rotating_light: FIRING: orders_daily failed after 3 attempts',
            emoji: true,
          },
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: ':rotating_light: *FIRING* · critical · orders_daily failed after 3 attempts\nstep load threw: connection refused\nsee the run report',
          },
        },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*severity*\ncritical' },
            { type: 'mrkdwn', text: '*rule*\nrun_failed' },
            { type: 'mrkdwn', text: '*owner*\ndata-eng' },
            { type: 'mrkdwn', text: '*pipeline*\norders_daily' },
            { type: 'mrkdwn', text: '*started*\n2026-12-07T06:00:00.000Z' },
            { type: 'mrkdwn', text: '*link*\nhttp://sluice.example/runs/20261207-0600-abc' },
            { type: 'mrkdwn', text: '*fingerprint*\nb7c1e0d2a9f4c3e1' },
          ],
        },
      ],
    });
  });

  it('renders firing and resolved distinctly, also within one group', async () => {
    const slack = channel({ type: 'slack', name: 'ops', url: slackURL() });
    await slack.send([resolvedAlert], signal());
    await slack.send([firingAlert, resolvedAlert], signal());
    const [alone, mixed] = receiver.requests.map(
      (r) => JSON.parse(r.body) as { text: string; blocks: { text?: { text: string } }[] },
    );
    expect(alone?.text).toBe('RESOLVED: orders is fresh again');
    expect(alone?.blocks[0]?.text?.text).toBe(':white_check_mark: RESOLVED: orders is fresh again');
    expect(alone?.blocks[1]?.text?.text).toBe(
      ':white_check_mark: *RESOLVED* · warning · orders is fresh again',
    );
    expect(mixed?.text).toBe(
      'FIRING [1 firing, 1 resolved]: orders_daily failed after 3 attempts (+1 more)',
    );
    const sections = mixed?.blocks
      .filter((b) => b.text?.text.includes('·'))
      .map((b) => b.text?.text);
    expect(sections).toEqual([
      expect.stringMatching(/^:rotating_light: \*FIRING\* · critical/),
      expect.stringMatching(/^:white_check_mark: \*RESOLVED\* · warning/),
    ]);
  });

  it('sends plain text when asked', async () => {
    const slack = channel({ type: 'slack', name: 'ops', url: slackURL(), format: 'text' });
    await slack.send([resolvedAlert], signal());
    expect(JSON.parse(receiver.requests[0]?.body ?? '')).toEqual({
      text: [
        'RESOLVED: orders is fresh again',
        '',
        '[RESOLVED] orders is fresh again',
        '  severity: warning',
        '  rule: freshness',
        '  dataset: orders',
        '  pipeline: orders_daily',
        '  started: 2026-12-07T05:00:00.000Z',
        '  resolved: 2026-12-07T07:30:00.000Z',
        '  fingerprint: 0c9d8e7f6a5b4c3d',
        '',
      ].join('\n'),
    });
  });

  it('escapes markup, so a summary cannot ping @channel or forge a link', async () => {
    const slack = channel({ type: 'slack', name: 'ops', url: slackURL() });
    const hostile = { ...firingAlert, summary: '<!channel> look & <http://evil.example|click>' };
    await slack.send([hostile], signal());
    const message = JSON.parse(receiver.requests[0]?.body ?? '') as {
      text: string;
      blocks: { text?: { type: string; text: string } }[];
    };
    const escaped = '&lt;!channel&gt; look &amp; &lt;http://evil.example|click&gt;';
    expect(message.text).toBe(`FIRING: ${escaped}`);
    expect(message.blocks[1]?.text).toEqual({
      type: 'mrkdwn',
      text: `:rotating_light: *FIRING* · critical · ${escaped}\nstep load threw: connection refused\nsee the run report`,
    });
    // Slack shows plain_text as written and parses no mention or link in it.
    expect(message.blocks[0]?.text).toMatchObject({
      type: 'plain_text',
      text: ':rotating_light: FIRING: <!channel> look & <http://evil.example|click>',
    });
  });

  it('keeps within Slack limits for a huge group and huge texts', async () => {
    const slack = channel({ type: 'slack', name: 'ops', url: slackURL() });
    const labels = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`tag${i}`, 'x'.repeat(3000)]),
    );
    const group: AlertNotification[] = Array.from({ length: 100 }, (_, i) => ({
      ...firingAlert,
      fingerprint: `f${i}`,
      summary: `🔥${'s'.repeat(5000)}`,
      description: 'd'.repeat(10_000),
      labels,
    }));
    await slack.send(group, signal());
    const message = JSON.parse(receiver.requests[0]?.body ?? '') as {
      text: string;
      blocks: {
        type: string;
        text?: { text: string };
        fields?: { text: string }[];
        elements?: { text: string }[];
      }[];
    };
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(message.blocks[0]?.text?.text.length).toBeLessThanOrEqual(150);
    for (const block of message.blocks) {
      expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
      expect(block.fields?.length ?? 0).toBeLessThanOrEqual(10);
      for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2000);
    }
    expect(message.blocks.at(-1)?.elements?.[0]?.text).toBe(
      '…and 84 more notifications of this group, not shown (Slack takes 50 blocks per message).',
    );
    expect(message.text.length).toBeLessThanOrEqual(3000);
  });

  it('reports what Slack said on a refusal, without the webhook token anywhere', async () => {
    const slack = channel(
      { type: 'slack', name: 'ops', url: { env: 'SLACK_URL' } },
      { SLACK_URL: slackURL() },
    );
    receiver.script({ status: 404, body: `no_service\nfor /services/${SLACK_TOKEN}` });
    const { logger, lines } = capturedLogger();
    const failures: ChannelFailure[] = [];
    const error = await rejection(
      sendWithRetry(slack, [firingAlert], {
        onFailure: (f) => {
          failures.push(f);
          channelFailureLogger(logger)(f);
        },
      }),
    );
    expect(error).toBeInstanceOf(AlertDeliveryError);
    const delivery = error as AlertDeliveryError;
    expect(delivery.code).toBe('PERMANENT');
    expect(delivery.retryable).toBe(false);
    expect(delivery.status).toBe(404);
    expect(delivery.message).toBe(
      `Alert channel "ops" (slack): POST ${receiver.origin} answered HTTP 404: no_service`,
    );
    expect(receiver.requests).toHaveLength(1);
    expect(failures.map((f) => [f.attempt, f.retryInMs])).toEqual([[1, undefined]]);
    const shown = `${errorText(error)}\n${lines.join('')}`;
    for (const secret of [SLACK_TOKEN, 'xoxSecretPathToken42', encodeURIComponent(SLACK_TOKEN)])
      expect(shown).not.toContain(secret);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 50,
      msg: 'alert channel gave up delivering notifications',
      channel: 'ops',
      channelType: 'slack',
      attempt: 1,
      code: 'PERMANENT',
      status: 404,
    });
  });
});

describe('webhook channel', () => {
  const hook = (extra: Record<string, unknown> = {}) =>
    channel(
      {
        type: 'webhook',
        name: 'ops-hook',
        url: `${receiver.origin}/alerts`,
        signingSecret: { env: 'HOOK_SECRET' },
        headers: { Authorization: { env: 'HOOK_AUTH' }, 'X-Team': 'data-eng' },
        retries: { retries: 3, delay: '20ms', maxDelay: '5s' },
        ...extra,
      },
      { HOOK_SECRET: SIGNING_SECRET, HOOK_AUTH: `Bearer ${HOOK_TOKEN}` },
    );

  it('posts the versioned JSON body with custom headers and a signature the receiver verifies', async () => {
    await hook().send([firingAlert, resolvedAlert], signal());
    const [request] = receiver.requests;
    expect(request?.path).toBe('/alerts');
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request?.headers['authorization']).toBe(`Bearer ${HOOK_TOKEN}`);
    expect(request?.headers['x-team']).toBe('data-eng');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      version: 1,
      channel: 'ops-hook',
      status: 'firing',
      alerts: [
        {
          fingerprint: 'b7c1e0d2a9f4c3e1',
          rule: 'run_failed',
          state: 'firing',
          severity: 'critical',
          summary: 'orders_daily failed after 3 attempts',
          description: 'step load threw: connection refused\nsee the run report',
          labels: { pipeline: 'orders_daily', owner: 'data-eng' },
          startsAt: '2026-12-07T06:00:00.000Z',
          url: 'http://sluice.example/runs/20261207-0600-abc',
          notification: 'first',
        },
        {
          fingerprint: '0c9d8e7f6a5b4c3d',
          rule: 'freshness',
          state: 'resolved',
          severity: 'warning',
          summary: 'orders is fresh again',
          labels: { pipeline: 'orders_daily', dataset: 'orders' },
          startsAt: '2026-12-07T05:00:00.000Z',
          endsAt: '2026-12-07T07:30:00.000Z',
          notification: 'resolved',
        },
      ],
    });

    // A receiver verifies as the docs say: HMAC-SHA256 of "<t>.<raw body>", constant-time compare, fresh t.
    const header = String(request?.headers['sluice-signature']);
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    expect(match).not.toBeNull();
    const [, t, v1] = match as unknown as [string, string, string];
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60);
    const expected = createHmac('sha256', SIGNING_SECRET).update(`${t}.${request?.body}`).digest();
    expect(timingSafeEqual(expected, Buffer.from(v1, 'hex'))).toBe(true);
    // Sluice's own webhook inboxes accept it, and refuse a changed body or another secret.
    expect(
      verifyWebhookSignature(SIGNING_SECRET, request?.body ?? '', header, { toleranceSeconds: 300 })
        .ok,
    ).toBe(true);
    expect(
      verifyWebhookSignature(SIGNING_SECRET, `${request?.body} `, header, { toleranceSeconds: 300 })
        .ok,
    ).toBe(false);
    expect(
      verifyWebhookSignature('another-secret', request?.body ?? '', header, {
        toleranceSeconds: 300,
      }).ok,
    ).toBe(false);
  });

  it('retries a 500 and a 429, waiting as long as Retry-After asks, and reports each failure', async () => {
    receiver.script(
      { status: 500, body: 'internal error' },
      { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' },
    );
    const failures: ChannelFailure[] = [];
    const tries = await sendWithRetry(hook(), [firingAlert], {
      onFailure: (f) => failures.push(f),
      random: () => 0.5,
    });
    expect(tries).toBe(3);
    expect(receiver.requests).toHaveLength(3);
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    expect(failures.map((f) => [f.attempt, f.error.code, f.error.status])).toEqual([
      [1, 'RETRYABLE', 500],
      [2, 'BACKOFF', 429],
    ]);
    expect(failures[0]?.retryInMs).toBe(20);
    expect(failures[1]?.retryInMs).toBe(1000);
    expect(failures[1]?.error.message).toContain('answered HTTP 429: slow down');
    const [, second, third] = receiver.requests;
    expect((third?.at ?? 0) - (second?.at ?? 0)).toBeGreaterThanOrEqual(950);
    // Every try is signed afresh, and each signature verifies.
    for (const request of receiver.requests)
      expect(
        verifyWebhookSignature(
          SIGNING_SECRET,
          request.body,
          String(request.headers['sluice-signature']),
          { toleranceSeconds: 300 },
        ).ok,
      ).toBe(true);
  });

  it('gives up at once on a 400, and after the last retry on a 503', async () => {
    receiver.script({ status: 400, body: '{"error":"bad alert"}' });
    const permanent = (await rejection(sendWithRetry(hook(), [firingAlert]))) as AlertDeliveryError;
    expect(permanent.code).toBe('PERMANENT');
    expect(permanent.message).toContain('answered HTTP 400: {"error":"bad alert"}');
    expect(permanent.hint).toContain('sending them again would not help');
    expect(receiver.requests).toHaveLength(1);

    receiver.fallback = { status: 503, body: 'down for maintenance' };
    const failures: ChannelFailure[] = [];
    const transient = (await rejection(
      sendWithRetry(hook(), [firingAlert], { onFailure: (f) => failures.push(f) }),
    )) as AlertDeliveryError;
    expect(transient.code).toBe('RETRYABLE');
    expect(transient.retryable).toBe(true);
    expect(receiver.requests).toHaveLength(1 + 4);
    expect(failures.map((f) => f.retryInMs === undefined)).toEqual([false, false, false, true]);
  });

  it('stops when Retry-After asks for longer than maxDelay, with a BACKOFF error the caller can honour', async () => {
    receiver.script({ status: 429, headers: { 'retry-after': '3600' }, body: 'rate limited' });
    const error = (await rejection(sendWithRetry(hook(), [firingAlert]))) as AlertDeliveryError;
    expect(error.code).toBe('BACKOFF');
    expect(error.waitMs).toBe(3_600_000);
    expect(receiver.requests).toHaveLength(1);
  });

  it('times out on a receiver that never answers', async () => {
    receiver.fallback = { hang: true };
    const started = Date.now();
    const error = (await rejection(
      sendWithRetry(hook({ timeout: '300ms', retries: 1 }), [firingAlert], {
        retry: { retries: 1, delayMs: 10, maxDelayMs: 10, jitter: 0 },
      }),
    )) as AlertDeliveryError;
    expect(error.code).toBe('RETRYABLE');
    expect(error.message).toContain('no complete answer within 300 ms (timeout)');
    expect(receiver.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not follow redirects', async () => {
    receiver.script({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    const error = (await rejection(sendWithRetry(hook(), [firingAlert]))) as AlertDeliveryError;
    expect(error.code).toBe('PERMANENT');
    expect(error.hint).toContain('redirects');
    expect(receiver.requests).toHaveLength(1);
  });

  it('masks credentials a hostile receiver echoes back, in errors and in logs', async () => {
    receiver.fallback = {
      status: 401,
      body: `denied: authorization=Bearer ${HOOK_TOKEN} secret=${SIGNING_SECRET} b64=${Buffer.from(HOOK_TOKEN).toString('base64')}`,
    };
    const { logger, lines } = capturedLogger();
    const error = await rejection(
      sendWithRetry(hook(), [firingAlert], { onFailure: channelFailureLogger(logger) }),
    );
    const shown = `${errorText(error)}\n${lines.join('')}`;
    expect(shown).toContain('denied: authorization=*** secret=*** b64=***');
    expect(shown).toContain('src/observe/alerts/channels/');
    for (const secret of [HOOK_TOKEN, SIGNING_SECRET, Buffer.from(HOOK_TOKEN).toString('base64')])
      expect(shown).not.toContain(secret);
  });

  it('reports a receiver that went away as retryable, and cuts a huge answer to its first line', async () => {
    const url = `${receiver.origin}/alerts`;
    receiver.script({ status: 502, body: `${'x'.repeat(5_000_000)}\nsecond line` });
    const huge = (await rejection(
      hook({ retries: 0 }).send([firingAlert], signal()),
    )) as AlertDeliveryError;
    expect(huge.code).toBe('RETRYABLE');
    expect(huge.message.length).toBeLessThan(400);
    await receiver.close();
    const gone = (await rejection(
      channel({ type: 'webhook', name: 'gone', url, retries: 0 }).send([firingAlert], signal()),
    )) as AlertDeliveryError;
    expect(gone.code).toBe('RETRYABLE');
    expect(gone.message).toMatch(/network error: .*ECONNREFUSED/);
    receiver = await startHTTPReceiver();
  });

  it('stops waiting between tries when the caller aborts', async () => {
    receiver.fallback = { status: 500 };
    const controller = new AbortController();
    const slow = hook({ retries: { retries: 5, delay: '30s' } });
    const started = Date.now();
    // Aborted once the first failure is reported, that is while waiting 30 s for the next try.
    const error = (await rejection(
      sendWithRetry(slow, [firingAlert], {
        signal: controller.signal,
        onFailure: (failure) => {
          expect(failure.retryInMs).toBeGreaterThan(20_000);
          controller.abort();
        },
      }),
    )) as AlertDeliveryError;
    expect(error.message).toContain('cancelled while waiting to try again');
    expect(error.cause).toBeInstanceOf(AlertDeliveryError);
    expect(receiver.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops a request in flight when the caller aborts, and does not try again', async () => {
    receiver.fallback = { hang: true };
    const controller = new AbortController();
    const failures: ChannelFailure[] = [];
    const pending = rejection(
      sendWithRetry(hook({ timeout: '60s' }), [firingAlert], {
        signal: controller.signal,
        onFailure: (f) => failures.push(f),
      }),
    );
    await receiver.waitFor(1);
    controller.abort();
    const error = (await pending) as AlertDeliveryError;
    expect(error.message).toContain(`POST ${receiver.origin} was cancelled`);
    expect(failures.map((f) => f.retryInMs)).toEqual([undefined]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('sends the user and password of a URL as Basic auth, never in a message', async () => {
    const password = 'am-pass-271828';
    const basic = channel(
      { type: 'alertmanager', name: 'am', url: { env: 'AM_URL' }, retries: 0 },
      { AM_URL: `${receiver.origin.replace('//', `//sluice:${password}@`)}/prefix/` },
    );
    receiver.script({ status: 401, body: `bad credentials for sluice:${password}` });
    const error = await rejection(basic.send([firingAlert], signal()));
    const [request] = receiver.requests;
    expect(request?.path).toBe('/prefix/api/v2/alerts');
    expect(request?.headers['authorization']).toBe(
      `Basic ${Buffer.from(`sluice:${password}`).toString('base64')}`,
    );
    expect(errorText(error)).toContain('bad credentials for sluice:***');
    expect(errorText(error)).not.toContain(password);
  });

  it('refuses a header value with a line break for good, without quoting it', async () => {
    const broken = channel(
      {
        type: 'webhook',
        name: 'ops',
        url: receiver.origin,
        headers: { Authorization: { env: 'AUTH' } },
        retries: 0,
      },
      { AUTH: `Bearer ${HOOK_TOKEN}\r\nX-Evil: 1` },
    );
    const error = (await rejection(broken.send([firingAlert], signal()))) as AlertDeliveryError;
    expect(error.code).toBe('PERMANENT');
    expect(receiver.requests).toHaveLength(0);
    expect(errorText(error)).not.toContain(HOOK_TOKEN);
  });

  it('takes a 2xx as delivered without waiting for the rest of a trickled answer', async () => {
    const { createServer } = await import('node:http');
    const trickle = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('ok');
    });
    await new Promise<void>((ready) => trickle.listen(0, '127.0.0.1', ready));
    const address = trickle.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const started = Date.now();
      await channel({
        type: 'webhook',
        name: 'slow',
        url: `http://127.0.0.1:${port}/`,
        timeout: '5s',
      }).send([firingAlert], signal());
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      trickle.closeAllConnections();
      await new Promise<void>((done) => trickle.close(() => done()));
    }
  });

  it('sends nothing for an empty group', async () => {
    await hook().send([], signal());
    await channel({
      type: 'pagerduty',
      name: 'p',
      routingKey: ROUTING_KEY,
      url: receiver.origin,
    }).send([], signal());
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('pagerduty channel', () => {
  const pagerduty = (extra: Record<string, unknown> = {}) =>
    channel(
      {
        type: 'pagerduty',
        name: 'on-call',
        routingKey: { env: 'PD_ROUTING_KEY' },
        url: `${receiver.origin}/v2/enqueue`,
        ...extra,
      },
      { PD_ROUTING_KEY: ROUTING_KEY },
    );

  it('triggers with the fingerprint as dedup key and resolves it', async () => {
    receiver.fallback = { status: 202, body: '{"status":"success","message":"Event processed"}' };
    await pagerduty().send(
      [firingAlert, { ...resolvedAlert, fingerprint: firingAlert.fingerprint }],
      signal(),
    );
    const events = receiver.requests.map((r) => JSON.parse(r.body) as unknown);
    expect(receiver.requests.map((r) => r.path)).toEqual(['/v2/enqueue', '/v2/enqueue']);
    expect(events).toEqual([
      {
        routing_key: ROUTING_KEY,
        event_action: 'trigger',
        dedup_key: 'b7c1e0d2a9f4c3e1',
        payload: {
          summary: 'orders_daily failed after 3 attempts',
          source: 'orders_daily',
          severity: 'critical',
          timestamp: '2026-12-07T06:00:00.000Z',
          group: 'orders_daily',
          class: 'run_failed',
          custom_details: {
            description: 'step load threw: connection refused\nsee the run report',
            labels: { pipeline: 'orders_daily', owner: 'data-eng' },
            notification: 'first',
            fingerprint: 'b7c1e0d2a9f4c3e1',
          },
        },
        links: [{ href: 'http://sluice.example/runs/20261207-0600-abc', text: 'Open in Sluice' }],
        client: 'Sluice',
        client_url: 'http://sluice.example/runs/20261207-0600-abc',
      },
      { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: 'b7c1e0d2a9f4c3e1' },
    ]);
  });

  it('maps severities as configured and cuts the summary to 1024 characters', async () => {
    await pagerduty({ severities: { warning: 'error' }, source: 'etl-prod' }).send(
      [
        {
          ...firingAlert,
          severity: 'warning',
          summary: 'w'.repeat(5000),
          notification: 'escalation',
        },
      ],
      signal(),
    );
    const event = JSON.parse(receiver.requests[0]?.body ?? '') as {
      event_action: string;
      payload: { severity: string; source: string; summary: string };
    };
    expect(event.event_action).toBe('trigger');
    expect(event.payload.severity).toBe('error');
    expect(event.payload.source).toBe('etl-prod');
    expect(event.payload.summary).toHaveLength(1024);
  });

  it('refuses an invalid event for good, without the routing key in the error', async () => {
    receiver.script({
      status: 400,
      body: `{"status":"invalid event","message":"Event object is invalid","errors":["routing_key ${ROUTING_KEY} is unknown"]}`,
    });
    const { logger, lines } = capturedLogger();
    const error = (await rejection(
      sendWithRetry(pagerduty(), [firingAlert], { onFailure: channelFailureLogger(logger) }),
    )) as AlertDeliveryError;
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toContain('answered HTTP 400: {"status":"invalid event"');
    expect(`${errorText(error)}${lines.join('')}`).not.toContain(ROUTING_KEY);
  });
});

describe('channel config', () => {
  it("names a missing secret variable, never a value, and collects every channel's problems", () => {
    const configs = alertChannelsConfig.parse([
      { type: 'slack', name: 'a', url: { env: 'NO_SUCH_SLACK_URL' } },
      { type: 'pagerduty', name: 'b', routingKey: { env: 'NO_SUCH_PD_KEY' } },
      { type: 'webhook', name: 'c', url: { env: 'NOT_A_URL' } },
    ]);
    const error = (() => {
      try {
        createAlertChannels(configs, { env: { NOT_A_URL: 'ftp://files.example/secret-path-123' } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const text = errorText(error);
    expect(text).toContain('3 problems found');
    expect(text).toContain(
      'channels.a.url: alert channel "a": environment variable NO_SUCH_SLACK_URL is not set',
    );
    expect(text).toContain('channels.b.routingKey');
    expect(text).toContain('alert channel "c": url is not an http:// or https:// URL');
    expect(text).not.toContain('secret-path-123');
  });

  it('refuses duplicate names, unknown keys, reserved headers and half a login', () => {
    const problems = (value: unknown) =>
      (alertChannelsConfig.safeParse(value).error?.issues ?? []).map(
        (i) => `${i.path.join('.')}: ${i.message}`,
      );
    expect(
      problems([
        { type: 'slack', name: 'x', url: 'http://a' },
        { type: 'slack', name: 'x', url: 'http://b' },
      ]),
    ).toEqual(['1.name: another channel is already named "x"']);
    expect(problems([{ type: 'slack', name: 'x', url: 'http://a', colour: 'red' }])).toHaveLength(
      1,
    );
    expect(
      problems([
        { type: 'webhook', name: 'x', url: 'http://a', headers: { 'Content-Type': 'text/plain' } },
      ]),
    ).toHaveLength(1);
    expect(
      problems([{ type: 'email', name: 'm', host: 'h', from: 'a@b', to: ['c@d'], username: 'u' }]),
    ).toEqual(['0.password: username and password go together: give both, or neither']);
    expect(problems([{ type: 'sms', name: 'x' }])).toHaveLength(1);
  });
});
