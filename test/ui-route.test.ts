import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_CONTENT_SECURITY_POLICY, mountUI } from '../src/server/ui-route.js';

// The routes that serve the built web UI, on a folder laid out like dist/ui.

let dir = '';
const app = new Hono();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-ui-route-'));
  await mkdir(join(dir, 'nested'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Sluice</title>');
  await writeFile(join(dir, 'app.ABC123.js'), 'console.log(1);'.repeat(100));
  await writeFile(join(dir, 'app.ABC123.css'), 'body{}');
  await writeFile(join(dir, '.secret.js'), 'no');
  await writeFile(join(dir, 'nested', 'x.js'), 'no');
  await writeFile(join(dir, 'notes.sh'), 'no');
  mountUI(app, { dir });
  app.notFound((c) => c.json({ error: 'no endpoint', code: 'not_found' }, 404));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mountUI', () => {
  it('answers / and /index.html with the page, no-cache and the security headers', async () => {
    for (const path of ['/', '/index.html']) {
      const answer = await app.request(path);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      expect(answer.headers.get('content-security-policy')).toBe(UI_CONTENT_SECURITY_POLICY);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await answer.text()).toContain('<title>Sluice</title>');
    }
    expect(UI_CONTENT_SECURITY_POLICY).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  it('serves hashed files for a year, gzipped when asked, with their type', async () => {
    const plain = await app.request('/app.ABC123.js');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe('console.log(1);'.repeat(100));
    const zipped = await app.request('/app.ABC123.js', {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('vary')).toBe('Accept-Encoding');
    expect(gunzipSync(Buffer.from(await zipped.arrayBuffer())).toString()).toBe(
      'console.log(1);'.repeat(100),
    );
    expect((await app.request('/app.ABC123.css')).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );
  });

  it('leaves unknown files, dot files, folders, other types and traversal to the 404', async () => {
    for (const path of [
      '/app.NOPE.js',
      '/.secret.js',
      '/nested/x.js',
      '/nested',
      '/notes.sh',
      '/..%2Fpackage.json',
      '/%2e%2e/package.json',
      '/pipelines',
    ]) {
      const answer = await app.request(path);
      expect(answer.status, path).toBe(404);
      expect(((await answer.json()) as { code: string }).code, path).toBe('not_found');
    }
  });

  it('answers 503 with a hint when the UI is not built', async () => {
    const bare = new Hono();
    mountUI(bare, { dir: join(dir, 'missing') });
    const answer = await bare.request('/');
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({
      error: expect.stringContaining('npm run build:ui'),
      code: 'ui_not_built',
    });
  });
});
