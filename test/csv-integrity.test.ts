import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, source, t } from '../src/index.js';
import { originalBytes } from '../src/contracts/quarantine-store.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const items = schema({ id: t.int64().notNull(), name: t.string() });

function readAll(step: ReturnType<typeof source.csv>) {
  return pipeline('read', {
    steps: { input: step, out: sink.ndjson({ input: ref('input'), path: 'out.ndjson' }) },
  });
}

async function csvFile(dir: string, name: string, content: string | Buffer): Promise<string> {
  await writeFile(join(dir, name), content);
  return name;
}

describe('csv source accounting', () => {
  it('fails, loading nothing, when an unterminated quote swallows the rest of the file', async () => {
    const dir = await tempDir();
    const lines = ['id,name'];
    for (let i = 0; i < 9999; i++) lines.push(i === 5000 ? '5000,"x,5000' : `${i},n${i}`);
    await csvFile(dir, 'bad.csv', `${lines.join('\n')}\n`);
    const report = await runIn(dir, readAll(source.csv({ path: 'bad.csv', schema: items })));
    expect(report.status).toBe('failed');
    const input = stepOf(report, 'input');
    expect(input.error?.code).toBe('SOURCE_FAILED');
    expect(input.error?.message).toMatch(/never closed/);
    expect(stepOf(report, 'out').status).not.toBe('success');
  });

  it('quarantines a rejected line of any length whole, byte for byte', async () => {
    const dir = await tempDir();
    const long = `x${'e'.repeat(30_000)},${'y'.repeat(20_000)},"a ""quoted"" field",extra`;
    await csvFile(dir, 'long.csv', `id,name\n1,a\n${long}\n2,b\n`);
    const report = await runIn(dir, readAll(source.csv({ path: 'long.csv', schema: items })));
    expect(report.status).toBe('success');
    expect(stepOf(report, 'input')).toMatchObject({ rowsIn: 3, rowsOut: 2, rowsQuarantined: 1 });
    const [entry] = await readNDJSON(stepOf(report, 'input').quarantineFile as string);
    expect(entry).toMatchObject({ line: 3, source_file: join(dir, 'long.csv') });
    expect(originalBytes(entry as never).toString('utf8')).toBe(long);
  });

  it('fails clearly (never loses it) when a rejected line over 10,000 bytes has multi-byte characters', async () => {
    // DuckDB's reader cuts its copy of a rejected line at 10,000 bytes, inside a character.
    const dir = await tempDir();
    await csvFile(dir, 'wide.csv', `id,name\n1,a\nx${'é'.repeat(30_000)},b\n2,b\n`);
    const report = await runIn(dir, readAll(source.csv({ path: 'wide.csv', schema: items })));
    expect(report.status).toBe('failed');
    expect(stepOf(report, 'input').error).toMatchObject({ code: 'SOURCE_FAILED' });
    expect(stepOf(report, 'input').error?.message).toMatch(/multi-byte/);
  });

  it('fails with ROWS_UNACCOUNTED, loading nothing, on a rejected record over 10,000 bytes whose value spans lines', async () => {
    // The reader's copy ends before the line break, so the record's end cannot be found.
    const dir = await tempDir();
    const record = `q,"${'z'.repeat(12_000)}\n${'w'.repeat(50)}"`;
    await csvFile(dir, 'wide.csv', `id,name\n1,a\n${record}\n3,c\n`);
    const report = await runIn(dir, readAll(source.csv({ path: 'wide.csv', schema: items })));
    expect(report.status).toBe('failed');
    expect(stepOf(report, 'input').error?.code).toBe('ROWS_UNACCOUNTED');
    expect(stepOf(report, 'out').status).not.toBe('success');
  });

  it('keeps a rejected line that is not UTF-8 losslessly, as base64', async () => {
    const dir = await tempDir();
    const bad = Buffer.concat([
      Buffer.from('x7,'),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from(',z'),
    ]);
    const file = Buffer.concat([Buffer.from('id,name\n1,a\n'), bad, Buffer.from('\n2,b\n')]);
    await csvFile(dir, 'bytes.csv', file);
    const report = await runIn(dir, readAll(source.csv({ path: 'bytes.csv', schema: items })));
    expect(stepOf(report, 'input')).toMatchObject({ rowsIn: 3, rowsOut: 2, rowsQuarantined: 1 });
    const [entry] = await readNDJSON(stepOf(report, 'input').quarantineFile as string);
    expect(entry?.['record_encoding']).toBe('base64');
    expect(originalBytes(entry as never).equals(bad)).toBe(true);
  });

  it('accounts for quoted values spanning lines, blank lines and CRLF, in plain and gzip files', async () => {
    const dir = await tempDir();
    const content = [
      'id,name',
      '1,"two\r\n\r\nlines"',
      '',
      'x2,"bad\nvalue"',
      '3,"c"',
      '4,plain',
      '',
    ].join('\r\n');
    await csvFile(dir, 'ml.csv', content);
    await csvFile(dir, 'ml.csv.gz', gzipSync(content));
    for (const path of ['ml.csv', 'ml.csv.gz']) {
      const report = await runIn(dir, readAll(source.csv({ path, schema: items })));
      expect(report.status).toBe('success');
      expect(stepOf(report, 'input')).toMatchObject({ rowsIn: 4, rowsOut: 3, rowsQuarantined: 1 });
      const [entry] = await readNDJSON(stepOf(report, 'input').quarantineFile as string);
      expect(entry).toMatchObject({ line: 6, record: 'x2,"bad\nvalue"' });
    }
  });
});
