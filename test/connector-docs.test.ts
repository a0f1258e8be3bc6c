import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CONNECTOR_PAGES,
  REGENERATE_COMMAND,
  renderConnectorPage,
} from '../scripts/connector-docs.js';

describe('generated connector pages', () => {
  for (const page of CONNECTOR_PAGES) {
    it(`${page.path} matches what the connectors' config schemas generate`, () => {
      const committed = readFileSync(new URL(`../${page.path}`, import.meta.url), 'utf8');
      expect(
        committed,
        `${page.path} is out of date with the connectors; run: ${REGENERATE_COMMAND}`,
      ).toBe(renderConnectorPage(page));
    });
  }

  it('documents every connector and every config field', () => {
    const pages = CONNECTOR_PAGES.map(renderConnectorPage).join('\n');
    for (const factory of [
      'source.csv',
      'source.tsv',
      'source.json',
      'source.ndjson',
      'source.parquet',
      'source.delta',
      'sink.parquet',
      'sink.csv',
      'sink.ndjson',
      'sink.duckdb',
      'sink.delta',
      'source.postgres',
      'source.postgresCdc',
      'sink.postgres',
      'source.webhook',
      'streamSource.webhook',
      'streamSink.webhook',
    ]) {
      expect(pages).toContain(`### \`${factory}\``);
    }
    expect(pages).toMatch(/\| `schema` +\| `Schema` +\|/);
    expect(pages).toMatch(/\| `lagWindow` +\|/);
    expect(pages).toMatch(/\| `deleteWhen` +\|/);
  });
});
