import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError, SluiceError } from '../../core/errors.js';
import { createAvroType } from './avro-type.js';
import { createRegistryDecoder } from './registry-decoder.js';
import { SchemaRegistryClient } from './schema-registry.js';
import { encodeConfluent } from './wire-format.js';

/**
 * A test double of the Confluent Schema Registry REST subset the client uses (no registry can
 * be installed on this machine): ids, subjects with versions, BACKWARD compatibility (a new
 * schema may only add fields that have defaults), basic auth.
 */
function startRegistryDouble(credentials: { username: string; password: string }) {
  const schemas: string[] = [];
  const subjects = new Map<string, number[]>();
  let delayMs = 0;
  const expectedAuth = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(body));
  };
  const compatible = (previous: string, next: string): boolean => {
    const fields = (s: string) =>
      (JSON.parse(s) as { fields?: { name: string; default?: unknown }[] }).fields ?? [];
    const old = new Set(fields(previous).map((f) => f.name));
    return fields(next).every((f) => old.has(f.name) || 'default' in f);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (req.headers.authorization !== expectedAuth)
      return send(res, 401, { error_code: 401, message: 'Unauthorized' });
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const url = decodeURIComponent(req.url ?? '');
    let match: RegExpExecArray | null;
    if (req.method === 'GET' && (match = /^\/schemas\/ids\/(\d+)$/.exec(url))) {
      const schema = schemas[Number(match[1]) - 1];
      return schema === undefined
        ? send(res, 404, { error_code: 40403, message: 'Schema not found' })
        : send(res, 200, { schema });
    }
    if (req.method === 'POST' && (match = /^\/subjects\/([^/]+)\/versions$/.exec(url))) {
      const { schema } = JSON.parse(text) as { schema: string };
      try {
        JSON.parse(schema);
      } catch {
        return send(res, 422, { error_code: 42201, message: 'Invalid schema' });
      }
      const versions = subjects.get(match[1] as string) ?? [];
      const latest = versions.at(-1);
      if (latest !== undefined && !compatible(schemas[latest - 1] as string, schema))
        return send(res, 409, {
          error_code: 409,
          message: 'Schema being registered is incompatible with an earlier schema',
        });
      let id = schemas.indexOf(schema) + 1;
      if (id === 0) id = schemas.push(schema);
      if (!versions.includes(id)) versions.push(id);
      subjects.set(match[1] as string, versions);
      return send(res, 200, { id });
    }
    if (req.method === 'GET' && (match = /^\/subjects\/([^/]+)\/versions\/latest$/.exec(url))) {
      const versions = subjects.get(match[1] as string);
      if (versions === undefined)
        return send(res, 404, { error_code: 40401, message: `Subject '${match[1]}' not found.` });
      const id = versions.at(-1) as number;
      return send(res, 200, {
        subject: match[1],
        id,
        version: versions.length,
        schema: schemas[id - 1],
      });
    }
    if (
      req.method === 'POST' &&
      (match = /^\/compatibility\/subjects\/([^/]+)\/versions\/latest$/.exec(url))
    ) {
      const versions = subjects.get(match[1] as string);
      if (versions === undefined)
        return send(res, 404, { error_code: 40401, message: `Subject '${match[1]}' not found.` });
      const { schema } = JSON.parse(text) as { schema: string };
      return send(res, 200, {
        is_compatible: compatible(schemas[(versions.at(-1) as number) - 1] as string, schema),
      });
    }
    send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' });
  };
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(req, res).catch((e: unknown) => send(res, 500, { error_code: 500, message: String(e) }));
  });
  return {
    server,
    requests,
    setDelay: (ms: number) => {
      delayMs = ms;
    },
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
  };
}

const auth = { username: 'sluice', password: 's3cret' };
const v1 = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'amount', type: 'double' },
  ],
};
const v2 = {
  ...v1,
  fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }],
};
const breaking = { ...v1, fields: [...v1.fields, { name: 'sku', type: 'string' }] };

