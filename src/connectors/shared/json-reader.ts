import type { z } from 'zod';
import { SchemaMismatchError, SourceError } from '../../core/errors.js';
import { resolveSchema } from '../../core/schema-evolution.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { firstLine } from '../../contracts/engine-connection.js';
import { fieldsFromColumns } from '../../contracts/duckdb-types.js';
import type { EnforcedColumn } from '../../contracts/schema-enforcement.js';
import { enforceSchema, typedFromJSON } from '../../contracts/schema-enforcement.js';
import type { jsonSourceConfig } from './file-configs.js';
import { exactJSONStructure } from './json-number-types.js';
import { metadataColumns } from './metadata-columns.js';
import type { JSONLayout } from './json-framing.js';
import type { StagedJSONRecords } from './json-record-stage.js';
import {
  JSONFileError,
  RawRecordQuarantine,
  STAGED_ORIGINAL,
  stageJSONRecords,
  stagedColumns,
} from './json-record-stage.js';
import { resolveInputFiles } from './resolve-files.js';

type JSONConfig = z.output<typeof jsonSourceConfig>;

const WHOLE_DOCUMENT_HINT =
  'a JSON file must parse as a whole; use source.ndjson for one record per line';

/**
 * The `ndjson` source's `read`: one record per line; a line that is not a JSON object is
 * quarantined with its text.
 *
 * @example
 * ```ts
 * await readNDJSON(jsonSourceConfig.parse({ path: 'events.ndjson' }), context);
 * ```
 */
export function readNDJSON(
  config: JSONConfig,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  return readJSON(config, context, 'lines');
}

/**
 * The `json` source's `read`: files holding an array of records or records one after another.
 *
 * @example
 * ```ts
 * await readJSONDocuments(jsonSourceConfig.parse({ path: 'orders.json' }), context);
 * ```
 */
export function readJSONDocuments(
  config: JSONConfig,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  return readJSON(config, context, 'documents');
}

