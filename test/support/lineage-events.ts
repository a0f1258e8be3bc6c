import { randomUUID } from 'node:crypto';

/** A dataset of a test event: `[namespace, name]`, with optional schema fields. */
export interface TestDataset {
  readonly namespace: string;
  readonly name: string;
  readonly fields?: readonly string[];
  /** Output field -> inputs `[namespace, name, field, type, subtype]`. */
  readonly columns?: Readonly<
    Record<string, readonly (readonly [string, string, string, string?, string?])[]>
  >;
}

/**
 * A standard OpenLineage 2-0-2 RunEvent as any producer sends it, with schema and
 * columnLineage facets built from the short form above.
 */
export function runEvent(options: {
  readonly job: readonly [string, string];
  readonly runId?: string;
  readonly eventType?: string;
  readonly eventTime?: string;
  readonly inputs?: readonly TestDataset[];
  readonly outputs?: readonly TestDataset[];
}): Record<string, unknown> {
  const producer = 'https://github.com/example/producer/v1';
  const facet = (schema: string): Record<string, string> => ({
    _producer: producer,
    _schemaURL: `https://openlineage.io/spec/facets/1-0-1/${schema}.json`,
  });
  const dataset = (d: TestDataset): Record<string, unknown> => {
    const facets: Record<string, unknown> = {};
    if (d.fields !== undefined)
      facets['schema'] = {
        ...facet('SchemaDatasetFacet'),
        fields: d.fields.map((name) => ({ name, type: 'VARCHAR' })),
      };
    if (d.columns !== undefined)
      facets['columnLineage'] = {
        ...facet('ColumnLineageDatasetFacet'),
        fields: Object.fromEntries(
          Object.entries(d.columns).map(([field, inputs]) => [
            field,
            {
              inputFields: inputs.map(([namespace, name, inputField, type, subtype]) => ({
                namespace,
                name,
                field: inputField,
                transformations: [{ type: type ?? 'DIRECT', subtype: subtype ?? 'IDENTITY' }],
              })),
            },
          ]),
        ),
      };
    return { namespace: d.namespace, name: d.name, facets };
  };
  return {
    eventType: options.eventType ?? 'COMPLETE',
    eventTime: options.eventTime ?? '2024-05-01T10:00:00.000Z',
    producer,
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    run: { runId: options.runId ?? randomUUID(), facets: {} },
    job: { namespace: options.job[0], name: options.job[1], facets: {} },
    inputs: (options.inputs ?? []).map(dataset),
    outputs: (options.outputs ?? []).map(dataset),
  };
}
