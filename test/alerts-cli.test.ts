import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../src/orchestrator/alert-engine.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { sluice, tempDir } from './helpers.js';

async function project(config: string, pipelines: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir('sluice-alerts-cli-');
  await mkdir(join(dir, 'pipelines'));
  await writeFile(join(dir, 'sluice.config.ts'), config);
  for (const [name, text] of Object.entries(pipelines))
    await writeFile(join(dir, 'pipelines', `${name}.ts`), text);
  return dir;
}

const GOOD_CONFIG = `export default {
  alerts: {
    channels: [
      { name: 'hook', type: 'webhook', send: async () => undefined },
      { type: 'pagerduty', name: 'pager', routingKey: { env: 'PD_ROUTING_KEY' } },
    ],
    routes: [{ name: 'all', channels: ['hook', 'pager'], groupWait: 0 }],
    rules: [{ kind: 'freshness', dataset: 'lake/orders', maxAge: '1d' }],
  },
};
`;

describe('sluice check of alert rules', () => {
  it('reports every problem of sluice.config.ts alerts at once, with paths and hints', async () => {
    const dir = await project(`export default {
  alerts: {
    channels: [{ name: 'hook', type: 'webhook', send: async () => undefined }],
    routes: [{ name: 'a', channels: ['hook', 'slack'], match: ['pipe line'], escalate: { after: '10m', to: 'nowhere' } }],
    rules: [{ kind: 'freshnes', dataset: 'x' }, { kind: 'freshness', dataset: 'x' }, { kind: 'run_deadline', finishBy: '25:00', afterQueued: '1h', timezone: 'Mars/Base' }],
    maintenance: [{ match: ['pipeline=x'], start: '2026-12-24T00:00:00Z', end: '2026-12-20T00:00:00Z' }],
    colour: 'red',
  },
};
`);
    const result = sluice(['check', 'sluice.config.ts', '--json'], dir);
    expect(result.code).toBe(2);
    const { error } = JSON.parse(result.stdout) as {
      error: { code: string; diagnostics: { code: string; path: string; message: string }[] };
    };
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.diagnostics.map((d) => `${d.code} ${d.path}`).sort()).toEqual([
      'invalid-alert-rule alerts.rules[0].kind',
      'invalid-alert-rule alerts.rules[1].maxAge',
      'invalid-alert-rule alerts.rules[2]',
      'invalid-alert-rule alerts.rules[2].finishBy',
      'invalid-alert-rule alerts.rules[2].timezone',
      'invalid-alerts-config alerts',
      'invalid-alerts-config alerts.routes[0].match[0]',
      'invalid-maintenance-window alerts.maintenance[0]',
      'unknown-alert-channel alerts.routes[0].channels',
      'unknown-alert-route alerts.routes[0].escalate.to',
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // sluice serve refuses the same project, with the same problems.
    const serve = sluice(['serve', '--project', dir, '--workers', '0'], dir);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toContain('escalates to "nowhere", which is not a route');
    // The commands that do not alert keep working: a broken alerts section never blocks
    // listing, triggering or canceling runs during an incident.
    const runs = sluice(['runs', '--project', dir, '--json'], dir);
    expect(runs.stderr).toBe('');
    expect(runs.code).toBe(0);
  });

  it('accepts a good config and reports bad rules on a pipeline with its other problems', async () => {
    const dir = await project(GOOD_CONFIG, {
      orders: `import { pipeline, sql } from 'sluice';
export default pipeline('orders', {
  owners: ['data,eng'],
  alerts: [{ kind: 'run_failed' }, { kind: 'run_failed' }, { kind: 'volume', dataset: 'x' }],
  steps: { one: sql\`select 1 as x\` },
});
`,
    });
    const ok = sluice(['check', 'sluice.config.ts'], dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('is valid: 1 alert rules, 1 routes, 2 channels');
    const bad = sluice(['check', 'pipelines/orders.ts', '--json'], dir);
    expect(bad.code).toBe(2);
    const { error } = JSON.parse(bad.stdout) as {
      error: { diagnostics: { code: string; path: string; message: string }[] };
    };
    expect(error.diagnostics.map((d) => `${d.code} ${d.path}: ${d.message}`)).toEqual([
      'duplicate-alert-rule alerts[1]: two rules are named "run_failed"',
      'invalid-alert-rule alerts[2]: give minRows, maxRows or deviation',
      'invalid-owners owners: owners must be a list of non-empty names without commas',
    ]);
  });
});

describe('sluice alerts', () => {
  it('lists incidents, acknowledges one by prefix, silences and unsilences', async () => {
    const dir = await project(GOOD_CONFIG);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      await new AlertEngine({
        store,
        config: {
          channels: [{ name: 'hook', type: 'webhook', send: async () => undefined }],
          routes: [{ name: 'all', channels: ['hook'], groupWait: 0 }],
          rules: [{ kind: 'freshness', dataset: 'lake/orders', maxAge: '1d' }],
        },
        pipelines: async () => [],
      }).evaluate();
    } finally {
      await store.close();
    }
    const listed = sluice(['alerts', '--firing', '--json'], dir);
    expect(listed.code, listed.stderr).toBe(0);
    const { incidents, silences } = JSON.parse(listed.stdout) as {
      incidents: {
        fingerprint: string;
        state: string;
        summary: string;
        acknowledgedAt: string | null;
      }[];
      silences: unknown[];
    };
    expect(silences).toEqual([]);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      state: 'firing',
      summary: 'lake/orders has never been updated',
    });
    const fingerprint = incidents[0]?.fingerprint as string;

    const text = sluice(['alerts'], dir);
    expect(text.stdout).toMatch(
      new RegExp(
        `^FINGERPRINT\\s+STATE\\s+SEVERITY\\s+RULE\\s+SINCE\\s+SUMMARY\\n${fingerprint}\\s+firing\\s+critical\\s+freshness`,
      ),
    );

    expect(sluice(['alerts', 'ack', 'zz'], dir).stderr).toContain('is not an incident fingerprint');
    const ack = sluice(['alerts', 'ack', fingerprint.slice(0, 6).toUpperCase()], dir);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toContain(`acknowledged ${fingerprint}`);
    expect(sluice(['alerts'], dir).stdout).toContain('firing (ack)');

    const silence = sluice(
      [
        'alerts',
        'silence',
        'dataset=lake/orders',
        '--for',
        '2h',
        '--comment',
        'backfill',
        '--json',
      ],
      dir,
    );
    expect(silence.code, silence.stderr).toBe(0);
    const { id } = JSON.parse(silence.stdout) as { id: string };
    const withSilence = JSON.parse(sluice(['alerts', '--json'], dir).stdout) as {
      silences: { id: string; matchers: string; comment: string }[];
    };
    expect(withSilence.silences).toMatchObject([
      { id, matchers: 'dataset=lake/orders', comment: 'backfill' },
    ]);
    expect(sluice(['alerts', 'unsilence', id], dir).code).toBe(0);
    const again = sluice(['alerts', 'unsilence', id], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`no active silence has the id "${id}"`);
    expect(sluice(['alerts', 'silence', 'dataset=~(', '--for', '1h'], dir).stderr).toContain(
      'is not a regular expression',
    );
    expect(sluice(['alerts', 'silence', 'x=y', '--for', 'soon'], dir).stderr).toContain(
      '--for "soon" is not a duration',
    );
  });
});
