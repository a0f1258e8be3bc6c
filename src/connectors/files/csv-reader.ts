import type { DuckDBType } from '@duckdb/node-api';
import type { z } from 'zod';
import { SchemaMismatchError, SluiceError, SourceError } from '../../core/errors.js';
import type { Schema } from '../../core/schema.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../../core/type-mappings.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { firstLine } from '../../contracts/engine-connection.js';
import { fieldsFromColumns, isExactLogicalType } from '../../contracts/duckdb-types.js';
import type { EnforcedColumn } from '../../contracts/schema-enforcement.js';
import { enforceSchema, lineBreakRunsInValues } from '../../contracts/schema-enforcement.js';
import { resolveSchema } from '../../core/schema-evolution.js';
import type { csvSourceConfig } from '../shared/file-configs.js';
import { metadataColumns } from '../shared/metadata-columns.js';
import type { RejectsTables } from './reader-rejects.js';
import { rejectedRecords, rejectsTables, storeRejects } from './reader-rejects.js';
import {
  countsLinesIndependently,
  linesInFiles,
  quarantineRejected,
  recordsInFiles,
  refuseSwallowedLines,
} from './csv-accounting.js';
import { scanLines } from './text-lines.js';
import { fileList, resolveInputFiles } from '../shared/resolve-files.js';

type CSVConfig = z.output<typeof csvSourceConfig>;

/**
 * The `tsv` source's `read`: the CSV reader with a tab delimiter unless another is set.
 *
 * @example
 * ```ts
 * await readTSV(tsvConfig, context);
 * ```
 */
export function readTSV(config: CSVConfig, context: SourceReadContext): Promise<SourceReadResult> {
  return readCSV(
    { ...config, delimiter: config.delimiter === ',' ? '\t' : config.delimiter },
    context,
  );
}

/**
 * The `csv` source's `read`: creates the step's dataset from the files, quarantines what does
 * not parse and counts the files' records independently of the parser.
 *
 * @example
 * ```ts
 * await readCSV(csvConfig, context);
 * ```
 */
export async function readCSV(
  config: CSVConfig,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const { connection, stepId } = context;
  const files = await resolveInputFiles(context, config.path);
  // The files' lines are counted while DuckDB reads them, by a scan that does not parse CSV.
  const lineScans = countsLinesIndependently(config)
    ? Promise.all(
        files.map((file) =>
          scanLines(file, { compression: config.compression, skipLines: config.skipRows }),
        ),
      )
    : undefined;
  lineScans?.catch(() => undefined);
  const declared = config.schema;
  const dialect = dialectOptions(config, declared);
  const found = await sniffColumns(context, files, dialect);
  const plan =
    declared === undefined
      ? inferredPlan(found)
      : declaredPlan(stepId, declared, found, files, config);
  const rejects = rejectsTables(stepId, 'read');
  const typed = plan.columns.filter((c) => c.fileName !== undefined && c.readAs !== undefined);
  const typeOption =
    typed.length === 0
      ? ''
      : `, types = {${typed.map((c) => `${quoteLiteral(c.fileName as string)}: ${quoteLiteral(c.readAs as string)}`).join(', ')}}`;
  const scan = `read_csv(${fileList(files)}${dialect}${typeOption}, filename = '__sluice_file', ${storeRejects(rejects)})`;

  const fileExpression = '__sluice_file';
  const columns = plan.columns.map(readColumn);
  try {
    const result = await enforceSchema({
      connection,
      stepId,
      quarantine: context.quarantine,
      scan,
      columns,
      metadata: metadataColumns(config.metadata, context, fileExpression),
      sourceFile: fileExpression,
      badValues: plan.badValues,
    });
    const rejected = await rejectedRecords(connection, rejects);
    refuseSwallowedLines(stepId, rejected);
    const scans = lineScans === undefined ? undefined : await lineScans;
    const rowsRead = result.rowsRead + rejected.length;
    const quarantined = await quarantineRejected(context, config, rejected, {
      scans: new Map(scans?.map((scan, i) => [files[i] as string, scan])),
      oneLinePerRecord: scans !== undefined && linesInFiles(scans, config.header) === rowsRead,
    });
    if (config.onMalformed === 'fail') await failOnMalformed(context, rejects);
    const recordsInInput =
      scans === undefined
        ? undefined
        : await recordsInFiles({
            scans,
            header: config.header,
            rowsRead,
            lineBreakRuns: async (terminator) =>
              (await lineBreakRunsInValues(connection, stepId, columns, terminator)) +
              quarantined.lineBreakRuns(terminator),
          });
    return {
      ...result,
      rowsRead,
      rowsQuarantined: result.rowsQuarantined + rejected.length,
      ...(recordsInInput === undefined ? {} : { recordsInInput }),
      inputs: files,
      schemaChanges: plan.changes,
    };
  } catch (cause) {
    if (/invalid unicode.*segment statistics/i.test(firstLine(cause)))
      throw new SourceError(
        stepId,
        `cannot read CSV ${describeFiles(files)}: a malformed line longer than 10,000 bytes holds multi-byte characters, which DuckDB's reader cannot keep for the quarantine; nothing was loaded`,
        {
          cause,
          hint: "fix the line (its error is usually a wrong number of fields), or set onMalformed: 'fail' to find it",
        },
      );
    if (cause instanceof SluiceError) throw cause;
    throw new SourceError(stepId, `cannot read CSV ${describeFiles(files)}: ${firstLine(cause)}`, {
      cause,
      hint: 'check delimiter, quote, escape, encoding and header in the source config',
    });
  }
}

