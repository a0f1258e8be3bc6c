import type { z } from 'zod';
import { SchemaMismatchError, SourceError } from '../../core/errors.js';
import { resolveSchema } from '../../core/schema-evolution.js';
import type { Field } from '../../core/types.js';
import { formatType } from '../../core/types.js';
import { quoteIdentifier, toDuckDBType } from '../../core/type-mappings.js';
import type { DuckDBType } from '@duckdb/node-api';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { firstLine } from '../../contracts/engine-connection.js';
import { fieldsFromColumns, isExactLogicalType } from '../../contracts/duckdb-types.js';
import type { EnforcedColumn } from '../../contracts/schema-enforcement.js';
import { enforceSchema } from '../../contracts/schema-enforcement.js';
import type { parquetSourceConfig } from '../shared/file-configs.js';
import { metadataColumns } from '../shared/metadata-columns.js';
import { fileList, resolveInputFiles } from '../shared/resolve-files.js';

type ParquetConfig = z.output<typeof parquetSourceConfig>;

/**
 * Reads Parquet files. With a declared schema, columns are converted to the declared types;
 * values that do not convert are quarantined with the row.
 *
 * @example
 * ```ts
 * source.parquet({ path: 'lake/orders
/**
 * The `parquet` source's `read`: creates the step's dataset from the files, converting columns
 * to the declared types; counts records by the files' footers.
 *
 * @example
 * ```ts
 * await readParquet(parquetSourceConfig.parse({ path: 'lake/*.parquet' }), context);
 * ```
 */
export async function readParquet(
  config: ParquetConfig,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const { stepId } = context;
  const files = await resolveInputFiles(context, config.path);
  const recordsInInput = await footerRowCount(context, files);
  const scan = `read_parquet(${fileList(files)}, filename = '__sluice_file',
    hive_partitioning = ${config.hivePartitioning}, union_by_name = true)`;
  let found: { readonly field: Field; readonly exact: boolean }[];
  try {
    const reader = await context.connection.raw.runAndReadAll(`SELECT * FROM ${scan} LIMIT 0`);
    const types = reader.columnTypes();
    found = fieldsFromColumns(reader.columnNames(), types)
      .map((field, i) => ({ field, exact: isExactLogicalType(types[i] as DuckDBType) }))
      .filter((c) => c.field.name !== '__sluice_file');
  } catch (cause) {
    throw new SourceError(stepId, `cannot read Parquet ${files.join(', ')}: ${firstLine(cause)}`, {
      cause,
      hint: 'check that the files are Parquet and not truncated',
    });
  }
  const byName = new Map(found.map((c) => [c.field.name, c]));
  const resolution =
    config.schema === undefined
      ? undefined
      : resolveSchema(
          config.schema.fields,
          found.map((c) => c.field),
          config.schemaPolicy,
        );
  if (resolution !== undefined && resolution.problems.length > 0) {
    throw new SchemaMismatchError(
      stepId,
      `${resolution.problems.join('; ')} (the Parquet files have ${found.map((c) => `"${c.field.name}"`).join(', ')})`,
      {
        hint: 'fix the schema, or set a schemaPolicy that accepts the change (additive, widen); names match case-insensitively',
      },
    );
  }
  const planned =
    resolution?.columns ?? found.map((c) => ({ field: c.field, sourceName: c.field.name }));
  const columns: EnforcedColumn[] = planned.map(({ field, sourceName }) => {
    if (sourceName === undefined)
      return { field, typed: `CAST(NULL AS ${toDuckDBType(field.type)})` };
    const actual = byName.get(sourceName) as (typeof found)[number];
    const source = quoteIdentifier(sourceName);
    return actual.exact && formatType(actual.field.type) === formatType(field.type)
      ? { field, typed: source }
      : { field, typed: `TRY_CAST(${source} AS ${toDuckDBType(field.type)})`, raw: source };
  });
  const metadata = metadataColumns(config.metadata, context, '__sluice_file');
  try {
    const result = await enforceSchema({
      connection: context.connection,
      stepId,
      quarantine: context.quarantine,
      scan,
      columns,
      metadata,
      sourceFile: '__sluice_file',
      badValues: resolution?.badValues ?? 'quarantine',
    });
    return { ...result, inputs: files, schemaChanges: resolution?.changes ?? [], recordsInInput };
  } catch (cause) {
    if (cause instanceof SourceError) throw cause;
    const broken = await firstUnreadableFile(
      context,
      files,
      (file) => `SELECT max(hash(t)) FROM read_parquet(${fileList([file])}) t`,
    );
    throw new SourceError(
      stepId,
      `cannot read Parquet ${broken?.file ?? files.join(', ')}: ${firstLine(broken?.cause ?? cause)}`,
      { cause, hint: 'the file is corrupt; re-export it or leave it out of the path' },
    );
  }
}

/**
 * The rows the files' footers declare, summed over row groups (DuckDB reads only the footers;
 * some writers leave the file-level count at 0): the count of records in the input,
 * independent of the scan that types them. A file whose footer cannot be read (a
 * truncated file, or not Parquet) fails the step, naming the file.
 */
async function footerRowCount(
  context: SourceReadContext,
  files: readonly string[],
): Promise<number> {
  const footers = (list: readonly string[]): string =>
    `SELECT coalesce(sum(row_group_num_rows), 0) AS n FROM (
       SELECT DISTINCT file_name, row_group_id, row_group_num_rows
       FROM parquet_metadata(${fileList(list)}))`;
  try {
    const [row] = await context.connection.rows(footers(files));
    return Number(row?.['n'] ?? 0);
  } catch (cause) {
    const broken = await firstUnreadableFile(context, files, (file) => footers([file]));
    throw new SourceError(
      context.stepId,
      `cannot read Parquet ${broken?.file ?? files.join(', ')}: ${firstLine(broken?.cause ?? cause)}`,
      {
        cause,
        hint: 'the file is truncated or not Parquet (its footer cannot be read); re-export it or leave it out of the path',
      },
    );
  }
}

/** The first file for which `probe` fails, with the error; undefined when none does alone. */
async function firstUnreadableFile(
  context: SourceReadContext,
  files: readonly string[],
  probe: (file: string) => string,
): Promise<{ file: string; cause: unknown } | undefined> {
  for (const file of files) {
    try {
      await context.connection.rows(probe(file));
    } catch (cause) {
      return { file, cause };
    }
  }
  return undefined;
}
