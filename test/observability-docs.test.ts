import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES } from '../src/observe/metrics/catalog.js';
import {
  OBSERVABILITY_PAGE,
  REGENERATE_COMMAND,
  withCurrentCatalog,
} from '../scripts/observability-docs.js';

describe('generated metrics catalog', () => {
  const page = readFileSync(new URL(`../${OBSERVABILITY_PAGE}`, import.meta.url), 'utf8');

  it(`${OBSERVABILITY_PAGE} matches what the catalog generates`, () => {
    expect(page, `${OBSERVABILITY_PAGE} is out of date; run: ${REGENERATE_COMMAND}`).toBe(
      withCurrentCatalog(page),
    );
  });

  it('documents every family with its type and labels', () => {
    for (const family of Object.values(METRIC_FAMILIES)) {
      const row = page.split('\n').find((line) => line.startsWith(`| \`${family.name}\` `));
      expect(row, family.name).toBeDefined();
      expect(row).toContain(` ${family.type} `);
      for (const label of family.labels) expect(row).toContain(`\`${label}\``);
    }
  });

  it('is linked from the documentation index', () => {
    const index = readFileSync(new URL('../docs/README.md', import.meta.url), 'utf8');
    expect(index).toContain('(observability.md)');
  });
});