interface MatchedColumn {
  readonly field: Field;
  /** The column's name in the file header. */
  readonly fileName: string;
  /** Whether the sniffed type is exactly the field's logical type. */
  readonly exact: boolean;
}

function dialectOptions(config: CSVConfig, declared: Schema | undefined): string {
  const options = [
    `header = ${config.header}`,
    `delim = ${quoteLiteral(config.delimiter)}`,
    `quote = ${quoteLiteral(config.quote)}`,
    `escape = ${quoteLiteral(config.escape)}`,
    `nullstr = [${config.nullStrings.map(quoteLiteral).join(', ')}]`,
    `encoding = ${quoteLiteral(config.encoding)}`,
    `compression = ${quoteLiteral(config.compression)}`,
    `skip = ${config.skipRows}`,
  ];
  if (config.dateFormat !== undefined)
    options.push(`dateformat = ${quoteLiteral(config.dateFormat)}`);
  if (config.timestampFormat !== undefined) {
    options.push(`timestampformat = ${quoteLiteral(config.timestampFormat)}`);
  }
  if (!config.header && declared !== undefined) {
    options.push(`names = [${declared.fields.map((f) => quoteLiteral(f.name)).join(', ')}]`);
  }
  return `, ${options.join(', ')}`;
}

async function sniffColumns(
  context: SourceReadContext,
  files: readonly string[],
  dialect: string,
): Promise<MatchedColumn[]> {
  try {
    const reader = await context.connection.raw.runAndReadAll(
      `SELECT * FROM read_csv(${fileList(files)}${dialect}, ignore_errors = true) LIMIT 0`,
    );
    const types = reader.columnTypes();
    return fieldsFromColumns(reader.columnNames(), types).map((field, i) => ({
      field,
      fileName: field.name,
      exact: isExactLogicalType(types[i] as DuckDBType),
    }));
  } catch (cause) {
    throw new SourceError(
      context.stepId,
      `cannot read CSV ${describeFiles(files)}: ${firstLine(cause)}`,
      {
        cause,
        hint: 'check delimiter, quote, escape, encoding and header in the source config (an unterminated quote makes the rest of a file one field)',
      },
    );
  }
}

/** How each column of the dataset is read from the files. */
interface ReadPlan {
  readonly columns: readonly PlannedColumn[];
  readonly changes: readonly string[];
  readonly badValues: 'quarantine' | 'null';
}

