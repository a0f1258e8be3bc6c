// Notifications and a log capture shared by the alert channel tests.
import type { AlertNotification } from '../../src/observe/alerts/notification.js';
import { createLogger } from '../../src/observe/logger.js';
import type { Logger } from '../../src/core/logger.js';

/** A first notification of a failed run. */
export const firingAlert: AlertNotification = {
  fingerprint: 'b7c1e0d2a9f4c3e1',
  rule: 'run_failed',
  state: 'firing',
  severity: 'critical',
  summary: 'orders_daily failed after 3 attempts',
  description: 'step load threw: connection refused\nsee the run report',
  labels: { pipeline: 'orders_daily', owner: 'data-eng' },
  startsAt: new Date('2026-12-07T06:00:00.000Z'),
  url: 'http://sluice.example/runs/20261207-0600-abc',
  notification: 'first',
};

/** The resolution of a freshness breach. */
export const resolvedAlert: AlertNotification = {
  fingerprint: '0c9d8e7f6a5b4c3d',
  rule: 'freshness',
  state: 'resolved',
  severity: 'warning',
  summary: 'orders is fresh again',
  labels: { pipeline: 'orders_daily', dataset: 'orders' },
  startsAt: new Date('2026-12-07T05:00:00.000Z'),
  endsAt: new Date('2026-12-07T07:30:00.000Z'),
  notification: 'resolved',
};

/** A real JSON logger (the one the CLI uses) whose lines are kept, for checking what was logged. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    format: 'json',
    level: 'debug',
    write: (line) => void lines.push(line),
  });
  return { logger, lines };
}

/** Everything an error can show: message, hint, stack and those of its causes. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    parts.push(
      current.message,
      current.stack ?? '',
      String((current as { hint?: unknown }).hint ?? ''),
    );
    current = current.cause;
  }
  if (parts.length === 0) parts.push(String(error));
  return parts.join('\n');
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
