import { describe, expect, it } from 'vitest';
import {
  BackoffError,
  ConfigError,
  PermanentError,
  RetryableError,
  SluiceError,
  UserCodeError,
  describeCause,
  formatDiagnostics,
} from './errors.js';
import { isValidStepId, newRunId, randomHex } from './ids.js';

describe('errors', () => {
  it('carry stable codes, hints and causes', () => {
    const cause = new TypeError('x is undefined');
    const error = new UserCodeError('enrich', cause);
    expect(error).toBeInstanceOf(SluiceError);
    expect(error.code).toBe('USER_CODE_FAILED');
    expect(error.message).toBe('Step "enrich" threw: TypeError: x is undefined');
    expect(error.cause).toBe(cause);
    expect(error.stepId).toBe('enrich');
    expect(error.name).toBe('UserCodeError');
  });

  it('type their retry meaning', () => {
    expect(new RetryableError('reset').retryable).toBe(true);
    expect(new BackoffError('429', 30_000).retryable).toBe(true);
    expect(new BackoffError('429', 30_000).waitMs).toBe(30_000);
    expect(new PermanentError('bad password').retryable).toBe(false);
    expect(new UserCodeError('s', new RetryableError('reset')).retryable).toBe(true);
    expect(new UserCodeError('s', new Error('bug')).retryable).toBe(false);
  });

  it('list every diagnostic with its place and hint', () => {
    const error = new ConfigError([
      {
        code: 'unknown-ref',
        message: 'ref("ordrs") names no step',
        stepId: 'daily',
        file: '/p.ts',
        line: 12,
        hint: 'did you mean ref("orders")?',
      },
      { code: 'cycle', message: 'steps form a cycle: a -> b -> a' },
    ]);
    expect(error.message).toBe(
      [
        '2 problems found:',
        '  - /p.ts:12 step "daily": ref("ordrs") names no step',
        '    hint: did you mean ref("orders")?',
        '  - steps form a cycle: a -> b -> a',
      ].join('\n'),
    );
    expect(formatDiagnostics([{ code: 'x', message: 'm', path: 'schema.a' }])).toBe(
      '1 problem found:\n  - at schema.a: m',
    );
  });

  it('describe any thrown value', () => {
    expect(describeCause('plain')).toBe('plain');
    expect(describeCause({ a: 1 })).toBe('{"a":1}');
    expect(describeCause(new RangeError('r'))).toBe('RangeError: r');
  });
});

describe('ids', () => {
  it('make sortable, file-safe run ids', () => {
    const id = newRunId(new Date('2026-11-22T16:05:12.345Z'));
    expect(id).toMatch(/^run_20261122T160512Z_[0-9a-f]{8}$/);
    expect(newRunId(new Date('2026-11-22T16:05:13Z')) > id).toBe(true);
    expect(randomHex(3)).toMatch(/^[0-9a-f]{6}$/);
  });

  it('accept only SQL-safe step names', () => {
    expect(isValidStepId('daily_orders')).toBe(true);
    expect(isValidStepId('_tmp1')).toBe(true);
    expect(isValidStepId('daily-orders')).toBe(false);
    expect(isValidStepId('1st')).toBe(false);
    expect(isValidStepId('')).toBe(false);
  });
});
