// A webhook channel posting into the webhook inbox of another Sluice (its HTTP API on loopback):
// the inbox checks the channel's signature with its own code and keeps the body as one record.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import {
  AlertDeliveryError,
  alertChannelConfig,
  createAlertChannel,
  webhookBody,
} from '../src/observe/alerts/channels/index.js';
import { tempDir } from './helpers.js';
import { firingAlert, rejection, resolvedAlert } from './support/alert-fixtures.js';

const PIPELINE = `
import { pipeline, ref, schema, sink, source, t } from 'sluice';
export default pipeline('alert_log', {
  steps: {
    alerts: source.webhook({ inbox: 'alerts', schema: schema({ channel: t.string(), status: t.string() }) }),
    out: sink.delta({ input: ref('alerts'), path: '../lake/alerts', mode: 'append' }),
  },
});`;

const SECRET = 'inbox-secret-6b1f0c9e4d2a7358';

describe('webhook channel into a Sluice webhook inbox', () => {
  let dir: string;
  let store: RunStore;
  let api: TriggerAPI;

  beforeEach(async () => {
    dir = await tempDir('sluice-alert-inbox-');
    await mkdir(join(dir, 'pipelines'));
    await writeFile(join(dir, 'pipelines', 'alert_log.ts'), PIPELINE);
    store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    api = await startTriggerAPI({
      store,
      project: await Project.open(dir),
      port: 0,
      token: 'api-token-not-used-by-the-channel',
      env: { SLUICE_WEBHOOK_SECRET_ALERTS: SECRET },
    });
  });
  afterEach(async () => {
    await api.close();
    await store.close();
  });

  const hook = (secret: string) =>
    createAlertChannel(
      alertChannelConfig.parse({
        type: 'webhook',
        name: 'to-central',
        url: `${api.url}/hooks/alerts`,
        signingSecret: { env: 'CENTRAL_SECRET' },
        retries: 0,
      }),
      { env: { CENTRAL_SECRET: secret } },
    );

  it('is accepted on its signature alone and kept as one record per group', async () => {
    const group = [firingAlert, resolvedAlert];
    await hook(SECRET).send(group, AbortSignal.timeout(30_000));
    const folder = join(dir, '.sluice', 'inbox', 'alerts');
    const batches = await readdir(folder);
    expect(batches).toHaveLength(1);
    const lines = (await readFile(join(folder, batches[0] as string), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      JSON.parse(JSON.stringify(webhookBody('to-central', group))),
    ]);
  });

  it('is refused for good when signed with another secret', async () => {
    const error = (await rejection(
      hook('not-the-inbox-secret-000').send([firingAlert], AbortSignal.timeout(30_000)),
    )) as AlertDeliveryError;
    expect(error).toBeInstanceOf(AlertDeliveryError);
    expect(error.code).toBe('PERMANENT');
    expect(error.status).toBe(401);
    expect(error.message).toContain('Sluice-Signature');
  });
});
