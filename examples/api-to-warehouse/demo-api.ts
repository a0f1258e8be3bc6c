/**
 * A small shop API for the example: `GET /customers` (cursor pagination) and `GET /orders`
 * (page numbers), both filtered by `updated_since`, reading `demo-data.json` (or the file in
 * $DEMO_API_DATA) on every request, so editing the file changes what the next run reads.
 *
 * Run it with `npx jiti examples/api-to-warehouse/demo-api.ts` (port 8787, or $DEMO_API_PORT).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';

type Item = Record<string, unknown> & { readonly updated_at: string };
const PAGE_SIZE = 2;

/**
 * Starts the demo API on `port` (0 picks a free one) and returns its server.
 *
 * @example
 * ```ts
 * const server = await startDemoApi(0, 'demo-data.json');
 * ```
 */
export async function startDemoApi(port: number, dataFile: string): Promise<Server> {
  const server = createServer((request, response) => {
    void answer(request.url ?? '/', dataFile).then(
      ({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: String(error) }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

async function answer(path: string, dataFile: string): Promise<{ status: number; body: unknown }> {
  const url = new URL(path, 'http://localhost');
  const data = JSON.parse(await readFile(dataFile, 'utf8')) as Record<string, Item[]>;
  const since = url.searchParams.get('updated_since');
  const changed = (items: Item[]): Item[] =>
    items
      // Inclusive, as Sluice asks: records that tie with the watermark are sent again and
      // dropped by the engine when it read them before.
      .filter((item) => since === null || Date.parse(item.updated_at) >= Date.parse(since))
      .sort((a, b) => a.updated_at.localeCompare(b.updated_at));
  switch (url.pathname) {
    case '/customers': {
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const rows = changed(data['customers'] ?? []);
      const next = start + PAGE_SIZE < rows.length ? String(start + PAGE_SIZE) : null;
      return {
        status: 200,
        body: { data: rows.slice(start, start + PAGE_SIZE), next_cursor: next },
      };
    }
    case '/orders': {
      const page = Number(url.searchParams.get('page') ?? 1);
      const rows = changed(data['orders'] ?? []);
      return {
        status: 200,
        body: { page, data: rows.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE) },
      };
    }
    default:
      return { status: 404, body: { error: `no route ${url.pathname}` } };
  }
}

if (process.argv[1]?.endsWith('demo-api.ts')) {
  const port = Number(process.env['DEMO_API_PORT'] ?? 8787);
  const file = process.env['DEMO_API_DATA'] ?? join(import.meta.dirname, 'demo-data.json');
  await startDemoApi(port, file);
  console.log(`demo shop API on http://127.0.0.1:${port} (customers, orders), data from ${file}`);
}
