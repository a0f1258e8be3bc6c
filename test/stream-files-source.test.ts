import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesStreamSource } from '../src/connectors/files/ndjson-stream.js';
import { silentLogger } from '../src/core/logger.js';
import { isInvalidRecord } from '../src/contracts/payload.js';
import { tempDir } from './helpers.js';

async function pullAll(folder: string) {
  const reader = await filesStreamSource.open(filesStreamSource.config.parse({ path: folder }), {
    stepId: 'clicks',
    streamName: 'clicks',
    consumer: 'clicks',
    worker: 'w1',
    start: { kind: 'beginning' },
    logger: silentLogger,
    signal: new AbortController().signal,
  });
  try {
    return await reader.pull(100, 0);
  } finally {
    await reader.close();
  }
}

describe('files stream source', () => {
  it('reads every line that is not blank as a record; a line of other whitespace is an invalid record, not dropped', async () => {
    const dir = await tempDir();
    const folder = join(dir, 'in');
    await mkdir(folder);
    await writeFile(join(folder, 'a.ndjson'), '{"a":1}\r\n \t\r\n\f\n\u00a0\n{"a":2}\n');
    const records = await pullAll(folder);
    expect(records.map((r) => r.position)).toEqual(['1', '3', '4', '5']);
    expect(records.map((r) => isInvalidRecord(r.value))).toEqual([false, true, true, false]);
  });

  it('makes a line that is not UTF-8 an invalid record holding its bytes, never a parsed value', async () => {
    const dir = await tempDir();
    const folder = join(dir, 'in');
    await mkdir(folder);
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    await writeFile(join(folder, 'a.ndjson'), Buffer.concat([bad, Buffer.from('\n{"a":"é"}\n')]));
    const [first, second] = await pullAll(folder);
    expect(first !== undefined && isInvalidRecord(first.value)).toBe(true);
    expect(Buffer.from(String(first?.value['_sluice_payload']), 'base64').equals(bad)).toBe(true);
    expect(second?.value).toEqual({ a: 'é' });
  });
});