interface PlannedColumn {
  readonly field: Field;
  /** The header name to read; undefined for a declared column the files lack (null-filled). */
  readonly fileName: string | undefined;
  /** The type the reader parses the column as, when not its sniffed type. */
  readonly readAs: string | undefined;
  /** Parsed as text and converted afterwards (a value that does not convert becomes null). */
  readonly convertLater: boolean;
}

/** Without a declared schema: the sniffed columns, those without an exact logical type as text. */
function inferredPlan(found: readonly MatchedColumn[]): ReadPlan {
  return {
    columns: found.map((c) => ({
      field: c.field,
      fileName: c.fileName,
      readAs: c.exact ? undefined : toDuckDBType(c.field.type),
      convertLater: false,
    })),
    changes: [],
    badValues: 'quarantine',
  };
}

/** With a declared schema: reconciled with the header under the source's schema policy. */
function declaredPlan(
  stepId: string,
  declared: Schema,
  found: readonly MatchedColumn[],
  files: readonly string[],
  config: CSVConfig,
): ReadPlan {
  const resolution = resolveSchema(
    declared.fields,
    found.map((c) => ({ name: c.fileName, type: c.field.type })),
    config.schemaPolicy,
  );
  if (resolution.problems.length > 0) {
    throw new SchemaMismatchError(
      stepId,
      `${resolution.problems.join('; ')} (${describeFiles(files)}; the file has ${found.map((c) => `"${c.fileName}"`).join(', ')})`,
      {
        hint: 'fix the schema or the header, or set a schemaPolicy that accepts the change (additive, widen); names match case-insensitively',
      },
    );
  }
  const declaredNames = new Set(declared.fields.map((f) => f.name.toLowerCase()));
  const convertLater = resolution.badValues === 'null';
  return {
    columns: resolution.columns.map(({ field, sourceName }) => {
      const sniffed = found.find((c) => c.fileName === sourceName);
      const isDeclared = declaredNames.has(field.name.toLowerCase());
      const readAs = !isDeclared
        ? sniffed?.exact === false
          ? toDuckDBType(field.type)
          : undefined
        : convertLater
          ? 'VARCHAR'
          : toDuckDBType(field.type);
      return { field, fileName: sourceName, readAs, convertLater: isDeclared && convertLater };
    }),
    changes: resolution.changes,
    badValues: resolution.badValues,
  };
}

function readColumn(column: PlannedColumn): EnforcedColumn {
  if (column.fileName === undefined)
    return { field: column.field, typed: `CAST(NULL AS ${toDuckDBType(column.field.type)})` };
  const source = quoteIdentifier(column.fileName);
  return column.convertLater
    ? {
        field: column.field,
        typed: `TRY_CAST(${source} AS ${toDuckDBType(column.field.type)})`,
        raw: source,
      }
    : { field: column.field, typed: source };
}

async function failOnMalformed(context: SourceReadContext, rejects: RejectsTables): Promise<void> {
  const rows = await context.connection.rows(
    `SELECT s.file_path AS file, e.line, e.error_type AS type, e.error_message AS message
     FROM ${quoteIdentifier(rejects.errors)} e JOIN ${quoteIdentifier(rejects.scans)} s USING (scan_id, file_id)
     WHERE e.error_type <> 'CAST' ORDER BY s.file_path, e.line LIMIT 5`,
  );
  const first = rows[0];
  if (first === undefined) return;
  throw new SourceError(
    context.stepId,
    `malformed CSV line ${String(first['file'])}:${String(first['line'])}: ${String(first['message'])}` +
      (rows.length > 1
        ? ` (and more: ${rows
            .slice(1)
            .map((r) => `line ${String(r['line'])}`)
            .join(', ')})`
        : ''),
    { hint: "fix the file, or set onMalformed: 'quarantine' to quarantine such lines and go on" },
  );
}

function describeFiles(files: readonly string[]): string {
  return files.length === 1 ? (files[0] as string) : `${files.length} files (${files[0]}, ...)`;
}
