// The Channels part of docs/observability.md stays true: it names every config field of every
// channel, and its signature checks (TypeScript and Python) accept what the webhook channel signs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertChannelConfig, signAlertBody } from '../src/observe/alerts/channels/index.js';
import { ROOT, tempDir } from './helpers.js';

const page = readFileSync(join(ROOT, 'docs', 'observability.md'), 'utf8');
const channels = page.slice(page.indexOf('### Channels'));

/** The fenced code blocks of a language in the Channels part. */
function blocks(language: string): string[] {
  return [...channels.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(
    (m) => m[1] ?? '',
  );
}

const SECRET = 'whsec-docs-0123456789';
const BODY = '{"version":1,"channel":"ops-hook","status":"firing","alerts":[]}';

describe('docs: alert channels', () => {
  it('documents every config field of every channel', () => {
    expect(channels).not.toBe('');
    for (const schema of alertChannelConfig.options)
      for (const field of Object.keys(schema.shape))
        if (field !== 'type')
          expect(channels, `${schema.shape.type.value}.${field}`).toContain(`\`${field}\``);
  });

  it('shows a TypeScript check that accepts a signed body and refuses a changed one', async () => {
    const snippet = blocks('ts').find((b) => b.includes('function verify'));
    expect(snippet).toBeDefined();
    const file = join(await tempDir('sluice-docs-'), 'verify.ts');
    await writeFile(file, `${snippet}\nexport { verify };\n`);
    const { verify } = (await import(file)) as {
      verify: (secret: string, body: string, header: string) => boolean;
    };
    const header = signAlertBody(SECRET, BODY);
    expect(verify(SECRET, BODY, header)).toBe(true);
    expect(verify(SECRET, `${BODY} `, header)).toBe(false);
    expect(verify('another', BODY, header)).toBe(false);
    expect(
      verify(SECRET, BODY, signAlertBody(SECRET, BODY, Math.floor(Date.now() / 1000) - 3600)),
    ).toBe(false);
  });

  it('shows a Python check that accepts a signed body and refuses a changed one', () => {
    const snippet = blocks('python').find((b) => b.includes('def verify'));
    expect(snippet).toBeDefined();
    const header = signAlertBody(SECRET, BODY);
    const run = (body: string) =>
      spawnSync(
        'python3',
        [
          '-c',
          `${snippet}\nimport sys\nprint(verify(sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]))`,
          SECRET,
          body,
          header,
        ],
        { encoding: 'utf8' },
      );
    const good = run(BODY);
    expect(good.stderr).toBe('');
    expect(good.stdout.trim()).toBe('True');
    expect(run(`${BODY} `).stdout.trim()).toBe('False');
  });
});
