import { LineageEventError } from '../core/errors.js';

/** Longest namespace, name or field accepted (characters). */
export const LINEAGE_NAME_LIMIT = 4_096;

/** A dataset or job as an OpenLineage event names it. */
export interface LineageName {
  readonly namespace: string;
  readonly name: string;
}

/** A field of a dataset's `schema` facet. */
export interface LineageSchemaField {
  readonly name: string;
  readonly type?: string;
  readonly description?: string;
}

/** One input field an output field depends on, with how (from the `columnLineage` facet). */
export interface LineageColumnInput extends LineageName {
  readonly field: string;
  /** `DIRECT` or `INDIRECT` (`UNKNOWN` when the facet gives none). */
  readonly type: string;
  /** `IDENTITY`, `TRANSFORMATION`, `AGGREGATION`, `JOIN`, `FILTER`, ... (`''` when none). */
  readonly subtype: string;
  readonly description?: string;
  readonly masking?: boolean;
}

/** A dataset of an event, with what Sluice keeps of its facets. */
export interface LineageEventDataset extends LineageName {
  /** The `schema` facet's fields, when the event has one. */
  readonly fields?: readonly LineageSchemaField[];
  /** Output field name to its inputs (the `columnLineage` facet of an output). */
  readonly columns?: ReadonlyMap<string, readonly LineageColumnInput[]>;
  /**
   * Inputs that shape every output field at once (the `columnLineage` facet's `dataset` list:
   * INDIRECT JOIN, FILTER, GROUP_BY, SORT, WINDOW or CONDITIONAL), of an output.
   */
  readonly datasetInputs?: readonly LineageColumnInput[];
}

/** The parts of an OpenLineage RunEvent the lineage store records, checked. */
export interface LineageRunEvent {
  readonly eventType: string | undefined;
  /** `eventTime` in epoch milliseconds. */
  readonly eventTime: number;
  readonly runId: string;
  readonly job: LineageName;
  readonly inputs: readonly LineageEventDataset[];
  readonly outputs: readonly LineageEventDataset[];
  /** The event as received. */
  readonly raw: Readonly<Record<string, unknown>>;
}

const EVENT_TYPES = new Set(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 3339 date-time, what the schema's "format": "date-time" means.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Checks an OpenLineage 2-0-2 RunEvent (as parsed JSON) and returns what the lineage store
 * records. Throws a {@link LineageEventError} naming the first field that is wrong: missing
 * `eventTime`, `run.runId` or `job`; a dataset without namespace or name; a name that is empty,
 * longer than {@link LINEAGE_NAME_LIMIT} or holds a NUL character; a malformed `schema` or
 * `columnLineage` facet. Facets Sluice does not read are kept in the raw event, unchecked.
 *
 * @example
 * ```ts
 * const event = parseLineageEvent(JSON.parse(body));
 * event.outputs[0]?.columns?.get('total'); // [{ namespace, name, field: 'amount', type: 'DIRECT', ... }]
 * ```
 */
export function parseLineageEvent(value: unknown): LineageRunEvent {
  const event = object(value, '', 'must be a JSON object (an OpenLineage RunEvent)');
  const eventTimeText = event['eventTime'];
  if (typeof eventTimeText !== 'string' || !DATE_TIME.test(eventTimeText))
    throw new LineageEventError(
      'eventTime',
      'must be an RFC 3339 date-time such as "2024-05-01T10:00:00.000Z"',
    );
  const eventTime = Date.parse(eventTimeText.replace(' ', 'T'));
  if (Number.isNaN(eventTime))
    throw new LineageEventError('eventTime', `"${eventTimeText}" is not a valid date-time`);
  for (const key of ['producer', 'schemaURL'] as const)
    if (typeof event[key] !== 'string' || event[key] === '')
      throw new LineageEventError(key, 'must be a non-empty string (a URI)');
  const eventType = event['eventType'];
  if (eventType !== undefined && (typeof eventType !== 'string' || !EVENT_TYPES.has(eventType)))
    throw new LineageEventError('eventType', `must be one of ${[...EVENT_TYPES].join(', ')}`);
  const run = object(event['run'], 'run', 'must be an object with a runId');
  const runId = run['runId'];
  if (typeof runId !== 'string' || !UUID.test(runId))
    throw new LineageEventError(
      'run.runId',
      'must be a UUID such as "0176a8c2-fe01-7439-87e6-56a1a1b4029f"',
    );
  const job = lineageName(event['job'], 'job');
  return {
    eventType,
    eventTime,
    runId: runId.toLowerCase(),
    job,
    inputs: datasets(event['inputs'], 'inputs', false),
    outputs: datasets(event['outputs'], 'outputs', true),
    raw: event,
  };
}

function object(value: unknown, path: string, message: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new LineageEventError(path, message);
  return value as Record<string, unknown>;
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '')
    throw new LineageEventError(path, 'must be a non-empty string');
  if (value.length > LINEAGE_NAME_LIMIT)
    throw new LineageEventError(
      path,
      `is ${value.length} characters long; at most ${LINEAGE_NAME_LIMIT} are accepted`,
    );
  if (value.includes('\u0000'))
    throw new LineageEventError(path, 'holds a NUL character, which no store can keep');
  return value;
}