async function readJSON(
  config: JSONConfig,
  context: SourceReadContext,
  layout: JSONLayout,
): Promise<SourceReadResult> {
  const { stepId } = context;
  const files = await resolveInputFiles(context, config.path);
  const staging = `__sluice_json_${stepId}`;
  const staged = await stageRecords(config, context, files, layout, staging);
  try {
    const result = await typeStagedRecords(
      config,
      context,
      files,
      layout,
      quoteIdentifier(staging),
    );
    return {
      ...result,
      rowsRead: result.rowsRead + staged.unreadable,
      rowsQuarantined: result.rowsQuarantined + staged.unreadable,
      recordsInInput: staged.records,
    };
  } finally {
    await context.connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(staging)}`).catch(() => 0);
  }
}

/**
 * Splits the files into records and stages them; records that are not UTF-8 are quarantined
 * here, with their bytes. A file that cannot be split fails the step with where it broke.
 */
async function stageRecords(
  config: JSONConfig,
  context: SourceReadContext,
  files: readonly string[],
  layout: JSONLayout,
  table: string,
): Promise<StagedJSONRecords> {
  const { stepId } = context;
  try {
    const staged = await stageJSONRecords({
      connection: context.connection,
      table,
      files,
      compression: config.compression,
      layout,
      signal: context.signal,
      unreadable: (records) => context.quarantine.appendRaw(stepId, records),
    });
    if (config.onMalformed === 'fail' && staged.unreadable > 0) {
      throw new SourceError(
        stepId,
        `${staged.unreadable} record(s) are not UTF-8 text; see ${context.quarantine.pathFor(stepId)}`,
        {
          hint: "fix the input, or set onMalformed: 'quarantine' to quarantine such records and go on",
        },
      );
    }
    return staged;
  } catch (cause) {
    if (cause instanceof SourceError || context.signal.aborted) throw cause;
    const file = cause instanceof JSONFileError ? cause.file : files.join(', ');
    throw new SourceError(
      stepId,
      `cannot read ${layout === 'lines' ? 'NDJSON' : 'JSON'} ${file}: ${firstLine(cause)}`,
      {
        cause,
        hint:
          layout === 'documents'
            ? WHOLE_DOCUMENT_HINT
            : 'check the compression setting and that the files are text',
      },
    );
  }
}

async function typeStagedRecords(
  config: JSONConfig,
  context: SourceReadContext,
  files: readonly string[],
  layout: JSONLayout,
  staging: string,
): Promise<Omit<SourceReadResult, 'recordsInInput'>> {
  const { stepId } = context;
  const declared = config.schema?.fields;
  // Undeclared columns only matter to policies that add them or refuse them.
  const discover =
    declared === undefined || ['strict', 'additive', 'widen'].includes(config.schemaPolicy);
  const discovered = discover ? await inferFields(context, files, staging, layout) : [];
  const resolution =
    declared === undefined
      ? undefined
      : resolveSchema(declared, discover ? discovered : declared, config.schemaPolicy);
  if (resolution !== undefined && resolution.problems.length > 0) {
    throw new SchemaMismatchError(
      stepId,
      `${resolution.problems.join('; ')} (${files.join(', ')})`,
      {
        hint: 'fix the schema or the data, or set a schemaPolicy that accepts the change (additive, widen)',
      },
    );
  }
  const planned =
    resolution?.columns ?? discovered.map((field) => ({ field, sourceName: field.name }));
  const fields = planned.map((c) => c.field);
  if (fields.length === 0) {
    throw new SourceError(stepId, `no record in ${files.join(', ')} to infer columns from`, {
      hint: 'declare the schema in the source config, so an empty input is an empty dataset',
    });
  }
  const paths = planned.map((c) =>
    quoteLiteral(`$."${(c.sourceName ?? c.field.name).replaceAll('"', '\\"')}"`),
  );
  const scan = `(
    SELECT ${stagedColumns(files)},
      CASE WHEN json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT'
           THEN json_extract(__sluice_line, [${paths.join(', ')}]) END AS __sluice_values
    FROM ${staging})`;
  const columns: EnforcedColumn[] = fields.map((field, i) => typedFromJSON(field, i + 1));
  try {
    const result = await enforceSchema({
      connection: context.connection,
      stepId,
      quarantine: new RawRecordQuarantine(context.quarantine),
      scan,
      columns,
      metadata: metadataColumns(config.metadata, context, '__sluice_file'),
      sourceFile: '__sluice_file',
      originalJSON: STAGED_ORIGINAL,
      badValues: resolution?.badValues ?? 'quarantine',
      recordValid: {
        predicate: '__sluice_values IS NOT NULL',
        reason: 'not a valid JSON object',
      },
    });
    if (config.onMalformed === 'fail' && result.rowsMalformed > 0) {
      throw new SourceError(
        stepId,
        `${result.rowsMalformed} record(s) are not valid JSON objects; see ${context.quarantine.pathFor(stepId)}`,
        {
          hint: "fix the input, or set onMalformed: 'quarantine' to quarantine such records and go on",
        },
      );
    }
    return { ...result, inputs: files, schemaChanges: resolution?.changes ?? [] };
  } catch (cause) {
    if (cause instanceof SourceError) throw cause;
    throw new SourceError(stepId, `cannot read JSON ${files.join(', ')}: ${firstLine(cause)}`, {
      cause,
      hint:
        layout === 'documents'
          ? WHOLE_DOCUMENT_HINT
          : 'check the compression setting and that the files are text',
    });
  }
}

const INFERENCE_SAMPLE_ROWS = 10_000;

/**
 * A record structure (see `exactJSONStructure`, which types its numbers) as a DuckDB type.
 * Always-null and empty values stay JSON.
 */
function structureToDuckDBType(structure: unknown): string {
  if (typeof structure === 'string') {
    return structure === 'NULL' ? 'JSON' : structure;
  }
  if (Array.isArray(structure)) return `${structureToDuckDBType(structure[0] ?? 'NULL')}[]`;
  if (typeof structure === 'object' && structure !== null && Object.keys(structure).length > 0) {
    const entries = Object.entries(structure).map(
      ([key, value]) => `${quoteIdentifier(key)} ${structureToDuckDBType(value)}`,
    );
    return `STRUCT(${entries.join(', ')})`;
  }
  return 'JSON';
}

async function inferFields(
  context: SourceReadContext,
  files: readonly string[],
  lines: string,
  layout: JSONLayout,
): Promise<Field[]> {
  try {
    const structure = await exactJSONStructure(
      context.connection,
      `(SELECT __sluice_line AS __sluice_record FROM ${lines}
        WHERE json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT'
        LIMIT ${INFERENCE_SAMPLE_ROWS})`,
    );
    if (structure === undefined) return [];
    const recordType = structureToDuckDBType(structure);
    const reader = await context.connection.raw.runAndReadAll(
      `SELECT CAST(NULL AS ${recordType}) AS record`,
    );
    const [type] = reader.columnTypes();
    if (type === undefined || !('entryNames' in type)) return [];
    return fieldsFromColumns(type.entryNames, type.entryTypes);
  } catch (cause) {
    throw new SourceError(
      context.stepId,
      `cannot infer a schema from ${files.join(', ')}: ${firstLine(cause)}`,
      {
        cause,
        hint:
          layout === 'documents'
            ? WHOLE_DOCUMENT_HINT
            : 'check the compression setting, or declare the schema in the source config',
      },
    );
  }
}
