import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomHex } from '../src/core/ids.js';
import { tempDir } from './helpers.js';
import { CLICKHOUSE_URL, clickhouseUnavailable } from './support/clickhouse.js';
import { motoServerCommand, startMoto } from './support/moto.js';
import { MQTT_URL, mqttUnavailable } from './support/mqtt.js';
import { mysqlUnavailable } from './support/mysql.js';
import { NATS_URL, createTestStream, natsUnavailable } from './support/nats.js';
import { postgresUnavailable } from './support/postgres.js';
import { REDIS_URL, connectRedis, redisUnavailable } from './support/redis.js';
import type { SluiceExit } from './support/sluice-process.js';
import { runSluice, startSluice } from './support/sluice-process.js';

/**
 * Secrets never leave: for each connector that takes a secret, a pipeline (or stream) that fails
 * is run through the CLI, and everything the run produced (stdout, stderr, every file under the
 * state dir: run reports, quarantine, the embedded store's bytes, and the output folder) is
 * searched for the secret as given, percent-encoded and base64-encoded (alone and as HTTP Basic
 * `user:secret`).
 */

/** A secret with characters that percent-encoding and base64 change. */
const newSecret = (): string => `Zq${randomHex(10)}+K/x!`;

interface Secret {
  readonly value: string;
  /** The user name it is sent with, for the HTTP Basic form `base64(user:secret)`. */
  readonly user?: string;
}