function lineageName(value: unknown, path: string): LineageName {
  const named = object(value, path, 'must be an object with "namespace" and "name"');
  return {
    namespace: text(named['namespace'], `${path}.namespace`),
    name: text(named['name'], `${path}.name`),
  };
}

function datasets(value: unknown, path: string, outputs: boolean): LineageEventDataset[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new LineageEventError(path, 'must be an array of datasets');
  return value.map((item, index) => dataset(item, `${path}[${index}]`, outputs));
}

function dataset(value: unknown, path: string, output: boolean): LineageEventDataset {
  const name = lineageName(value, path);
  const facets = (value as Record<string, unknown>)['facets'];
  if (facets === undefined || facets === null) return name;
  const facetsObject = object(facets, `${path}.facets`, 'must be an object');
  const fields = schemaFields(facetsObject['schema'], `${path}.facets.schema`);
  // Inputs may carry a columnLineage facet too (some producers repeat it); only outputs have
  // fields that are derived, so only theirs make edges.
  const lineage = output
    ? columnLineage(facetsObject['columnLineage'], `${path}.facets.columnLineage`)
    : undefined;
  return {
    ...name,
    ...(fields === undefined ? {} : { fields }),
    ...(lineage === undefined ? {} : { columns: lineage.columns }),
    ...(lineage?.datasetInputs === undefined ? {} : { datasetInputs: lineage.datasetInputs }),
  };
}

function schemaFields(value: unknown, path: string): LineageSchemaField[] | undefined {
  if (value === undefined || value === null) return undefined;
  const facet = object(value, path, 'must be an object');
  if (facet['fields'] === undefined) return undefined;
  if (!Array.isArray(facet['fields']))
    throw new LineageEventError(`${path}.fields`, 'must be an array of {name, type}');
  return facet['fields'].map((item, index) => {
    const at = `${path}.fields[${index}]`;
    const field = object(item, at, 'must be an object with a "name"');
    const type = field['type'];
    const description = field['description'];
    if (type !== undefined && typeof type !== 'string')
      throw new LineageEventError(`${at}.type`, 'must be a string');
    if (description !== undefined && typeof description !== 'string')
      throw new LineageEventError(`${at}.description`, 'must be a string');
    return {
      name: text(field['name'], `${at}.name`),
      ...(type === undefined ? {} : { type }),
      ...(description === undefined ? {} : { description }),
    };
  });
}

function columnLineage(
  value: unknown,
  path: string,
):
  | { columns: Map<string, LineageColumnInput[]>; datasetInputs: LineageColumnInput[] | undefined }
  | undefined {
  if (value === undefined || value === null) return undefined;
  const facet = object(value, path, 'must be an object with "fields"');
  const fields = object(
    facet['fields'],
    `${path}.fields`,
    'must be an object keyed by output field',
  );
  const columns = new Map<string, LineageColumnInput[]>();
  for (const [outputField, entry] of Object.entries(fields)) {
    const at = `${path}.fields[${JSON.stringify(outputField)}]`;
    text(outputField, at);
    const inputFields = object(entry, at, 'must be an object with "inputFields"')['inputFields'];
    if (!Array.isArray(inputFields))
      throw new LineageEventError(`${at}.inputFields`, 'must be an array');
    const inputs: LineageColumnInput[] = [];
    inputFields.forEach((item, index) => inputField(item, `${at}.inputFields[${index}]`, inputs));
    columns.set(outputField, inputs);
  }
  const list = facet['dataset'];
  if (list === undefined || list === null) return { columns, datasetInputs: undefined };
  if (!Array.isArray(list))
    throw new LineageEventError(
      `${path}.dataset`,
      'must be an array of input fields that shape every output field',
    );
  const datasetInputs: LineageColumnInput[] = [];
  list.forEach((item, index) => inputField(item, `${path}.dataset[${index}]`, datasetInputs));
  return { columns, datasetInputs };
}

/** Checks one input field of a `columnLineage` facet; each of its transformations is one input. */
function inputField(item: unknown, inputAt: string, inputs: LineageColumnInput[]): void {
  const input = object(item, inputAt, 'must be an object with namespace, name and field');
  const source = {
    ...lineageName(input, inputAt),
    field: text(input['field'], `${inputAt}.field`),
  };
  const transformations = input['transformations'];
  if (transformations === undefined) {
    inputs.push({ ...source, type: 'UNKNOWN', subtype: '' });
    return;
  }
  if (!Array.isArray(transformations) || transformations.length === 0)
    throw new LineageEventError(`${inputAt}.transformations`, 'must be a non-empty array');
  transformations.forEach((t, n) => {
    const tAt = `${inputAt}.transformations[${n}]`;
    const transformation = object(t, tAt, 'must be an object with a "type"');
    const { subtype, description, masking } = transformation;
    if (subtype !== undefined && typeof subtype !== 'string')
      throw new LineageEventError(`${tAt}.subtype`, 'must be a string');
    if (description !== undefined && typeof description !== 'string')
      throw new LineageEventError(`${tAt}.description`, 'must be a string');
    if (masking !== undefined && typeof masking !== 'boolean')
      throw new LineageEventError(`${tAt}.masking`, 'must be true or false');
    inputs.push({
      ...source,
      type: text(transformation['type'], `${tAt}.type`),
      subtype: subtype ?? '',
      ...(description === undefined ? {} : { description }),
      ...(masking === undefined ? {} : { masking }),
    });
  });
}
