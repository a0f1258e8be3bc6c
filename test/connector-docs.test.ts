import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FILE_CONNECTOR_DOCS_PATH,
  REGENERATE_COMMAND,
  renderFileConnectorDocs,
} from '../scripts/connector-docs.js';

describe('docs/connectors/files.md', () => {
  it('matches what the connectors config schemas generate', () => {
    const committed = readFileSync(
      new URL(`../${FILE_CONNECTOR_DOCS_PATH}`, import.meta.url),
      'utf8',
    );
    expect(
      committed,
      `${FILE_CONNECTOR_DOCS_PATH} is out of date with the connectors; run: ${REGENERATE_COMMAND}`,
    ).toBe(renderFileConnectorDocs());
  });

  it('documents every config field of every file connector', () => {
    const page = renderFileConnectorDocs();
    for (const factory of [
      'source.csv',
      'source.tsv',
      'source.json',
      'source.ndjson',
      'source.parquet',
      'sink.parquet',
      'sink.csv',
      'sink.ndjson',
      'sink.duckdb',
    ]) {
      expect(page).toContain(`### \`${factory}\``);
    }
    expect(page).toMatch(/\| `schema` +\| `Schema` +\|/);
  });
});
