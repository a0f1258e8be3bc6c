import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { APITokens } from '../../src/orchestrator/api-tokens.js';
import { RunStore } from '../../src/orchestrator/run-store.js';
import { ROOT } from '../helpers.js';

/** Debian's Chromium, which the web UI's browser tests drive. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests skip, or undefined; under CI=true a missing Chromium fails instead. */
export const chromiumSkip = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing (apt-get install chromium)`;
if (chromiumSkip !== undefined && process.env['CI'] === 'true')
  throw new Error(`CI=true but ${chromiumSkip}`);

/** Builds dist/ui when it is missing (a test run without `npm run build`). */
export function ensureUIBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'ui', 'index.html'))) return;
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs')], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`npm run build:ui failed: ${built.stderr}`);
}

/**
 * Headless Chromium with a fresh, temporary user-data dir (launch() makes one), and without
 * background networking: this machine's closed network refuses those connections.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Polls `probe` every 50 ms until it answers a value (not undefined or false), or throws. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Serious and critical accessibility violations of the page as it is now. */
export async function axeProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** A `sluice serve --http` on a copy of examples/quickstart, with an admin, a read and a trigger token. */
export interface QuickstartServe {
  readonly dir: string;
  readonly store: RunStore;
  readonly url: string;
  readonly tokens: { readonly admin: string; readonly reader: string; readonly trigger: string };
}

/**
 * Copies examples/quickstart to a temporary folder (`prefix`), creates the tokens and starts
 * `sluice serve --http 127.0.0.1:0` there; the process is added to `children`.
 */
export async function startQuickstartServe(
  prefix: string,
  children: ChildProcess[],
): Promise<QuickstartServe> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await cp(join(ROOT, 'examples', 'quickstart'), dir, {
    recursive: true,
    filter: (source) => !source.includes('/out') && !source.includes('.sluice'),
  });
  const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
  const created = new APITokens(store);
  const tokens = {
    admin: (await created.create('ui-admin', 'admin')).token,
    reader: (await created.create('ui-reader', 'read')).token,
    trigger: (await created.create('ui-trigger', 'trigger')).token,
  };
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_DEBUG: '' };
  delete env['SLUICE_API_TOKEN'];
  const serve = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'sluice.js'), 'serve', '--project', dir, '--http', '127.0.0.1:0'],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(serve);
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`not serving in 30 s: ${log}`)), 30_000);
    serve.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const found = /"api":"(http:\/\/[^"]+)"/.exec(log);
      if (found !== null) {
        clearTimeout(deadline);
        resolve(found[1] as string);
      }
    });
    serve.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${log}`)));
  });
  return { dir, store, url, tokens };
}

/**
 * A new browser context signed in with `token`: console errors, page errors and CSP violations
 * go to `problems`, and the returned `streams` lists each `/api/v1/updates` the page opened.
 * `onLoginView` runs on the sign-in view before the token is entered.
 */
export async function signIn(
  browser: Browser,
  url: string,
  token: string,
  problems: string[],
  options: {
    readonly colorScheme?: 'light' | 'dark';
    readonly onLoginView?: (page: Page) => Promise<void>;
  } = {},
): Promise<{ context: BrowserContext; page: Page; streams: string[] }> {
  const context = await browser.newContext({
    baseURL: url,
    colorScheme: options.colorScheme ?? 'light',
  });
  const page = await context.newPage();
  // Every GET /api/v1/updates the page opens (one a tab is the rule).
  const streams: string[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/v1/updates') streams.push(request.url());
  });
  // Chromium logs CSP violations too; this names the directive, whatever the console says.
  await page.addInitScript(
    `document.addEventListener('securitypolicyviolation', (event) =>
      console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI))`,
  );
  // Before sign-in the page asks GET /api/v1/session without a token, to learn whether the
  // server needs one (it does not when it has no tokens); Chromium logs that expected 401.
  let signingIn = true;
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (signingIn && /status of 401 \(Unauthorized\)/.test(message.text())) return;
    problems.push(`${page.url()}: console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${page.url()}: page error: ${error.message}`));
  await page.goto('/');
  await page.getByLabel('API token').waitFor();
  await options.onLoginView?.(page);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  signingIn = false;
  return { context, page, streams };
}