/** The forms of a secret that must not appear anywhere. */
function forms(secret: Secret): { readonly name: string; readonly text: string }[] {
  const { value, user } = secret;
  const list = [
    { name: 'plain', text: value },
    { name: 'percent-encoded', text: encodeURIComponent(value) },
    { name: 'base64', text: Buffer.from(value).toString('base64') },
    { name: 'base64 (unpadded)', text: Buffer.from(value).toString('base64').replace(/=+$/, '') },
  ];
  if (user !== undefined) {
    list.push({
      name: 'base64 of user:secret',
      text: Buffer.from(`${user}:${value}`).toString('base64'),
    });
    list.push({
      name: 'base64 of percent-encoded user:secret',
      text: Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(value)}`).toString(
        'base64',
      ),
    });
  }
  return list;
}

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Every place a run wrote to that holds one of the secrets, as `where: form`. */
async function leaksOf(
  runs: readonly SluiceExit[],
  dirs: readonly string[],
  secrets: readonly Secret[],
): Promise<string[]> {
  const places: { where: string; bytes: Buffer }[] = runs.flatMap((run, i) => [
    { where: `stdout of run ${i + 1}`, bytes: Buffer.from(run.stdout) },
    { where: `stderr of run ${i + 1}`, bytes: Buffer.from(run.stderr) },
  ]);
  for (const dir of dirs)
    for (const file of await filesUnder(dir))
      places.push({ where: file, bytes: await readFile(file) });
  const leaks: string[] = [];
  for (const { where, bytes } of places)
    for (const secret of secrets)
      for (const form of forms(secret))
        if (bytes.includes(form.text)) leaks.push(`${where}: ${form.name} ${form.text}`);
  return leaks;
}

/** A project folder with one pipeline (or stream) file. */
async function project(file: string, text: string): Promise<string> {
  const dir = await tempDir('sluice-secrets-');
  await mkdir(join(dir, file, '..'), { recursive: true });
  await writeFile(join(dir, file), text);
  return dir;
}

/**
 * Runs a batch pipeline twice (report table with debug logs and SLUICE_DEBUG, then `--json`),
 * expects both to fail, and returns the runs.
 */
async function failingRuns(dir: string, env: NodeJS.ProcessEnv = {}): Promise<SluiceExit[]> {
  const first = await runSluice(['run', 'pipeline.ts', '--log-level', 'debug'], {
    cwd: dir,
    env: { ...env, SLUICE_DEBUG: '1' },
  });
  const second = await runSluice(['run', 'pipeline.ts', '--json'], { cwd: dir, env });
  for (const run of [first, second])
    expect(
      run.code,
      `the run should fail: ${run.stdout.slice(-1500)}${run.stderr.slice(-1500)}`,
    ).toBe(1);
  return [first, second];
}

const restPipeline = (config: Record<string, unknown>): string => `
import { pipeline, ref, sink, source } from 'sluice';
export default pipeline('secrets_rest', {
  steps: {
    items: source.rest(${JSON.stringify(config)}),
    out: sink.parquet({ input: ref('items'), path: 'out/items.parquet' }),
  },
});
`;

/** What an echoing API saw of a request: method, URL, headers and body. */
async function echo(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return { method: req.method, url: req.url, headers: req.headers, body };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

// Each test runs the CLI two to four times; on a busy machine that takes a while.
describe('secrets never leave', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** An HTTP server on 127.0.0.1 (port 0), closed after the tests. */
  async function serve(handler: Handler): Promise<string> {
    const server = createServer((req, res) => {
      Promise.resolve(handler(req, res)).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const address = server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  /** An API that answers every request with `status` and the request echoed as JSON. */
  const echoingAPI = (status: number): Promise<string> =>
    serve(async (req, res) => {
      const seen = await echo(req);
      res.writeHead(status, { 'content-type': 'application/json' });
      // What such APIs say first: the credential they were given, then the whole request.
      res.end(
        JSON.stringify({
          error: 'bad request',
          authorization: req.headers['authorization'],
          key: req.headers['x-api-key'],
          url: req.url,
          youSent: seen,
        }),
      );
    });

  const restCases: {
    readonly name: string;
    readonly status: number;
    readonly config: (secret: string) => Record<string, unknown>;
    readonly env?: (secret: string) => NodeJS.ProcessEnv;
    readonly user?: string;
  }[] = [
    {
      name: 'a bearer token from the environment, echoed in a 400',
      status: 400,
      config: () => ({ auth: { type: 'bearer', token: { env: 'SECRETS_TEST_TOKEN' } } }),
      env: (secret) => ({ SECRETS_TEST_TOKEN: secret }),
    },
    {
      name: 'a basic-auth password, echoed in a 401',
      status: 401,
      config: (secret) => ({ auth: { type: 'basic', username: 'etl', password: secret } }),
      user: 'etl',
    },
    {
      name: 'an API key header, echoed in a 500',
      status: 500,
      config: (secret) => ({
        auth: { type: 'api_key', name: 'X-Api-Key', value: secret },
        requestRetries: 0,
      }),
    },
    {
      name: 'an API key in the query string, echoed in a 400',
      status: 400,
      config: (secret) => ({ auth: { type: 'api_key', in: 'query', name: 'key', value: secret } }),
    },
    {
      name: 'an Authorization header set in headers, echoed in a 403',
      status: 403,
      config: (secret) => ({ headers: { Authorization: `Token ${secret}` } }),
    },
    {
      name: 'a password in the URL, echoed in a 400',
      status: 400,
      config: () => ({}),
      user: 'etl',
    },
  ];

  for (const testCase of restCases) {
    it(`REST: ${testCase.name}`, async () => {
      const secret = newSecret();
      const base = await echoingAPI(testCase.status);
      const url = testCase.name.startsWith('a password in the URL')
        ? base.replace('http://', `http://etl:${encodeURIComponent(secret)}@`)
        : base;
      const dir = await project(
        'pipeline.ts',
        restPipeline({ url: `${url}/items`, ...testCase.config(secret) }),
      );
      const runs = await failingRuns(dir, testCase.env?.(secret) ?? {});
      const leaks = await leaksOf(
        runs,
        [join(dir, '.sluice'), join(dir, 'out')],
        [{ value: secret, ...(testCase.user === undefined ? {} : { user: testCase.user }) }],
      );
      expect(leaks).toEqual([]);
      const said = runs.map((r) => r.stdout + r.stderr).join('\n');
      expect(said).toMatch(new RegExp(`HTTP ${testCase.status}`));
      // The echo reached the message, with the secret masked (5xx answers are retried, and
      // their bodies are not quoted).
      if (testCase.status !== 500) expect(said).toContain('***');
    });
  }

  it('REST: an OAuth2 token endpoint that echoes the client secret in its error', async () => {
    const secret = newSecret();
    const base = await serve(async (req, res) => {
      const seen = await echo(req);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: 'invalid_client',
          error_description: `client refused; you sent ${JSON.stringify(seen)} and we expected a secret other than ${secret}`,
        }),
      );
    });
    const dir = await project(
      'pipeline.ts',
      restPipeline({
        url: `${base}/items`,
        auth: {
          type: 'oauth2_client_credentials',
          tokenUrl: `${base}/token`,
          clientId: 'sluice-app',
          clientSecret: { env: 'SECRETS_TEST_CLIENT_SECRET' },
        },
      }),
    );
    const runs = await failingRuns(dir, { SECRETS_TEST_CLIENT_SECRET: secret });
    const leaks = await leaksOf(
      runs,
      [join(dir, '.sluice'), join(dir, 'out')],
      [{ value: secret, user: 'sluice-app' }],
    );
    expect(leaks).toEqual([]);
    const said = runs.map((r) => r.stdout + r.stderr).join('\n');
    expect(said).toMatch(/OAuth2 token request .* failed: HTTP 401 invalid_client: client refused/);
    expect(said).toContain('***');
  });

  it('REST: an API that echoes the access token obtained with OAuth2', async () => {
    const secret = newSecret();
    const accessToken = `at-${randomHex(16)}`;
    const base = await serve(async (req, res) => {
      const seen = await echo(req);
      if (req.url?.startsWith('/token') === true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: accessToken, expires_in: 3600 }));
        return;
      }
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `token ${req.headers['authorization']} refused`, seen }));
    });
    const dir = await project(
      'pipeline.ts',
      restPipeline({
        url: `${base}/items`,
        auth: {
          type: 'oauth2_client_credentials',
          tokenUrl: `${base}/token`,
          clientId: 'sluice-app',
          clientSecret: secret,
        },
      }),
    );
    const runs = await failingRuns(dir);
    const leaks = await leaksOf(
      runs,
      [join(dir, '.sluice'), join(dir, 'out')],
      [{ value: secret, user: 'sluice-app' }, { value: accessToken }],
    );
    expect(leaks).toEqual([]);
    const said = runs.map((r) => r.stdout + r.stderr).join('\n');
    expect(said).toMatch(/HTTP 400/);
    expect(said).toContain('Bearer ***');
  });

  it('webhook stream sink: a receiver that echoes the headers and the signature in a 400', async () => {
    const secret = newSecret();
    const signing = newSecret();
    const receiver = await serve(async (req, res) => {
      const seen = await echo(req);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ refused: req.headers['authorization'], seen }));
    });
    const dir = await project(
      'stream.ts',
      `
import { stream, streamSink, streamSource } from 'sluice/stream';
export default stream('secrets_webhook', {
  source: streamSource.files({ path: 'in' }),
  eventTime: () => Date.now(),
  sink: streamSink.webhook(${JSON.stringify({
    url: `${receiver}/hook`,
    headers: { Authorization: { env: 'SECRETS_TEST_HOOK_TOKEN' } },
    signingSecret: signing,
  })}),
  checkpoint: { every: '200ms' },
});
`,
    );
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'a.ndjson'), '{"id": 1}\n{"id": 2}\n');
    const run = await failingStream(dir, { SECRETS_TEST_HOOK_TOKEN: `Bearer ${secret}` });
    const leaks = await leaksOf(
      [run],
      [join(dir, '.sluice'), join(dir, 'out')],
      [{ value: secret }, { value: signing }],
    );
    expect(leaks).toEqual([]);
    expect(run.stderr).toMatch(/HTTP 400/);
    expect(run.stderr).toContain('***');
  });

  describe('PostgreSQL', async () => {
    const missing = await postgresUnavailable();
    it.skipIf(missing !== undefined)(
      'a password in the URL, with bad SQL and with a database that does not exist',
      async () => {
        const secret = newSecret();
        const user = 'postgres';
        const url = (database: string): string =>
          `postgres://${user}:${encodeURIComponent(secret)}@127.0.0.1:5432/${database}`;
        for (const config of [
          {
            url: url('postgres'),
            query: `SELECT no_such_column FROM pg_class WHERE relname = 'x'`,
          },
          { url: url(`sluice_missing_${randomHex(6)}`), table: 'orders' },
        ]) {
          const dir = await project(
            'pipeline.ts',
            `
import { pipeline, ref, sink, source } from 'sluice';
export default pipeline('secrets_pg', {
  steps: {
    rows: source.postgres(${JSON.stringify(config)}),
    out: sink.parquet({ input: ref('rows'), path: 'out/rows.parquet' }),
  },
});
`,
          );
          const runs = await failingRuns(dir);
          const leaks = await leaksOf(
            runs,
            [join(dir, '.sluice'), join(dir, 'out')],
            [{ value: secret, user }],
          );
          expect(leaks).toEqual([]);
        }
      },
    );
  });

  describe('MariaDB', async () => {
    const missing = await mysqlUnavailable();
    it.skipIf(missing !== undefined)(
      'a wrong password, in the URL and in the password field',
      async () => {
        const secret = newSecret();
        for (const config of [
          { url: `mysql://root:${encodeURIComponent(secret)}@127.0.0.1:3306/mysql`, table: 'user' },
          { host: '127.0.0.1', port: 3306, user: 'root', password: secret, table: 'user' },
        ]) {
          const dir = await project(
            'pipeline.ts',
            `
import { pipeline, ref, sink, source } from 'sluice';
export default pipeline('secrets_mysql', {
  steps: {
    rows: source.mysql(${JSON.stringify(config)}),
    out: sink.parquet({ input: ref('rows'), path: 'out/rows.parquet' }),
  },
});
`,
          );
          const runs = await failingRuns(dir);
          expect(runs.map((r) => r.stdout + r.stderr).join('\n')).toMatch(/denied|password/i);
          const leaks = await leaksOf(
            runs,
            [join(dir, '.sluice'), join(dir, 'out')],
            [{ value: secret, user: 'root' }],
          );
          expect(leaks).toEqual([]);
        }
      },
    );
  });

  describe('ClickHouse', async () => {
    const missing = await clickhouseUnavailable();
    it.skipIf(missing !== undefined)('a password the server refuses, in the URL', async () => {
      const secret = newSecret();
      const origin = new URL(CLICKHOUSE_URL);
      const url = `${origin.protocol}//default:${encodeURIComponent(secret)}@${origin.host}/default`;
      const dir = await project(
        'pipeline.ts',
        `
import { pipeline, ref, sink, source } from 'sluice';
export default pipeline('secrets_clickhouse', {
  steps: {
    rows: source.clickhouse(${JSON.stringify({ url, table: 'system.one' })}),
    out: sink.parquet({ input: ref('rows'), path: 'out/rows.parquet' }),
  },
});
`,
      );
      const runs = await failingRuns(dir);
      const leaks = await leaksOf(
        runs,
        [join(dir, '.sluice'), join(dir, 'out')],
        [{ value: secret, user: 'default' }],
      );
      expect(leaks).toEqual([]);
      expect(runs.map((r) => r.stdout + r.stderr).join('\n')).toMatch(/password|authenticat/i);
    });
  });

  describe('S3 (Delta table on moto)', () => {
    const moto = motoServerCommand();
    it.skipIf(moto === undefined)(
      'a secret access key from the environment, writing to a bucket that does not exist',
      async () => {
        const server = await startMoto(moto as string);
        cleanups.push(() => server.stop());
        const secret = newSecret();
        const dir = await project(
          'pipeline.ts',
          `
import { pipeline, ref, sink, sql } from 'sluice';
export default pipeline('secrets_s3', {
  steps: {
    one: sql\`SELECT 1 AS x\`,
    out: sink.delta({ input: ref('one'), path: 's3://sluice-missing-${randomHex(6)}/t' }),
  },
});
`,
        );
        const runs = await failingRuns(dir, {
          AWS_ENDPOINT_URL: server.endpoint,
          AWS_ACCESS_KEY_ID: 'sluice-test-id',
          AWS_SECRET_ACCESS_KEY: secret,
          AWS_REGION: 'us-east-1',
          SLUICE_CACHE_DIR: join(dir, 'cache'),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        });
        const leaks = await leaksOf(
          runs,
          [join(dir, '.sluice'), join(dir, 'out'), join(dir, 'cache')],
          [{ value: secret, user: 'sluice-test-id' }],
        );
        expect(leaks).toEqual([]);
      },
    );
  });

  /** A local port nothing listens on. */
  async function closedPort(): Promise<number> {
    const server = createNetServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  /** Runs a stream file that must stop with an error, within a generous deadline. */
  async function failingStream(dir: string, env: NodeJS.ProcessEnv = {}): Promise<SluiceExit> {
    const stream = startSluice(['stream', 'stream.ts', '--log-level', 'debug'], {
      cwd: dir,
      env: { ...env, SLUICE_DEBUG: '1' },
    });
    cleanups.push(() => stream.stop('SIGKILL'));
    const deadline = new Promise<'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 60_000);
      void stream.exited.finally(() => clearTimeout(timer));
    });
    const outcome = await Promise.race([stream.exited, deadline]);
    if (outcome === 'timeout') {
      const stopped = await stream.stop('SIGTERM');
      throw new Error(`the stream did not fail within 60 s: ${stopped.stderr.slice(-1500)}`);
    }
    expect(outcome.code, outcome.stderr.slice(-1500)).not.toBe(0);
    return outcome;
  }

  const streamFile = (source: string): string => `
import { stream, streamSink, streamSource } from 'sluice/stream';
export default stream('secrets_stream', {
  source: ${source},
  eventTime: () => Date.now(),
  sink: streamSink.files({ path: 'out/events' }),
  checkpoint: { every: '1s' },
});
`;

  describe('Redis', async () => {
    const missing = await redisUnavailable();
    it.skipIf(missing !== undefined)(
      'a password in a URL that refuses, and a password from the environment with a key that is no stream',
      async () => {
        const secret = newSecret();
        const port = await closedPort();
        const key = `secrets:${randomHex(6)}`;
        const redis = await connectRedis();
        cleanups.push(async () => {
          await redis.del(key);
          redis.destroy();
        });
        await redis.set(key, 'not a stream');
        for (const config of [
          { url: `redis://default:${encodeURIComponent(secret)}@127.0.0.1:${port}`, keys: [key] },
          { url: REDIS_URL, password: { env: 'SECRETS_TEST_REDIS' }, keys: [key] },
        ]) {
          const dir = await project(
            'stream.ts',
            streamFile(`streamSource.redis(${JSON.stringify(config)})`),
          );
          const run = await failingStream(dir, { SECRETS_TEST_REDIS: secret });
          expect(run.stderr).toMatch(/ECONNREFUSED|WRONGTYPE/);
          const leaks = await leaksOf(
            [run],
            [join(dir, '.sluice'), join(dir, 'out')],
            [{ value: secret, user: 'default' }],
          );
          expect(leaks).toEqual([]);
        }
      },
    );
  });

  describe('NATS', async () => {
    const missing = await natsUnavailable();
    it.skipIf(missing !== undefined)(
      'a token with a stream that does not exist, and a password in a URL that refuses',
      async () => {
        const secret = newSecret();
        const nats = await createTestStream();
        cleanups.push(() => nats.drop());
        const port = await closedPort();
        for (const config of [
          { servers: NATS_URL, token: secret, stream: `${nats.name}_MISSING` },
          {
            servers: `nats://etl:${encodeURIComponent(secret)}@127.0.0.1:${port}`,
            stream: nats.name,
          },
        ]) {
          const dir = await project(
            'stream.ts',
            streamFile(`streamSource.nats(${JSON.stringify(config)})`),
          );
          const run = await failingStream(dir);
          const leaks = await leaksOf(
            [run],
            [join(dir, '.sluice'), join(dir, 'out')],
            [{ value: secret, user: 'etl' }],
          );
          expect(leaks).toEqual([]);
        }
      },
    );
  });

  describe('MQTT', async () => {
    const missing = await mqttUnavailable();
    it.skipIf(missing !== undefined)('a password, to a broker that cannot be reached', async () => {
      const secret = newSecret();
      const port = await closedPort();
      for (const config of [
        {
          url: `mqtt://etl:${encodeURIComponent(secret)}@127.0.0.1:${port}`,
          topics: ['secrets/#'],
        },
        {
          url: MQTT_URL.replace(/:\d+$/, `:${port}`),
          username: 'etl',
          password: { env: 'SECRETS_TEST_MQTT' },
          topics: ['secrets/#'],
        },
      ]) {
        const dir = await project(
          'stream.ts',
          streamFile(`streamSource.mqtt(${JSON.stringify(config)})`),
        );
        const run = await failingStream(dir, { SECRETS_TEST_MQTT: secret });
        const leaks = await leaksOf(
          [run],
          [join(dir, '.sluice'), join(dir, 'out')],
          [{ value: secret, user: 'etl' }],
        );
        expect(leaks).toEqual([]);
      }
    });
  });
});