async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe('schema registry client (against a local test double of the REST API)', () => {
  const double = startRegistryDouble(auth);
  let url = '';
  beforeAll(async () => {
    url = await double.listen();
  });
  afterAll(() => {
    double.server.close();
  });

  it('registers, reads by id (cached), reads the latest version and checks compatibility', async () => {
    const client = new SchemaRegistryClient({ url, auth });
    const subject = `orders-${Math.random().toString(36).slice(2)}-value`;
    const id1 = await client.register(subject, JSON.stringify(v1));
    const id2 = await client.register(subject, JSON.stringify(v2));
    expect(id2).not.toBe(id1);
    expect(await client.latest(subject)).toMatchObject({ subject, id: id2, version: 2 });
    expect(await client.isCompatible(subject, JSON.stringify(breaking))).toBe(false);
    expect(await client.isCompatible(subject, JSON.stringify(v2))).toBe(true);

    const fresh = new SchemaRegistryClient({ url, auth });
    const before = double.requests.length;
    expect(JSON.parse(await fresh.schemaById(id1))).toEqual(v1);
    expect(JSON.parse(await fresh.schemaById(id1))).toEqual(v1);
    expect(double.requests.length - before).toBe(1);
  });

  it('decodes wire-format messages, resolving the writer schema to a reader schema', async () => {
    const client = new SchemaRegistryClient({ url, auth });
    const subject = `payments-${Math.random().toString(36).slice(2)}-value`;
    const id = await client.register(subject, JSON.stringify(v1));
    const message = encodeConfluent(id, createAvroType(v1), { id: 7n, amount: 9.5 });
    expect(await createRegistryDecoder(client)(message)).toEqual({ id: 7n, amount: 9.5 });
    expect(await createRegistryDecoder(client, v2)(message)).toEqual({
      id: 7n,
      amount: 9.5,
      note: null,
    });
  });

  it('says clearly when a subject or id does not exist (404)', async () => {
    const client = new SchemaRegistryClient({ url, auth });
    const missing = await failure(client.latest('no-such-subject'));
    expect(missing).toBeInstanceOf(PermanentError);
    expect(missing.message).toMatch(
      /subject "no-such-subject" not found \(HTTP 404, error 40401\)/,
    );
    expect(missing.hint).toMatch(/<topic>-value/);
    expect((await failure(client.schemaById(999))).message).toMatch(/schema id 999 not found/);
  });

  it('refuses an incompatible schema with 409 and says what to do', async () => {
    const client = new SchemaRegistryClient({ url, auth });
    const subject = `inventory-${Math.random().toString(36).slice(2)}-value`;
    await client.register(subject, JSON.stringify(v1));
    const error = await failure(client.register(subject, JSON.stringify(breaking)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/incompatible with subject "inventory-.*" \(HTTP 409\)/);
    expect(error.hint).toMatch(/defaults/);
  });

  it('reports bad credentials (401) as permanent', async () => {
    const client = new SchemaRegistryClient({
      url,
      auth: { username: 'sluice', password: 'wrong' },
    });
    const error = await failure(client.latest('x'));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/refused the credentials \(HTTP 401\)/);
    expect(error.hint).toMatch(/username and password/);
  });

  it('reports an unreachable registry and a timeout as retryable', async () => {
    const closed = createServer();
    const port = await new Promise<number>((resolve) =>
      closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)),
    );
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await failure(
      new SchemaRegistryClient({ url: `http://127.0.0.1:${port}`, auth }).latest('x'),
    );
    expect(unreachable).toBeInstanceOf(RetryableError);
    expect(unreachable.message).toMatch(/is unreachable: ECONNREFUSED/);

    double.setDelay(500);
    try {
      const slow = await failure(
        new SchemaRegistryClient({ url, auth, timeoutMs: 100 }).latest('x'),
      );
      expect(slow).toBeInstanceOf(RetryableError);
      expect(slow.message).toMatch(
        /did not answer GET \/subjects\/x\/versions\/latest within 100 ms/,
      );
    } finally {
      double.setDelay(0);
    }
  });
});
