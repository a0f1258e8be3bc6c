import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../src/orchestrator/alert-store.js';
import type { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { StreamLeases } from '../src/orchestrator/stream-leases.js';
import { partitionInstance } from '../src/stream/scale-out.js';
import { killChildren } from './helpers.js';
import {
  axeProblems,
  chromiumSkip,
  ensureUIBuilt,
  launchChromium,
  signIn,
  startQuickstartServe,
  until,
} from './support/ui-browser.js';

// The alerts, datasets and streams views of the web UI end to end: Debian's Chromium drives a real
// `sluice serve --http` on a copy of examples/quickstart (same launch and server start as
// ui-e2e.test.ts). Silences made and ended by clicks are checked in the store.

const children: ChildProcess[] = [];
let dir = '';
let store: RunStore;
let browser: Browser;
let url = '';
let tokens = { admin: '', reader: '', trigger: '' };
/** Console errors, page errors and CSP violations of every page, with the page's address. */
const problems: string[] = [];

const runsOf = (): Promise<RunRecord[]> => store.listRuns({ pipeline: 'quickstart', limit: 100 });

function signedIn(
  token: string,
  colorScheme: 'light' | 'dark' = 'light',
): Promise<{ context: BrowserContext; page: Page; streams: string[] }> {
  return signIn(browser, url, token, problems, {
    colorScheme,
  });
}

describe.skipIf(chromiumSkip !== undefined)(
  'the alerts, datasets and streams views in Chromium against sluice serve --http',
  () => {
    beforeAll(async () => {
      ensureUIBuilt();
      ({ dir, store, url, tokens } = await startQuickstartServe('sluice-ui-views-', children));
      browser = await launchChromium();
      // The scheduler's first run of the quickstart: the views have a real run to show.
      await until('the scheduled run to succeed', async () =>
        (await runsOf()).find((r) => r.state === 'success'),
      );
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await killChildren(children);
      await store?.close();
      if (dir !== '')
        await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    });

    /** GET /api/v1<path> with a token, as JSON. */
    async function get<T>(path: string, token = tokens.admin): Promise<T> {
      const response = await fetch(`${url}/api/v1${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    }

    const activeSilences = async (): Promise<{ id: string; comment?: string | null }[]> =>
      new AlertStore(store.db).activeSilences(Date.now());

    it('an admin creates a silence by the form, sees the API error of a bad one, and expires it by the button; streams load', async () => {
      // 55 resolved incidents: the history's first page holds 50, "More history" the rest.
      const now0 = Date.now();
      await new AlertStore(store.db).saveIncidents(
        Array.from({ length: 55 }, (_, i) => ({
          fingerprint: `ui-views-${String(i).padStart(2, '0')}`,
          rule: 'ui_views_rule',
          state: 'resolved' as const,
          severity: 'warning' as const,
          summary: `resolved incident ${i}`,
          labels: { pipeline: 'quickstart', n: String(i) },
          startsAt: now0 - 3_600_000 - i * 60_000,
          openedAt: now0 - 3_600_000 - i * 60_000,
          endsAt: now0 - 1_800_000 - i * 60_000,
          resolvedNotified: true,
        })),
        now0,
      );
      const { context, page, streams } = await signedIn(tokens.admin);
      const a11y: Record<string, string[]> = {};
      try {
        const nav = page.getByRole('navigation', { name: 'Main' });
        await nav.getByRole('link', { name: 'Alerts' }).click();
        await page.getByRole('heading', { name: 'New silence' }).waitFor();
        await page.getByRole('heading', { name: 'Firing' }).waitFor();
        const history = page.getByRole('table', { name: 'Resolved incidents, newest first' });
        await history.getByText('resolved incident 0', { exact: true }).waitFor();
        expect(await history.locator('tbody tr').count()).toBe(50);
        a11y['alerts'] = await axeProblems(page);
        await page.getByRole('button', { name: 'More history' }).click();
        await history.getByText('resolved incident 54', { exact: true }).waitFor();
        expect(await history.locator('tbody tr').count()).toBe(55);
        expect(await page.getByRole('button', { name: 'More history' }).count()).toBe(0);

        // A bad label name: the server's 400 is shown next to the form, nothing is stored.
        const beforeBad = problems.length;
        await page.getByLabel('Label name').fill('not-a-label');
        await page.getByLabel('Value').fill('quickstart');
        await page.getByRole('button', { name: 'Create silence' }).click();
        await page
          .locator('form.silence')
          .getByRole('alert')
          .filter({ hasText: 'is not a label name' })
          .waitFor();
        expect(await activeSilences()).toEqual([]);
        // Chromium logs the expected 400 of that request (and only that).
        const logged = problems.splice(beforeBad);
        expect(logged.length).toBeLessThanOrEqual(1);
        for (const line of logged) expect(line).toMatch(/status of 400 \(Bad Request\)/);

        await page.getByLabel('Label name').fill('pipeline');
        await page.getByLabel('Comment').fill('ui-views test silence');
        await page.getByRole('button', { name: 'Create silence' }).click();
        const created = await until('the silence in the store', async () =>
          (await activeSilences()).find((s) => s.comment === 'ui-views test silence'),
        );
        await page.getByRole('status').filter({ hasText: created.id }).waitFor();
        const expire = page.getByRole('button', { name: 'Expire silence pipeline="quickstart"' });
        await expire.waitFor();
        a11y['alerts with a silence'] = await axeProblems(page);
        await expire.click();
        await until('the silence to end in the store', async () =>
          (await activeSilences()).length === 0 ? true : undefined,
        );
        await page.getByText('No silence is active.').waitFor();
        const alerts = await get<{ silences: unknown[] }>('/alerts');
        expect(alerts.silences).toEqual([]);

        await nav.getByRole('link', { name: 'Streams' }).click();
        await page.getByRole('heading', { name: 'Streams', level: 1 }).waitFor();
        await page.getByText('No stream has checkpointed yet').waitFor();
        a11y['streams (none)'] = await axeProblems(page);

        // A scaled-out stream as the stream runtime records it: a leased partition, checkpoints.
        const now = Date.now();
        const leases = new StreamLeases(store);
        expect(await leases.acquire('clicks', 'clicks.0', 'host-a-1', 600_000)).toBe(true);
        const checkpoints = new StreamCheckpoints(store);
        for (const [id, at, recordsIn] of [
          [1, now - 20_000, 100],
          [2, now - 10_000, 600],
        ] as const)
          await checkpoints.save({
            stream: partitionInstance('clicks', 'clicks.0'),
            checkpointId: id,
            snapshot: {
              positions: { 'clicks.0': `seq:${recordsIn}` },
              watermarks: { watermark: at - 5_000, partitions: {} },
              operators: [],
              recordsIn,
              recordsOut: recordsIn,
            },
            watermark: at - 5_000,
            recordsIn,
            recordsOut: recordsIn / 2,
            stateSize: 7,
            lag: 12,
            createdAt: at,
          });
        // Checkpoints are not run events: the view shows them when opened again (no polling).
        await nav.getByRole('link', { name: 'Alerts' }).click();
        await page.getByRole('heading', { name: 'Firing' }).waitFor();
        await nav.getByRole('link', { name: 'Streams' }).click();
        const card = page.locator('section.stream', {
          has: page.getByRole('heading', { name: 'clicks' }),
        });
        await card.waitFor();
        await card.getByText('12 records').waitFor();
        await card.getByRole('cell', { name: 'host-a-1' }).waitFor();
        await card.getByRole('cell', { name: 'seq:600' }).waitFor();
        a11y['streams'] = await axeProblems(page);

        expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
        expect(streams.length).toBe(1);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    }, 60_000);

    it('lists the datasets the quickstart runs recorded, and clicking a lineage neighbour walks to it', async () => {
      // A dataset with a neighbour dataset at depth 1 (through a job that reads or writes it).
      interface Node {
        id: string;
        inEdges: { origin: string }[];
        outEdges: { destination: string }[];
      }
      const walk = await until('a recorded dataset with a lineage neighbour', async () => {
        const { datasets } = await get<{ datasets: { id: string; name: string }[] }>('/datasets');
        for (const d of datasets) {
          const { graph } = await get<{ graph: Node[] }>(
            `/lineage?${new URLSearchParams({ nodeId: d.id, depth: '1' }).toString()}`,
          );
          for (const job of graph.filter((n) => n.id.startsWith('job:'))) {
            const writes = job.outEdges.some((e) => e.destination === d.id);
            const others = (
              writes ? job.inEdges.map((e) => e.origin) : job.outEdges.map((e) => e.destination)
            ).filter((x) => x.startsWith('dataset:') && x !== d.id);
            const to = datasets.find((x) => x.id === others[0]);
            if (to !== undefined) return { from: d, to };
          }
        }
        return undefined;
      });

      // In the dark theme: its contrast is scanned too.
      const { context, page } = await signedIn(tokens.reader, 'dark');
      const a11y: Record<string, string[]> = {};
      try {
        await page
          .getByRole('navigation', { name: 'Main' })
          .getByRole('link', { name: 'Datasets' })
          .click();
        await page.getByRole('heading', { name: 'Datasets' }).waitFor();
        await page.getByRole('link', { name: walk.from.name, exact: true }).first().waitFor();
        a11y['datasets'] = await axeProblems(page);

        // Search narrows the list to the query (in the URL, so it can be shared).
        await page.getByLabel('Name or namespace holds').fill(walk.from.name);
        await page.getByRole('button', { name: 'Search' }).click();
        await until('the search in the address', () =>
          page.url().includes(`q=${encodeURIComponent(walk.from.name)}`) ? true : undefined,
        );
        await page.getByRole('link', { name: walk.from.name, exact: true }).first().click();
        await page.getByRole('heading', { name: walk.from.name, level: 1 }).waitFor();
        await page.getByRole('heading', { name: 'Schema' }).waitFor();
        const lineage = page.locator('section', {
          has: page.getByRole('heading', { name: 'Lineage (depth 1)' }),
        });
        const neighbour = lineage.getByRole('link', { name: walk.to.name, exact: true }).first();
        await neighbour.waitFor();
        a11y['dataset'] = await axeProblems(page);

        await neighbour.click();
        await page.getByRole('heading', { name: walk.to.name, level: 1 }).waitFor();
        expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/datasets/${walk.to.id}`);
        // And back the other way: the first dataset is a neighbour of the second.
        await lineage.getByRole('link', { name: walk.from.name, exact: true }).first().click();
        await page.getByRole('heading', { name: walk.from.name, level: 1 }).waitFor();

        expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    }, 60_000);

    it('a read token sees the silences but no silence form and no Expire button', async () => {
      const response = await fetch(`${url}/api/v1/silences`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          matchers: [{ name: 'pipeline', value: 'reader-check' }],
          until: Date.now() + 3_600_000,
          comment: 'seen by a reader',
        }),
      });
      expect(response.status).toBe(201);
      const silence = (await response.json()) as { id: string };
      const { context, page } = await signedIn(tokens.reader);
      try {
        await page
          .getByRole('navigation', { name: 'Main' })
          .getByRole('link', { name: 'Alerts' })
          .click();
        await page.getByText('seen by a reader').waitFor();
        expect(await page.getByRole('heading', { name: 'New silence' }).count()).toBe(0);
        expect(await page.getByRole('button', { name: 'Create silence' }).count()).toBe(0);
        expect(await page.getByRole('button', { name: /^Expire/ }).count()).toBe(0);
        expect(await axeProblems(page)).toEqual([]);
        // The server refuses it too.
        const refused = await fetch(`${url}/api/v1/silences/${silence.id}/expire`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens.reader}` },
        });
        expect(refused.status).toBe(403);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    }, 60_000);
  },
);
