import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
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

// The web UI end to end: Debian's Chromium drives a real `sluice serve --http` (scheduler, workers
// and the HTTP API) on a copy of examples/quickstart. Actions done by clicks are checked in the
// run store, not only on the page.

const children: ChildProcess[] = [];
let dir = '';
let store: RunStore;
let browser: Browser;
let url = '';
let tokens = { admin: '', reader: '', trigger: '' };
/** Console errors, page errors and CSP violations of every page, with the page's address. */
const problems: string[] = [];
/** The accessibility problems of the last sign-in view scanned. */
let loginViewA11y: string[] = [];

const runsOf = (): Promise<RunRecord[]> => store.listRuns({ pipeline: 'quickstart', limit: 100 });

function signedIn(
  token: string,
  colorScheme: 'light' | 'dark' = 'light',
): Promise<{ context: BrowserContext; page: Page; streams: string[] }> {
  return signIn(browser, url, token, problems, {
    colorScheme,
    onLoginView: async (page) => {
      loginViewA11y = await axeProblems(page);
    },
  });
}

describe.skipIf(chromiumSkip !== undefined)(
  'the web UI in Chromium against sluice serve --http',
  () => {
    beforeAll(async () => {
      ensureUIBuilt();
      ({ dir, store, url, tokens } = await startQuickstartServe('sluice-ui-', children));
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

    it('serves the page under a strict CSP, hashed files with a long cache, unknown files 404', async () => {
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      );
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      const html = await page.text();
      expect(html).not.toMatch(/<script>|<style|style=|\son[a-z]+=/i);
      const script = /src="\.\/(app\.[A-Z0-9]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${url}/${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await fetch(`${url}/app.NOPE.js`)).status).toBe(404);
      expect((await fetch(`${url}/..%2Fpackage.json`)).status).toBe(404);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    });

    it('an admin signs in, sees every view and drives trigger, pause, cancel, retry, unpause and backfill by clicks', async () => {
      const { context, page, streams } = await signedIn(tokens.admin);
      const a11y: Record<string, string[]> = { login: loginViewA11y };
      try {
        await page.getByRole('heading', { name: 'Recent runs' }).waitFor();
        a11y['overview'] = await axeProblems(page);

        await page
          .getByRole('navigation', { name: 'Main' })
          .getByRole('link', { name: 'Pipelines' })
          .click();
        await page.getByRole('link', { name: 'quickstart' }).waitFor();
        a11y['pipelines'] = await axeProblems(page);

        // One click on a pipeline costs at most 3 API requests (the stream of updates aside).
        const requests: string[] = [];
        const count = (request: { url(): string }): void => {
          const path = new URL(request.url()).pathname;
          if (path.startsWith('/api/') && path !== '/api/v1/updates') requests.push(path);
        };
        page.on('request', count);
        await page.getByRole('link', { name: 'quickstart' }).click();
        await page.getByRole('region', { name: 'Step graph' }).waitFor();
        await page.getByRole('region', { name: 'Grid of runs by step' }).waitFor();
        page.off('request', count);
        expect(requests.length, requests.join(', ')).toBeLessThanOrEqual(3);
        a11y['pipeline'] = await axeProblems(page);

        // Trigger: a new run in the store, queued by this token, that runs to success.
        const before = new Set((await runsOf()).map((r) => r.id));
        await page.getByRole('button', { name: 'Trigger run' }).click();
        const triggered = await until('the triggered run', async () =>
          (await runsOf()).find((r) => !before.has(r.id)),
        );
        await page.getByRole('status').getByRole('link', { name: triggered.id }).waitFor();
        await until('the triggered run to succeed', async () =>
          (await store.getRun(triggered.id))?.state === 'success' ? true : undefined,
        );

        // Pause, then a triggered run stays queued; cancel it from its run view.
        await page.getByRole('button', { name: 'Pause', exact: true }).click();
        await page.getByRole('button', { name: 'Unpause', exact: true }).waitFor();
        await until('the pause in the store', async () =>
          (await store.listPipelines()).find((p) => p.name === 'quickstart')?.paused === true
            ? true
            : undefined,
        );
        const beforeQueued = new Set((await runsOf()).map((r) => r.id));
        await page.getByRole('button', { name: 'Trigger run' }).click();
        const queued = await until('the queued run', async () =>
          (await runsOf()).find((r) => !beforeQueued.has(r.id)),
        );
        expect(queued.state).toBe('queued');
        await page.getByRole('status').getByRole('link', { name: queued.id }).click();
        await page.getByRole('heading', { name: `Run ${queued.id}` }).waitFor();
        await page.getByRole('button', { name: 'Cancel run' }).click();
        await until('the cancel in the store', async () =>
          (await store.getRun(queued.id))?.state === 'canceled' ? true : undefined,
        );

        // Retry the canceled run: a new run of the same pipeline; the view moves to it.
        const beforeRetry = new Set((await runsOf()).map((r) => r.id));
        await page.getByRole('button', { name: 'Retry', exact: true }).click();
        const retried = await until('the retried run', async () =>
          (await runsOf()).find((r) => !beforeRetry.has(r.id)),
        );
        await page.getByRole('heading', { name: `Run ${retried.id}` }).waitFor();
        expect(retried.pipeline).toBe('quickstart');
        expect(['queued', 'running', 'success']).toContain(retried.state);

        // Live updates: unpausing lets the retried run finish, and its open view shows it
        // without a reload.
        await page.getByRole('link', { name: 'quickstart' }).first().click();
        await page.getByRole('button', { name: 'Unpause', exact: true }).click();
        await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
        await page.goBack();
        await page.getByRole('heading', { name: `Run ${retried.id}` }).waitFor();
        const finished = await until('the retried run to finish', async () => {
          const state = (await store.getRun(retried.id))?.state;
          return state === 'queued' || state === 'running' ? undefined : state;
        });
        // The retry reuses the task cache: with the inputs of the triggered run unchanged, its
        // steps are all cached and the run may finish as skipped.
        expect(['success', 'skipped']).toContain(finished);
        await page.locator('.facts .badge', { hasText: finished }).waitFor({ timeout: 15_000 });

        // A grid cell opens its run focused on that step, with the step's logs.
        await page.getByRole('link', { name: 'quickstart', exact: true }).first().click();
        await page
          .getByRole('link', {
            name: `daily_revenue in run ${triggered.id}: success`,
            exact: false,
          })
          .click();
        await page.getByRole('heading', { name: 'Logs of daily_revenue' }).waitFor();
        expect(page.url()).toContain(`#/runs/${triggered.id}?step=daily_revenue`);

        // The run view: the timeline, a step's logs, quality results and quarantined records.
        await page.getByRole('button', { name: "Show orders_eur's logs" }).click();
        await page.getByRole('heading', { name: 'Logs of orders_eur' }).waitFor();
        a11y['run (logs)'] = await axeProblems(page);
        await page.getByRole('tab', { name: 'Quality' }).click();
        await page.getByText('Suite orders on step checked_orders').waitFor();
        a11y['run (quality)'] = await axeProblems(page);
        await page.getByRole('tab', { name: 'Quarantine' }).click();
        await page.getByText(/quarantined by orders_eur/).waitFor();
        a11y['run (quarantine)'] = await axeProblems(page);
        await page.getByRole('tab', { name: 'Quarantine' }).focus();
        await page.keyboard.press('ArrowLeft'); // tabs move with the arrow keys
        await expect.poll(() => page.url()).toContain('tab=quality');

        // Backfill: a dry-run preview first (nothing queued), then the submit queues its runs.
        await page.getByRole('link', { name: 'quickstart' }).first().click();
        const beforeBackfill = (await runsOf()).length;
        await page.getByLabel('From (UTC)').fill('2026-01-01T00:00');
        await page.getByLabel('To (UTC)').fill('2026-01-01T03:00');
        await page.getByLabel('Intervals that already ran').selectOption('all');
        await page.getByRole('button', { name: 'Preview backfill' }).click();
        await page.getByText('3 to create, 0 to rerun, 0 to skip.').waitFor();
        expect((await runsOf()).length).toBe(beforeBackfill);
        a11y['pipeline (backfill preview)'] = await axeProblems(page);
        await page.getByRole('button', { name: 'Submit backfill' }).click();
        await page.getByText(/Backfill .* submitted: 3 created/).waitFor();
        const backfilled = await until('the backfill runs', async () => {
          const runs = (await runsOf()).filter((r) => r.backfillId !== undefined);
          return runs.length === 3 ? runs : undefined;
        });
        expect(new Set(backfilled.map((r) => r.backfillId)).size).toBe(1);
        expect(backfilled.map((r) => r.interval?.start).sort()).toEqual([
          Date.parse('2026-01-01T00:00:00Z'),
          Date.parse('2026-01-01T01:00:00Z'),
          Date.parse('2026-01-01T02:00:00Z'),
        ]);

        // The dark theme and the skip link.
        // One stream of updates served the whole session, through every view and action.
        expect(streams.length).toBe(1);

        await page.getByRole('button', { name: 'Dark theme' }).click();
        await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
        a11y['pipeline (dark)'] = await axeProblems(page);
        await page.goto('/#/pipelines');
        await page.reload();
        await page.getByRole('link', { name: 'quickstart' }).waitFor();
        // The choice outlives the page; the skip link is the first stop of the keyboard.
        expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
        a11y['pipelines (dark)'] = await axeProblems(page);
        await page.keyboard.press('Tab');
        await expect
          .poll(() => page.evaluate('document.activeElement?.textContent'))
          .toBe('Skip to content');
        await page.keyboard.press('Enter');
        await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('main');
      } finally {
        await context.close();
      }
      expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
      expect(problems).toEqual([]);
    }, 180_000);

    it('a read-only token sees no action buttons, and the API answers its actions 403', async () => {
      const { context, page } = await signedIn(tokens.reader);
      try {
        const run = (await runsOf()).find((r) => r.state === 'success');
        expect(run).toBeDefined();
        await page.goto(`/#/pipelines/quickstart`);
        await page.getByRole('region', { name: 'Grid of runs by step' }).waitFor();
        await page.getByRole('heading', { name: 'Steps' }).waitFor();
        for (const name of ['Trigger run', 'Pause', 'Unpause', 'Preview backfill'])
          expect(await page.getByRole('button', { name }).count(), name).toBe(0);
        expect(await page.getByRole('heading', { name: 'Backfill' }).count()).toBe(0);
        await page.goto(`/#/runs/${run?.id}`);
        await page.getByRole('heading', { name: `Run ${run?.id}` }).waitFor();
        await page.getByRole('region', { name: 'Step timeline' }).waitFor();
        expect(await page.getByRole('button', { name: /Cancel|Retry/ }).count()).toBe(0);
        expect(await axeProblems(page)).toEqual([]);

        const post = (path: string): Promise<Response> =>
          fetch(`${url}/api/v1${path}`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${tokens.reader}`,
              'content-type': 'application/json',
            },
            body: '{}',
          });
        for (const path of [
          '/pipelines/quickstart/runs',
          '/pipelines/quickstart/pause',
          `/runs/${run?.id}/cancel`,
          `/runs/${run?.id}/retry`,
          '/pipelines/quickstart/backfills',
        ]) {
          const answer = await post(path);
          expect(answer.status, path).toBe(403);
          expect(((await answer.json()) as { code: string }).code, path).toBe('forbidden');
        }

        // A token the server does not know is sent back to the login view.
        await page.evaluate("sessionStorage.setItem('sluice.token', 'not-a-token')");
        await page.goto('/#/pipelines');
        await page.reload();
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      } finally {
        await context.close();
      }
      // The 401s of the unknown token are expected; anything else is a problem.
      expect(problems.filter((p) => !/401 \(Unauthorized\)/.test(p))).toEqual([]);
    }, 120_000);

    it('a trigger token sees Trigger run but not the admin actions', async () => {
      const earlier = problems.length;
      // This one's system prefers dark: the page follows it with no toggle.
      const { context, page } = await signedIn(tokens.trigger, 'dark');
      try {
        expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
        await page.goto('/#/pipelines/quickstart');
        await page.getByRole('button', { name: 'Trigger run' }).waitFor();
        await page.getByRole('region', { name: 'Grid of runs by step' }).waitFor();
        for (const name of ['Pause', 'Unpause', 'Preview backfill'])
          expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
        const canceled = (await runsOf()).find((r) => r.state === 'canceled');
        expect(canceled).toBeDefined();
        await page.goto(`/#/runs/${canceled?.id}`);
        await page.getByRole('button', { name: 'Retry', exact: true }).waitFor();
        expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
        expect(await axeProblems(page)).toEqual([]);
      } finally {
        await context.close();
      }
      expect(problems.slice(earlier)).toEqual([]);
    }, 120_000);
  },
);
