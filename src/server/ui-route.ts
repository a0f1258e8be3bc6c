import { readFile, readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Context, Hono } from 'hono';

/**
 * The Content-Security-Policy of the web UI: its own scripts, styles and API only; no inline
 * code, no framing, no other origin.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Options of {@link mountUI}. */
export interface UIRouteOptions {
  /** The built UI (default: the package's `dist/ui`, made by `npm run build:ui`). */
  readonly dir?: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};
/** A built file's name: esbuild's hashed names, no folders, no dot files. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

interface Asset {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly gzipped: Uint8Array<ArrayBuffer>;
  readonly type: string;
}

/**
 * Serves the web UI built by `npm run build:ui` (see docs/ui.md): `GET /` (and `/index.html`)
 * answers the page with `Cache-Control: no-cache`; the hashed scripts, stylesheets and source
 * maps beside it answer with a year-long immutable cache; any other path falls through to the
 * app's other routes (and so to its 404). Every answer carries a strict Content-Security-Policy
 * ({@link UI_CONTENT_SECURITY_POLICY}), `X-Content-Type-Options: nosniff` and
 * `Referrer-Policy: no-referrer`, and is gzipped when the client accepts it. The UI's files are
 * public (they hold no data); its data comes from `/api/v1` with the user's token. A package
 * built without the UI answers `/` with 503 and a hint.
 *
 * @example
 * ```ts
 * const app = new Hono();
 * mountUI(app);
 * // GET / -> index.html; GET /app.3FJ2K.js -> the bundle
 * ```
 */
export function mountUI(app: Hono, options: UIRouteOptions = {}): void {
  const dir = options.dir ?? fileURLToPath(new URL('../../dist/ui/', import.meta.url));
  let names: Promise<ReadonlySet<string>> | undefined;
  const cache = new Map<string, Promise<Asset | undefined>>();
  const listed = (): Promise<ReadonlySet<string>> =>
    (names ??= readdir(dir).then(
      (files) => new Set(files.filter((f) => FILE_NAME.test(f) && TYPES[extname(f)] !== undefined)),
      () => {
        names = undefined; // not built yet: look again on the next request
        return new Set<string>();
      },
    ));
  const asset = (name: string): Promise<Asset | undefined> => {
    let loaded = cache.get(name);
    if (loaded === undefined) {
      loaded = readFile(join(dir, name)).then(
        (body) => ({
          body: new Uint8Array(body),
          gzipped: new Uint8Array(gzipSync(body)),
          type: TYPES[extname(name)] ?? 'application/octet-stream',
        }),
        () => undefined,
      );
      // index.html may be rebuilt while the server runs; hashed files never change.
      if (name !== 'index.html') cache.set(name, loaded);
    }
    return loaded;
  };
  const send = (c: Context, file: Asset, cacheControl: string): Response => {
    secure(c);
    c.header('Content-Type', file.type);
    c.header('Cache-Control', cacheControl);
    c.header('Vary', 'Accept-Encoding');
    const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
    if (gzip) c.header('Content-Encoding', 'gzip');
    return c.body(gzip ? file.gzipped : file.body, 200);
  };
  const page = async (c: Context): Promise<Response> => {
    const index = (await listed()).has('index.html') ? await asset('index.html') : undefined;
    if (index === undefined) {
      secure(c);
      return c.json(
        {
          error:
            'the web UI is not built in this installation; run `npm run build:ui` in the sluice package, or use /api/v1',
          code: 'ui_not_built',
        },
        503,
      );
    }
    return send(c, index, 'no-cache');
  };
  app.get('/', page);
  app.get('/index.html', page);
  app.get('/:file', async (c, next) => {
    const name = c.req.param('file');
    if (!FILE_NAME.test(name) || name === 'index.html' || !(await listed()).has(name))
      return next();
    const file = await asset(name);
    if (file === undefined) return next();
    return send(c, file, 'public, max-age=31536000, immutable');
  });
}

function secure(c: Context): void {
  c.header('Content-Security-Policy', UI_CONTENT_SECURITY_POLICY);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
}
