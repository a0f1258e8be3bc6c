import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Facet, RunEvent } from '../../src/observe/lineage/openlineage-event.js';
import { fixtureFolder } from '../fixtures.js';

const RUN_EVENT = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/** Validates events and facets against the OpenLineage spec, read in place by `$id`. */
export interface OpenLineageSchemas {
  /** The folder the schemas were read from. */
  readonly folder: string;
  /** Problems of one event: the event as `RunEvent`, then each facet against its own schema. */
  problems(event: RunEvent): string[];
  /** Validates a value against the schema a `_schemaURL` names. */
  validator(schemaURL: string): ValidateFunction | undefined;
}

/**
 * Loads `OpenLineage.json` and every facet schema from the shared fixtures (nothing fetched);
 * undefined (the tests skip) when the fixtures are absent.
 */
export function openLineageSchemas(): OpenLineageSchemas | undefined {
  const root = fixtureFolder('openlineage-prometheus');
  if (root === undefined) return undefined;
  const folder = join(root, 'openlineage');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(JSON.parse(readFileSync(join(folder, 'OpenLineage.json'), 'utf8')) as object);
  for (const file of readdirSync(join(folder, 'facets')).filter((f) => f.endsWith('.json')))
    ajv.addSchema(JSON.parse(readFileSync(join(folder, 'facets', file), 'utf8')) as object);
  const validator = (schemaURL: string): ValidateFunction | undefined => {
    try {
      return ajv.getSchema(schemaURL);
    } catch {
      return undefined;
    }
  };
  const runEvent = validator(RUN_EVENT);
  if (runEvent === undefined) throw new Error(`${RUN_EVENT} did not load`);
  return {
    folder,
    validator,
    problems(event: RunEvent): string[] {
      const problems: string[] = [];
      if (!runEvent(event)) problems.push(`RunEvent: ${ajv.errorsText(runEvent.errors)}`);
      for (const [where, facets] of facetGroups(event)) {
        for (const [name, facet] of Object.entries(facets)) {
          const validate = validator(facet._schemaURL);
          if (validate === undefined) {
            problems.push(`${where}.${name}: no schema ${facet._schemaURL}`);
            continue;
          }
          if (!validate(facet))
            problems.push(`${where}.${name}: ${ajv.errorsText(validate.errors)}`);
        }
      }
      return problems;
    },
  };
}

function facetGroups(event: RunEvent): [string, Readonly<Record<string, Facet>>][] {
  const groups: [string, Readonly<Record<string, Facet>>][] = [
    ['run', event.run.facets],
    ['job', event.job.facets],
  ];
  for (const dataset of [...event.inputs, ...event.outputs]) {
    for (const key of ['facets', 'inputFacets', 'outputFacets'] as const) {
      const facets = dataset[key];
      if (facets !== undefined) groups.push([`${dataset.name}.${key}`, facets]);
    }
  }
  return groups;
}
