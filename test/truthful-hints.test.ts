import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaFailure } from '../src/connectors/kafka/kafka-connection.js';
import { natsError } from '../src/connectors/nats/nats-connection.js';
import { postgresError } from '../src/connectors/postgres/pg-connection.js';
import { ROOT } from './helpers.js';

const refused = (): Error =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) files.push(path);
  }
  return files;
}

describe('hints tell the truth about retries', () => {
  it('a refused Kafka or NATS connection says the stream stops and how it resumes', () => {
    const kafka = kafkaFailure(refused());
    expect(kafka.retryable).toBe(true);
    expect(kafka.hint).not.toMatch(/retried/);
    expect(kafka.hint).toMatch(/the stream stops here: start it again/);
    const nats = natsError({ role: 'source', stepId: 'events' }, 'cannot connect', refused());
    expect(nats.hint).not.toMatch(/retried/);
    expect(nats.hint).toMatch(/the stream stops here/);
  });

  it('a refused PostgreSQL connection says who retries it, not that the step is retried', () => {
    const error = postgresError({ role: 'source', stepId: 'orders' }, 'cannot connect', refused());
    expect(error.retryable).toBe(true);
    expect(error.hint).not.toMatch(/the step is retried/);
    expect(error.hint).toMatch(/retryable: a source or transform with retries tries again/);
  });

  it('no hint in src/ promises a retry that nothing makes', async () => {
    const promises: string[] = [];
    for (const file of await sourceFiles(join(ROOT, 'src'))) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(
        /(the (step|checkpoint|run|stream) is retried|Sluice retries by itself)/g,
      ))
        promises.push(`${file.slice(ROOT.length + 1)}: ${match[0]}`);
    }
    expect(promises).toEqual([]);
  });
});
