import type { z } from 'zod';
import { SchemaMismatchError, SluiceError, SourceError } from '../../core/errors.js';
import { resolveSchema } from '../../core/schema-evolution.js';
import type { Field } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { quoteIdentifier, toDuckDBType } from '../../core/type-mappings.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { toJSONValue } from '../../contracts/json-values.js';
import type { RawQuarantinedRecord } from '../../contracts/quarantine-store.js';
import { RowWriter } from '../../contracts/row-writer.js';
import type { EnforcedColumn } from '../../contracts/schema-enforcement.js';
import { enforceSchema } from '../../contracts/schema-enforcement.js';
import { metadataColumns } from '../shared/metadata-columns.js';
import { resolveInputFiles } from '../shared/resolve-files.js';
import type { avroSourceConfig } from './avro-configs.js';
import type { AvroReadColumn } from './avro-read-types.js';
import { avroReadColumns } from './avro-read-types.js';
import { countContainerRecords } from './container-count.js';
import type { ContainerBlock } from './container-reader.js';
import { openContainer } from './container-reader.js';

type AvroSourceOptions = z.output<typeof avroSourceConfig>;

const FILE_COLUMN = '__sluice_file';
const QUARANTINE_FLUSH_ROWS = 1000;

/** How one file's records become the dataset's columns. */
interface FilePlan {
  readonly fields: readonly Field[];
  /** For each field, the Avro column it is read from (undefined: null-filled). */
  readonly sources: readonly (AvroReadColumn | undefined)[];
  readonly changes: readonly string[];
  readonly badValues: 'quarantine' | 'null';
}

/**
 * The `avro` source's `read`: streams the container files block by block into the step's
 * dataset, checking each file's records against the declared schema.
 *
 * @example
 * ```ts
 * await readAvro(avroSourceConfig.parse({ path: 'data/*.avro' }), context);
 * ```
 */
export async function readAvro(
  config: AvroSourceOptions,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const { stepId, connection, quarantine, signal } = context;
  const files = await resolveInputFiles(context, config.path);
  const staging = quoteIdentifier(`__sluice_avro_${stepId}`);
  let first: FilePlan | undefined;
  let writer: RowWriter | undefined;
  let appender: Awaited<ReturnType<typeof connection.raw.createAppender>> | undefined;
  let rowsRejected = 0;
  let recordsInInput = 0;
  let valuesDiscarded = 0;
  let pending: RawQuarantinedRecord[] = [];
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    await quarantine.appendRaw(stepId, batch);
  };

  try {
    for (const file of files) {
      const container = await openContainer(file, signal).catch((cause: unknown) => {
        throw fileError(stepId, file, cause, signal);
      });
      // Counted from the blocks' framing alone, while the decoder reads the same file.
      const counting = countContainerRecords(file).then(
        (records) => ({ records }),
        (error: unknown) => ({ error }),
      );
      try {
        const plan = planFile(stepId, file, container.header.schema, config);
        if (first === undefined) {
          first = plan;
          writer = new RowWriter([...stagingFields(plan.fields, plan.sources), fileField()]);
          await connection.run(`CREATE OR REPLACE TABLE ${staging} (${writer.stagingColumns()})`);
          appender = await connection.raw.createAppender(`__sluice_avro_${stepId}`);
        } else {
          assertSamePlan(stepId, files[0] as string, first, file, plan);
        }
        const rowWriter = writer as RowWriter;
        const sink = appender as NonNullable<typeof appender>;
        try {
          for await (const block of container.blocks) {
            signal.throwIfAborted();
            block.records.forEach((record, i) => {
              const outcome = appendRecord(rowWriter, sink, plan, record, file);
              if (outcome.rejected !== undefined) {
                rowsRejected++;
                pending.push(rawRejected(outcome.rejected, block, i, file));
              }
              valuesDiscarded += outcome.discarded;
            });
            if (pending.length >= QUARANTINE_FLUSH_ROWS) await flush();
          }
        } catch (cause) {
          throw fileError(stepId, file, cause, signal);
        }
        const counted = await counting;
        if ('error' in counted) throw fileError(stepId, file, counted.error, signal);
        recordsInInput += counted.records;
      } finally {
        container.close();
        await counting;
      }
    }
    appender?.closeSync();
    appender = undefined;
    await flush();
  } catch (error) {
    try {
      appender?.closeSync();
    } catch {
      // The read already failed; the appender's own error adds nothing.
    }
    await flush();
    await connection.run(`DROP TABLE IF EXISTS ${staging}`).catch(() => 0);
    throw error;
  }

  const plan = first as FilePlan;
  const enforced = await enforceSchema({
    connection,
    stepId,
    quarantine,
    scan: staging,
    columns: enforcedColumns(plan),
    metadata: metadataColumns(config.metadata, context, FILE_COLUMN),
    sourceFile: FILE_COLUMN,
  });
  await connection.run(`DROP TABLE IF EXISTS ${staging}`);
  return {
    rowsRead: enforced.rowsRead + rowsRejected,
    rowsQuarantined: enforced.rowsQuarantined + rowsRejected,
    recordsInInput,
    fields: enforced.fields,
    inputs: files,
    schemaChanges: plan.changes,
    valuesDiscarded: valuesDiscarded + enforced.valuesDiscarded,
  };
}

