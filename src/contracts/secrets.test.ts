import { describe, expect, it } from 'vitest';
import {
  SecretRedactor,
  addConfigSecrets,
  addEnvironmentSecrets,
  redactingLogger,
} from './secrets.js';

describe('SecretRedactor', () => {
  const secret = 'Zq0123456789+K/x!';

  it('masks a secret as given, percent-encoded, JSON-escaped and base64-encoded', () => {
    const redactor = new SecretRedactor().add(secret, 'etl');
    const texts = [
      secret,
      encodeURIComponent(secret),
      JSON.stringify(secret),
      Buffer.from(secret).toString('base64'),
      Buffer.from(`etl:${secret}`).toString('base64'),
      // inside longer base64 text, at each alignment
      Buffer.from(`someone-else:${secret}`).toString('base64'),
      Buffer.from(`x:${secret}`).toString('base64'),
      Buffer.from(`xy:${secret}`).toString('base64'),
      // lower-case and double percent-encoding, PHP's escaped slash, HTML
      encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      encodeURIComponent(encodeURIComponent(secret)),
      JSON.stringify(secret).replaceAll('/', '\\/'),
    ];
    for (const text of texts) {
      const redacted = redactor.redact(`before ${text} after`);
      expect(redacted, text).toContain('***');
      for (const form of [secret, encodeURIComponent(secret)])
        expect(redacted, text).not.toContain(form);
    }
    expect(redactor.redact('nothing to hide')).toBe('nothing to hide');
    const markup = new SecretRedactor().add('a<b>&"c\'d-secret');
    expect(markup.redact('<p>a&lt;b&gt;&amp;&quot;c&#39;d-secret</p>')).toBe('<p>***</p>');
  });

  it('ignores secrets too short to find safely', () => {
    expect(new SecretRedactor().add('pw').redact('pwned')).toBe('pwned');
  });

  it('redacts an error and its causes in place, keeping its class', () => {
    const redactor = new SecretRedactor().add(secret);
    const error = new TypeError(`bad ${secret}`, { cause: new Error(`inner ${secret}`) });
    expect(redactor.redactError(error)).toBe(error);
    expect(error.message).toBe('bad ***');
    expect((error.cause as Error).message).toBe('inner ***');
    expect(error.stack).not.toContain(secret);
  });
});

describe('addConfigSecrets', () => {
  it('finds env secrets, secret-like keys, api_key values, Authorization credentials and URL passwords', () => {
    const redactor = addConfigSecrets(
      new SecretRedactor(),
      {
        url: 'postgres://etl:url-pass%2B1@db/shop?password=query-pass',
        auth: { type: 'api_key', name: 'k', value: 'api-key-value' },
        headers: { Authorization: 'Token header-token', 'X-Api-Key': 'header-key' },
        nested: [{ clientSecret: { env: 'SECRETS_UNIT_TEST' } }],
        tokenUrl: 'https://auth.example.com/token',
        table: 'orders',
      },
      { SECRETS_UNIT_TEST: 'from-the-env' },
    );
    const said = redactor.redact(
      'url-pass+1 url-pass%2B1 query-pass api-key-value header-token header-key from-the-env orders https://auth.example.com/token',
    );
    expect(said).toBe('*** *** *** *** *** *** *** orders https://auth.example.com/token');
  });
});

describe('addConfigSecrets on odd configs', () => {
  it('follows cycles once and skips accessors that throw', () => {
    const config: Record<string, unknown> = { password: 'cyclic-pass' };
    config['self'] = config;
    Object.defineProperty(config, 'broken', {
      enumerable: true,
      get: () => {
        throw new Error('no');
      },
    });
    expect(addConfigSecrets(new SecretRedactor(), config).redact('cyclic-pass')).toBe('***');
  });
});

describe('addEnvironmentSecrets', () => {
  it('takes the values of variables named as credentials, long enough to find safely', () => {
    const redactor = addEnvironmentSecrets(new SecretRedactor(), {
      PGPASSWORD: 'pg-pass-123',
      AWS_SECRET_ACCESS_KEY: 'aws/secret+key',
      SLUICE_WEBHOOK_SECRET_ORDERS: 'hook-secret-1',
      TOKEN_TYPE: 'jwt',
      HOME: '/root/home-folder',
    });
    expect(redactor.redact('pg-pass-123 aws/secret+key hook-secret-1 jwt /root/home-folder')).toBe(
      '*** *** *** jwt /root/home-folder',
    );
  });
});

describe('redactingLogger', () => {
  it('redacts messages, fields, errors and child bindings', () => {
    const lines: unknown[] = [];
    const sink = {
      debug: (f: object, m?: string) => lines.push([f, m]),
      info: (f: object, m?: string) => lines.push([f, m]),
      warn: (f: object, m?: string) => lines.push([f, m]),
      error: (f: object, m?: string) => lines.push([f, m]),
      child: () => sink,
    };
    const logger = redactingLogger(sink, new SecretRedactor().add('s3cret-value'));
    logger.warn(
      { err: new Error('s3cret-value'), deep: { list: ['a s3cret-value'] } },
      'x s3cret-value',
    );
    logger
      .child({ url: 'http://h/?k=s3cret-value' })
      .info({ at: new URL('http://h/s3cret-value') });
    expect(JSON.stringify(lines)).not.toContain('s3cret-value');
    expect(JSON.stringify(lines)).toContain('http://h/***');
  });
});
