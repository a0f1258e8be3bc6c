import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { APITokens } from '../src/orchestrator/api-tokens.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { apiTestProject } from './api-v1-support.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

export type JSONValue = Record<string, unknown>;

/** The store dialects an `/api/v1` test runs on; PostgreSQL skips with its reason when absent. */
export async function apiDialects(): Promise<{ name: string; skip: string | undefined }[]> {
  const pgSkip = await postgresUnavailable();
  if (pgSkip !== undefined) console.warn(`/api/v1 on PostgreSQL skipped: ${pgSkip}`);
  return [
    { name: 'embedded SQLite', skip: undefined },
    { name: 'PostgreSQL', skip: pgSkip },
  ];
}

/** A served `/api/v1` on a fresh store with a read, a trigger and an admin token. */
export interface APIHarness {
  readonly dir: string;
  readonly store: RunStore;
  readonly api: TriggerAPI;
  readonly tokens: Record<'read' | 'trigger' | 'admin', string>;
  call(
    path: string,
    options?: { token?: string | null; method?: string; body?: string },
  ): Promise<{ status: number; body: JSONValue }>;
  close(): Promise<void>;
}

/**
 * Starts `sluice serve --http`'s API on port 0 over a new store of the dialect (a temp SQLite
 * file or a new PostgreSQL database), every response checked against its schema.
 */
export async function startAPIHarness(
  dialect: string,
  options: { readonly tokens?: boolean } = {},
): Promise<APIHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-api-v1b-'));
  await apiTestProject(dir);
  let location = join(dir, '.sluice', 'sluice.db');
  let drop: (() => Promise<void>) | undefined;
  if (dialect === 'PostgreSQL') {
    const db = await createTestDatabase();
    location = db.url;
    drop = db.drop;
  }
  const store = await RunStore.open(location);
  const project = await Project.open(dir);
  const issued = new APITokens(store);
  // Without tokens every request is `anonymous` with the admin role (loopback only).
  const tokens =
    options.tokens === false
      ? { read: '', trigger: '', admin: '' }
      : {
          read: (await issued.create('viewer', 'read')).token,
          trigger: (await issued.create('deployer', 'trigger')).token,
          admin: (await issued.create('operator', 'admin')).token,
        };
  const api = await startTriggerAPI({
    store,
    project,
    port: 0,
    env: {},
    limits: { requestsPerSecond: 100_000, burst: 100_000 },
    apiV1: { checkResponses: true },
  });
  return {
    dir,
    store,
    api,
    tokens,
    async call(path, options = {}) {
      const token = options.token === undefined ? tokens.admin : options.token;
      const response = await fetch(`${api.url}${path}`, {
        method: options.method ?? 'GET',
        headers: token === null || token === '' ? {} : { authorization: `Bearer ${token}` },
        ...(options.body === undefined ? {} : { body: options.body }),
      });
      const text = await response.text();
      try {
        return { status: response.status, body: JSON.parse(text) as JSONValue };
      } catch {
        throw new Error(`${path}: not JSON (${response.status}): ${text.slice(0, 300)}`);
      }
    },
    async close() {
      await api.close();
      await store.close();
      await drop?.();
      await rm(dir, { recursive: true, force: true, maxRetries: 20 });
    },
  };
}

/** Asserts the one error body of `/api/v1`: `{ error, code }` and nothing else. */
export function expectError(
  answer: { status: number; body: JSONValue },
  status: number,
  code: string,
  message?: RegExp,
): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body['code']).toBe(code);
  expect(typeof answer.body['error']).toBe('string');
  expect(Object.keys(answer.body).sort()).toEqual(['code', 'error']);
  if (message !== undefined) expect(answer.body['error']).toMatch(message);
  expect(String(answer.body['error'])).not.toMatch(/\n\s+at /);
}
