import { SchemaMismatchError, SourceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import type { SchemaPolicy } from '../../core/schema-evolution.js';
import { resolveSchema } from '../../core/schema-evolution.js';
import type { Field } from '../../core/types.js';
import { toDuckDBType } from '../../core/type-mappings.js';
import type { SourceReadContext } from '../../contracts/batch-connector.js';
import { firstLine } from '../../contracts/engine-connection.js';
import type { EnforcedColumn, EnforcementResult } from '../../contracts/schema-enforcement.js';
import { enforceSchema, typedFromJSON } from '../../contracts/schema-enforcement.js';
import type { ChildTable, RecordKey } from './child-tables.js';
import { ROW_ID, publishChildTables, recordIdSQL, stageChildTables } from './child-tables.js';
import type { NestedMode, PlannedColumn } from './record-columns.js';
import { jsonPathLiteral, keysOfName, recordColumns } from './record-columns.js';
import { exactJSONStructure } from '../shared/json-number-types.js';

/** How staged records become the step's dataset. */
export interface NormaliseOptions {
  /** The quoted staging table (`__sluice_line`, `__sluice_url`). */
  readonly table: string;
  readonly schema: Schema | undefined;
  readonly schemaPolicy: SchemaPolicy;
  readonly nested: NestedMode;
  /** Where the records came from, for messages. */
  readonly source: string;
  /** With `nested: 'child_tables'`: the arrays that become child datasets. */
  readonly childTables?: ChildTablesOptions;
}

/** The child datasets to make besides the step's own. */
export interface ChildTablesOptions {
  readonly tables: readonly ChildTable[];
  /** Names of the columns identifying a record; may be empty. */
  readonly primaryKey: readonly string[];
  /**
   * The engine's incremental filter, applied here before the child datasets are made: the
   * engine cannot filter a dataset with children without leaving child rows of records it drops.
   */
  readonly keepNewRows?: () => Promise<number>;
}

/** What {@link normaliseRecords} reports. */
export type NormaliseResult = EnforcementResult & {
  readonly schemaChanges: readonly string[];
  /** The child datasets created, with their columns and rows. */
  readonly children?: readonly {
    readonly name: string;
    readonly fields: readonly Field[];
    readonly rowsRead: number;
  }[];
};

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
): Promise<NormaliseResult> {
  const { stepId } = context;
  const declared = options.schema?.fields;
  const children = options.childTables;
  const discover =
    declared === undefined || ['strict', 'additive', 'widen'].includes(options.schemaPolicy);
  const structure =
    discover || children !== undefined ? await discoverStructure(context, options) : undefined;
  const discovered = discover
    ? recordColumns(
        structure,
        options.nested,
        children?.tables.filter((t) => t.parent === undefined).map((t) => t.keys),
      )
    : [];
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
  const plannedColumns: PlannedColumn[] =
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
  const planned =
    children === undefined ? plannedColumns : withRecordKey(stepId, plannedColumns, children);
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
  const columns = planned.map((c): EnforcedColumn => {
    const position = withPaths.indexOf(c);
    return position < 0
      ? { field: c.field, typed: `CAST(NULL AS ${toDuckDBType(c.field.type)})` }
      : typedFromJSON(c.field, position + 1);
  });
  const recordKey = (children?.primaryKey ?? []).map((name): RecordKey => {
    const column = withPaths.find((c) => c.field.name === name) as PlannedColumn;
    return { field: column.field, keys: column.keys as readonly string[] };
  });
  const staged =
    children === undefined
      ? undefined
      : await stageChildTables({
          connection: context.connection,
          stepId,
          runId: context.runId,
          stage: options.table,
          structure,
          tables: children.tables,
          primaryKey: recordKey,
        });
  const bad = staged?.badRecords;
  const scan = `(
    SELECT __sluice_line, __sluice_url,${children === undefined ? '' : ' rowid AS __sluice_record,'}
      CASE WHEN json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT'
           THEN ${values} END AS __sluice_values,
      json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT' AS __sluice_object
    FROM ${options.table}
    ${bad === undefined ? '' : `WHERE rowid NOT IN (SELECT __sluice_record FROM ${bad})`})`;
  let result: EnforcementResult;
  try {
    result = await enforceSchema({
      connection: context.connection,
      stepId,
      quarantine: context.quarantine,
      scan,
      columns,
      metadata:
        children === undefined
          ? []
          : [
              {
                field: { name: ROW_ID, type: { kind: 'string' }, nullable: false },
                expression: recordIdSQL({
                  runId: context.runId,
                  record: '__sluice_record',
                  keyValues:
                    recordKey.length === 0
                      ? undefined
                      : recordKey.map(
                          (k) =>
                            `__sluice_values[${withPaths.findIndex((c) => c.field.name === k.field.name) + 1}]`,
                        ),
                }),
              },
            ],
      sourceFile: '__sluice_url',
      originalJSON: '__sluice_line',
      badValues: resolution?.badValues ?? 'quarantine',
      recordValid: { predicate: '__sluice_object', reason: 'the record is not a JSON object' },
      ...(bad === undefined ? {} : { extraQuarantine: badRecordsQuarantine(options.table, bad) }),
    });
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
  const schemaChanges = resolution?.changes ?? [];
  if (children === undefined || staged === undefined) return { ...result, schemaChanges };
  if (bad !== undefined) await context.connection.run(`DROP TABLE ${bad}`);
  const skipped = children.keepNewRows === undefined ? 0 : await children.keepNewRows();
  const published = await publishChildTables(context.connection, stepId, staged, {
    recordsLeftOut: result.rowsQuarantined > 0 || skipped > 0,
  });
  return { ...result, schemaChanges, children: published };
}

/** The columns with the primary key required, checked to exist and not to clash with `_sluice_id`. */
function withRecordKey(
  stepId: string,
  planned: readonly PlannedColumn[],
  children: ChildTablesOptions,
): PlannedColumn[] {
  if (planned.some((c) => c.field.name === ROW_ID))
    throw new SourceError(stepId, `the records have a column "${ROW_ID}", the name of the row id`, {
      hint: 'rename the key in the API response, or read the records without child_tables',
    });
  for (const name of children.primaryKey) {
    if (!planned.some((c) => c.field.name === name && c.keys !== undefined))
      throw new SourceError(stepId, `primaryKey column "${name}" is not a column of the records`, {
        hint: `name columns of the dataset (nested values as parent__child): ${planned.map((c) => c.field.name).join(', ')}`,
      });
  }
  return planned.map((c) =>
    children.primaryKey.includes(c.field.name)
      ? { ...c, field: { ...c.field, nullable: false } }
      : c,
  );
}

/** Quarantine rows of the records a child table found at fault, each with its first reason. */
function badRecordsQuarantine(stage: string, bad: string): string {
  return `SELECT s.__sluice_url AS source_file, CAST(NULL AS BIGINT) AS line,
       CAST(NULL AS VARCHAR) AS "column", b.reason,
       CAST(s.__sluice_line AS JSON) AS record
     FROM ${stage} s
     JOIN (SELECT __sluice_record,
             min(reason) || CASE WHEN count(*) > 1 THEN ' (and ' || (count(*) - 1) || ' more)' ELSE '' END AS reason
           FROM ${bad} GROUP BY __sluice_record) b
       ON s.rowid = b.__sluice_record`;
}

async function discoverStructure(
  context: SourceReadContext,
  options: NormaliseOptions,
): Promise<unknown> {
  // Numbers typed so that they hold every value exactly (int64, decimal(38,0) or JSON text for
  // integers beyond int64), as the JSON file sources type them.
  return exactJSONStructure(
    context.connection,
    `(SELECT __sluice_line AS __sluice_record FROM ${options.table}
      WHERE json_valid(__sluice_line) AND json_type(__sluice_line) = 'OBJECT')`,
  );
}