function planFile(
  stepId: string,
  file: string,
  schema: unknown,
  config: AvroSourceOptions,
): FilePlan {
  let columns: AvroReadColumn[];
  try {
    columns = avroReadColumns(schema as Parameters<typeof avroReadColumns>[0]);
  } catch (cause) {
    throw new SourceError(
      stepId,
      `cannot map the Avro schema of ${file} to columns: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, hint: 'the file must hold records (a top-level record schema) of known Avro types' },
    );
  }
  const declared = config.schema;
  if (declared === undefined) {
    return {
      fields: columns.map((c) => c.field),
      sources: columns,
      changes: [],
      badValues: 'quarantine',
    };
  }
  const resolution = resolveSchema(
    declared.fields,
    columns.map((c) => ({ name: c.name, type: c.field.type })),
    config.schemaPolicy,
  );
  if (resolution.problems.length > 0) {
    throw new SchemaMismatchError(stepId, `${resolution.problems.join('; ')} (${file})`, {
      hint: 'fix the declared schema, or set a schemaPolicy that accepts the change (additive, widen); names match case-insensitively',
    });
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  return {
    fields: resolution.columns.map((c) => c.field),
    sources: resolution.columns.map((c) =>
      c.sourceName === undefined ? undefined : byName.get(c.sourceName),
    ),
    changes: resolution.changes,
    badValues: resolution.badValues,
  };
}

function assertSamePlan(
  stepId: string,
  firstFile: string,
  first: FilePlan,
  file: string,
  plan: FilePlan,
): void {
  const describe = (p: FilePlan): string =>
    p.fields
      .map((f) => `${f.name} ${formatType(f.type)}${f.nullable ? '' : ' not null'}`)
      .join(', ');
  if (describe(first) === describe(plan)) return;
  throw new SchemaMismatchError(
    stepId,
    `${file} reads as (${describe(plan)}) but ${firstFile} as (${describe(first)})`,
    {
      hint: 'declare a schema in the source config so files with different Avro schemas read into the same columns, or read them in separate steps',
    },
  );
}

const NESTED_KINDS = new Set(['list', 'struct', 'map']);

/**
 * Nested columns are staged as JSON text and converted by the engine, which checks them
 * against the column type (a record that does not convert is quarantined).
 */
function isNested(field: Field): boolean {
  return NESTED_KINDS.has(field.type.kind);
}

/** Timestamps read from Avro's epoch counts are staged as int64 microseconds, exact. */
function isEpochColumn(field: Field, source: AvroReadColumn | undefined): boolean {
  return field.type.kind === 'timestamp' && source?.read.epochMicros === true;
}

function stagingFields(
  fields: readonly Field[],
  sources: readonly (AvroReadColumn | undefined)[],
): Field[] {
  return fields.map((field, i) =>
    isEpochColumn(field, sources[i])
      ? { ...field, type: { kind: 'int64' } }
      : isNested(field)
        ? { ...field, type: { kind: 'json' } }
        : field,
  );
}

function fileField(): Field {
  return { name: FILE_COLUMN, type: { kind: 'string' }, nullable: false };
}

function enforcedColumns(plan: FilePlan): EnforcedColumn[] {
  return plan.fields.map((field, i) => {
    const column = quoteIdentifier(field.name);
    if (isNested(field))
      return {
        field,
        typed: `TRY_CAST(CAST(${column} AS JSON) AS ${toDuckDBType(field.type)})`,
        raw: column,
      };
    if (!isEpochColumn(field, plan.sources[i])) return { field, typed: column };
    const micros = column;
    const tz = field.type.kind === 'timestamp' && field.type.tz;
    return {
      field,
      typed: tz
        ? `(TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(${micros}))`
        : `make_timestamp(${micros})`,
    };
  });
}

/** Why a record does not fit, and the column at fault. */
interface Rejection {
  readonly reason: string;
  readonly column: string;
}

/**
 * A rejected record as its original bytes: its Avro binary encoding, exactly as in the block
 * (decode it with the writer schema in the file's header). Its byte offset is known only in an
 * uncompressed block; the reason names the block and record either way.
 */
function rawRejected(
  rejection: Rejection,
  block: ContainerBlock,
  index: number,
  file: string,
): RawQuarantinedRecord {
  const offset = block.recordOffset(index);
  return {
    bytes: Buffer.from(block.recordBytes(index)),
    reason: `${rejection.reason} (block ${block.number}, record ${index + 1})`,
    column: rejection.column,
    sourceFile: file,
    ...(offset === undefined ? {} : { offset }),
  };
}

function appendRecord(
  writer: RowWriter,
  appender: Parameters<RowWriter['write']>[0],
  plan: FilePlan,
  record: unknown,
  file: string,
): { rejected?: Rejection; discarded: number } {
  const row: Record<string, unknown> = { [FILE_COLUMN]: file };
  const values = record as Record<string, unknown>;
  for (let i = 0; i < plan.fields.length; i++) {
    const field = plan.fields[i] as Field;
    const source = plan.sources[i];
    try {
      const value = source === undefined ? null : source.read.convert(values[source.name], false);
      row[field.name] =
        value !== null && value !== undefined && isNested(field)
          ? JSON.stringify(toJSONValue(value))
          : value;
    } catch (cause) {
      return {
        rejected: {
          column: field.name,
          reason: `column "${field.name}": ${cause instanceof Error ? cause.message : String(cause)}`,
        },
        discarded: 0,
      };
    }
  }
  let discarded = 0;
  for (;;) {
    const problem = writer.write(appender, row);
    if (problem === undefined) return { discarded };
    const field = plan.fields.find((f) => f.name === problem.column);
    if (plan.badValues === 'null' && field?.nullable === true && row[problem.column] != null) {
      row[problem.column] = null;
      discarded++;
      continue;
    }
    return { rejected: { column: problem.column, reason: problem.reason }, discarded: 0 };
  }
}

/** What to throw when reading `file` failed: a cancellation and Sluice errors pass through. */
function fileError(stepId: string, file: string, cause: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || cause instanceof SluiceError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SourceError(stepId, `cannot read Avro file ${file}: ${message}`, {
    cause,
    hint: 'the file is not a complete Avro object container file (corrupt, truncated or another format); re-export it or leave it out of the path',
  });
}
