// The Alertmanager channel against Debian's prometheus-alertmanager on loopback: alerts are
// posted, read back through its API v2, then resolved.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertDeliveryError,
  alertChannelConfig,
  createAlertChannel,
} from '../src/observe/alerts/channels/index.js';
import type { AlertNotification } from '../src/observe/alerts/notification.js';
import { firingAlert, rejection } from './support/alert-fixtures.js';
import type { Alertmanager } from './support/alertmanager.js';
import { alertmanagerUnavailable, startAlertmanager } from './support/alertmanager.js';

const unavailable = alertmanagerUnavailable();
if (unavailable !== undefined)
  console.warn(`skipping the Alertmanager channel tests: ${unavailable}`);

/** An alert as `GET /api/v2/alerts` gives it (the fields the tests read). */
interface GettableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
  readonly fingerprint: string;
  readonly status: { readonly state: string };
}

const signal = () => AbortSignal.timeout(30_000);

describe.skipIf(unavailable !== undefined)('alertmanager channel', () => {
  let alertmanager: Alertmanager;
  // One server and folder for the whole file (a test's tempDir is removed after each test).
  let folder = '';
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sluice-alertmanager-'));
    alertmanager = await startAlertmanager(folder);
  });
  afterAll(async () => {
    await alertmanager?.stop();
    if (folder !== '') await rm(folder, { recursive: true, force: true });
  });

  const channel = (extra: Record<string, unknown> = {}) =>
    createAlertChannel(
      alertChannelConfig.parse({
        type: 'alertmanager',
        name: 'am',
        url: alertmanager.url,
        labels: { source: 'sluice' },
        retries: 0,
        ...extra,
      }),
    );

  /** The alerts Alertmanager holds for one Sluice fingerprint. */
  const alertsOf = async (fingerprint: string): Promise<GettableAlert[]> => {
    const filter = encodeURIComponent(`sluice_fingerprint="${fingerprint}"`);
    const response = await fetch(`${alertmanager.url}/api/v2/alerts?filter=${filter}`);
    expect(response.status).toBe(200);
    return (await response.json()) as GettableAlert[];
  };

  it('posts an alert Alertmanager holds with the labels, annotations and times given, then resolves it', async () => {
    const fingerprint = 'a1b2c3d4e5f60718';
    const firing: AlertNotification = {
      ...firingAlert,
      fingerprint,
      labels: { pipeline: 'orders_daily', 'owner.team': 'data-eng', '9lives': 'yes', empty: '' },
    };
    const before = Date.now();
    await channel().send([firing], signal());
    const [held, ...others] = await alertsOf(fingerprint);
    expect(others).toHaveLength(0);
    expect(held?.labels).toEqual({
      alertname: 'run_failed',
      severity: 'critical',
      sluice_fingerprint: fingerprint,
      source: 'sluice',
      pipeline: 'orders_daily',
      owner_team: 'data-eng',
      _9lives: 'yes',
    });
    expect(held?.annotations).toEqual({
      summary: 'orders_daily failed after 3 attempts',
      description: 'step load threw: connection refused\nsee the run report',
    });
    expect(held?.status.state).toBe('active');
    expect(Date.parse(held?.startsAt ?? '')).toBe(firingAlert.startsAt.getTime());
    const endsIn = Date.parse(held?.endsAt ?? '') - before;
    expect(endsIn).toBeGreaterThan(23 * 3_600_000);
    expect(endsIn).toBeLessThan(25 * 3_600_000);
    expect(held?.generatorURL).toBe('http://sluice.example/runs/20261207-0600-abc');

    // A repeat with another annotation is the same Alertmanager alert: same labels, same fingerprint.
    await channel().send(
      [{ ...firing, notification: 'repeat', description: 'still failing' }],
      signal(),
    );
    const [repeated, ...copies] = await alertsOf(fingerprint);
    expect(copies).toHaveLength(0);
    expect(repeated?.fingerprint).toBe(held?.fingerprint);
    expect(repeated?.annotations['description']).toBe('still failing');

    // The resolution ends the very alert that fired: nothing active remains for the fingerprint.
    const endsAt = new Date(Date.now() - 1000);
    await channel().send(
      [{ ...firing, state: 'resolved', notification: 'resolved', endsAt }],
      signal(),
    );
    expect(await alertsOf(fingerprint)).toEqual([]);
  });

  it('posts a whole group in one request, and honours expireAfter', async () => {
    const group = ['0000000000000001', '0000000000000002', '0000000000000003'].map(
      (fingerprint) => ({ ...firingAlert, fingerprint, rule: `rule_${fingerprint.slice(-1)}` }),
    );
    const before = Date.now();
    await channel({ expireAfter: '2h' }).send(group, signal());
    for (const alert of group) {
      const [held] = await alertsOf(alert.fingerprint);
      expect(held?.labels['alertname']).toBe(alert.rule);
      const endsIn = Date.parse(held?.endsAt ?? '') - before;
      expect(endsIn).toBeGreaterThan(2 * 3_600_000 - 60_000);
      expect(endsIn).toBeLessThan(2 * 3_600_000 + 60_000);
    }
  });

  it('reports what Alertmanager refused, for good', async () => {
    const backwards: AlertNotification = {
      ...firingAlert,
      fingerprint: 'ffff000000000001',
      state: 'resolved',
      notification: 'resolved',
      endsAt: new Date(firingAlert.startsAt.getTime() - 3_600_000),
    };
    const error = (await rejection(channel().send([backwards], signal()))) as AlertDeliveryError;
    expect(error).toBeInstanceOf(AlertDeliveryError);
    expect(error.code).toBe('PERMANENT');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/answered HTTP 400: .*start time must be before end time/);
  });

  it('reports an Alertmanager that is down as retryable', async () => {
    const dead = createAlertChannel(
      alertChannelConfig.parse({
        type: 'alertmanager',
        name: 'am',
        url: 'http://127.0.0.1:1',
        retries: 0,
      }),
    );
    const error = (await rejection(dead.send([firingAlert], signal()))) as AlertDeliveryError;
    expect(error.code).toBe('RETRYABLE');
    expect(error.message).toContain('network error');
  });
});
