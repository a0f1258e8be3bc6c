import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { buildColumnLineageFacet, deriveColumnLineage } from '../src/observe/lineage/index.js';
import { fixtureFolder } from './fixtures.js';
import { LINEAGE_CORPUS } from './lineage-corpus/index.js';

const folder = fixtureFolder('openlineage-prometheus');
const SPEC = folder === undefined ? undefined : join(folder, 'openlineage');
const FACET_ID = 'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json';

function readJSON(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

/** Validates `{ columnLineage: facet }` against the facet schema, loaded by `$id` from the spec. */
function facetValidator(spec: string): (value: unknown) => string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(readJSON(join(spec, 'OpenLineage.json')) as object);
  ajv.addSchema(readJSON(join(spec, 'facets', 'ColumnLineageDatasetFacet.json')) as object);
  const validate = ajv.getSchema(FACET_ID);
  if (validate === undefined) throw new Error(`${FACET_ID} did not load`);
  return (value) =>
    validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe.skipIf(SPEC === undefined)('column lineage facet against the OpenLineage schema', () => {
  const spec = SPEC as string;

  it('the validator accepts the spec examples and rejects a facet without namespace', () => {
    const validate = facetValidator(spec);
    const examples = join(spec, 'tests', 'ColumnLineageDatasetFacet');
    const files = readdirSync(examples).filter((file) => file.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(validate(readJSON(join(examples, file))), file).toEqual([]);
    const broken = {
      columnLineage: {
        _producer: 'https://example.com/p',
        _schemaURL: `${FACET_ID}#/$defs/ColumnLineageDatasetFacet`,
        fields: { a: { inputFields: [{ name: 'orders', field: 'a' }] } },
      },
    };
    expect(validate(broken).join('\n')).toContain('namespace');
  });

  it('every facet built from the derivable corpus validates', async () => {
    const validate = facetValidator(spec);
    let built = 0;
    for (const entry of LINEAGE_CORPUS) {
      const lineage = await deriveColumnLineage(entry.sql, entry.inputs, {
        dialect: entry.dialect,
      });
      if (lineage.status !== 'derived') continue;
      const facet = buildColumnLineageFacet(lineage, {
        producer: 'https://github.com/sluice-data/sluice/tree/v0.1.0',
        datasetOf: (relation) => ({ namespace: 'duckdb:///tmp/warehouse.duckdb', name: relation }),
      });
      expect(validate({ columnLineage: facet }), entry.name).toEqual([]);
      built += 1;
    }
    expect(built).toBe(LINEAGE_CORPUS.filter((entry) => entry.unresolved === undefined).length);
  });
});
