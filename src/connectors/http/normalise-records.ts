import { SchemaMismatchError, SourceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import type { SchemaPolicy } from '../../core/schema-evolution.js';
import { resolveSchema } from '../../core/schema-evolution.js';
import type { Field } from '../../core/types.js';
import { toDuckDBType } from '../../core/type-mappings.js';
import type { SourceReadContext } from '../../engine/connector.js';
import { firstLine } from '../../engine/duckdb-session.js';
import type { EnforcedColumn, EnforcementResult } from '../../engine/schema-enforcement.js';
import { enforceSchema, typedFromJSON } from '../../engine/schema-enforcement.js';
import type { NestedMode, PlannedColumn } from './record-columns.js';
import { jsonPathLiteral, keysOfName, recordColumns } from './record-columns.js';

/** How staged records become the step's dataset. */
export interface NormaliseOptions {
  /** The quoted staging table (`__sluice_line`, `__sluice_url`). */
  readonly table: string;
  readonly schema: Schema | undefined;
  readonly schemaPolicy: SchemaPolicy;
  readonly nested: NestedMode;
  /** Where the records came from, for messages. */
  readonly source: string;
}

/**
 * Turns staged JSON records into the step's typed dataset in DuckDB: columns are inferred from
 * every record (or taken from the declared schema under its policy), extracted with one
 * vectorised `json_extract` per record, typed, and checked; records that do not fit go to the
 * quarantine with the reason.
 *
 * @example
 * ```ts
 * await normaliseRecords(context, { table: stage.table, schema: undefined, schemaPolicy: 'discard_row', nested: 'flatten', source: url });
 * ```
 */
export async function normaliseRecords(
  context: SourceReadContext,
  options: NormaliseOptions,
): Promise<EnforcementResult & { readonly schemaChanges: readonly string[] }> {
  const { stepId } = context;
  const declared = options.schema?.fields;
  const discover =
    declared === undefined || ['strict', 'additive', 'widen'].includes(options.schemaPolicy);
  const discovered = discover ? await discoverColumns(context, options) : [];
  const keysByName = new Map(discovered.map((c) => [c.name, c.keys]));
  const resolution =
    declared === undefined
      ? undefined
      : resolveSchema(
          declared,
          discover ? discovered : declared.map((f) => ({ name: f.name, type: f.type })),
          options.schemaPolicy,
        );
  if (resolution !== undefined && resolution.problems.length > 0) {
    throw new SchemaMismatchError(stepId, `${resolution.problems.join('; ')} (${options.source})`, {
      hint: 'fix the schema, or set a schemaPolicy that accepts the change (additive, widen)',
    });
  }
  const planned: PlannedColumn[] =
    resolution?.columns.map((c) => ({
      field: c.field,
      keys:
        c.sourceName === undefined
          ? undefined
          : (keysByName.get(c.sourceName) ?? keysOfName(c.sourceName, options.nested)),
    })) ??
    discovered.map((c) => ({
      field: { name: c.name, type: c.type, nullable: true },
      keys: c.keys,
    }));
  if (planned.length === 0) {
    throw new SourceError(
      stepId,
      `no record with fields in ${options.source} to infer columns from`,
      {
        hint: 'declare the schema in the source config, so an empty answer is an empty dataset',
      },
    );
  }
  const withPaths = planned.filter((c) => c.keys !== undefined);
  const paths = withPaths.map((c) => jsonPathLiteral(c.keys as readonly string[]));
  const values =
    paths.length === 0
      ? 'CAST(NULL AS JSON[])'
      : `json_extract(__sluice_line, [${paths.join(', ')}])`;
  const scan = `(
    SELECT __sluice_line, __sluice_url,
      CASE WHEN json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT'
           THEN ${values} END AS __sluice_values,
      json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT' AS __sluice_object
    FROM ${options.table})`;
  const columns = planned.map((c): EnforcedColumn => {
    const position = withPaths.indexOf(c);
    return position < 0
      ? { field: c.field, typed: `CAST(NULL AS ${toDuckDBType(c.field.type)})` }
      : typedFromJSON(c.field, position + 1);
  });
  try {
    const result = await enforceSchema({
      connection: context.connection,
      stepId,
      quarantine: context.quarantine,
      scan,
      columns,
      metadata: [],
      sourceFile: '__sluice_url',
      originalJSON: '__sluice_line',
      badValues: resolution?.badValues ?? 'quarantine',
      recordValid: { predicate: '__sluice_object', reason: 'the record is not a JSON object' },
    });
    return { ...result, schemaChanges: resolution?.changes ?? [] };
  } catch (cause) {
    throw new SourceError(
      stepId,
      `cannot type the records of ${options.source}: ${firstLine(cause)}`,
      {
        cause,
        hint: 'check the declared schema against the records the API sends',
      },
    );
  }
}

async function discoverColumns(
  context: SourceReadContext,
  options: NormaliseOptions,
): Promise<{ name: string; keys: readonly string[]; type: Field['type'] }[]> {
  const [row] = await context.connection.rows(
    `SELECT CAST(json_group_structure(CAST(__sluice_line AS JSON)) AS VARCHAR) AS structure
     FROM ${options.table}
     WHERE json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT'`,
  );
  const structure = row?.['structure'];
  if (typeof structure !== 'string') return [];
  return recordColumns(JSON.parse(structure) as unknown, options.nested);
}
