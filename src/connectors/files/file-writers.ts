import { mkdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { SinkError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SinkPublishedContext, SinkWriteContext } from '../../contracts/batch-connector.js';
import type { StagedOutput } from '../../contracts/staged-output.js';
import { firstLine } from '../../contracts/engine-connection.js';
import { writeDenied } from '../../contracts/write-access.js';
import type {
  csvSinkConfig,
  duckDBSinkConfig,
  ndjsonSinkConfig,
  parquetSinkConfig,
} from '../shared/file-configs.js';
import { finiteFloatsExpression, nonFiniteCountExpression } from './finite-json.js';
import { stagePath } from '../shared/staged-path.js';
import { duckDBPublishedRun, markDuckDBPublishedRun } from './duckdb-published-runs.js';

/**
 * The `parquet` sink's `write`.
 *
 * @example
 * ```ts
 * const staged = await writeParquet(parquetSinkConfig.parse({ ... }), context);
 * ```
 */
export async function writeParquet(
  config: z.output<typeof parquetSinkConfig>,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const target = resolveTarget(context, config.path);
  const singleFile =
    !(await namesFolder(config.path, target)) &&
    config.partitionBy.length === 0 &&
    config.targetFileSize === undefined;
  const options = [`FORMAT parquet`, `COMPRESSION ${config.compression}`];
  if (config.partitionBy.length > 0) {
    options.push(`PARTITION_BY (${config.partitionBy.map(quoteIdentifier).join(', ')})`);
  }
  if (config.targetFileSize !== undefined) {
    options.push(`FILE_SIZE_BYTES ${quoteLiteral(String(config.targetFileSize))}`);
  }
  if (config.rowGroupSize !== undefined) options.push(`ROW_GROUP_SIZE ${config.rowGroupSize}`);
  if (singleFile) return copyToStaged(context, target, 'file', options);
  const writesFiles = config.partitionBy.length > 0 || config.targetFileSize !== undefined;
  if (writesFiles) options.push(`FILENAME_PATTERN ${quoteLiteral(`part-{i}-${context.runId}`)}`);
  return copyToStaged(context, target, 'folder', options, {
    // Without partitions or a size limit DuckDB writes one file: name it inside the folder.
    ...(writesFiles ? {} : { fileInFolder: `part-0-${context.runId}.parquet` }),
  });
}

/**
 * Whether a Parquet sink's path names a folder: it ends in a slash, has no `.parquet`
 * extension, or is an existing folder.
 */
async function namesFolder(path: string, target: string): Promise<boolean> {
  if (/[/\\]$/.test(path) || !path.endsWith('.parquet')) return true;
  return stat(target).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

/**
 * The `csv` sink's `write`.
 *
 * @example
 * ```ts
 * const staged = await writeCSV(csvSinkConfig.parse({ ... }), context);
 * ```
 */
export async function writeCSV(
  config: z.output<typeof csvSinkConfig>,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  return copyToStaged(context, resolveTarget(context, config.path), 'file', [
    'FORMAT csv',
    `HEADER ${config.header}`,
    `DELIMITER ${quoteLiteral(config.delimiter)}`,
    `COMPRESSION ${quoteLiteral(config.compression)}`,
  ]);
}

/**
 * The `ndjson` sink's `write`.
 *
 * @example
 * ```ts
 * const staged = await writeNDJSON(ndjsonSinkConfig.parse({ ... }), context);
 * ```
 */
export async function writeNDJSON(
  config: z.output<typeof ndjsonSinkConfig>,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const valuesDiscarded = await warnOfNonFiniteFloats(context);
  const staged = await copyToStaged(
    context,
    resolveTarget(context, config.path),
    'file',
    ['FORMAT json', `COMPRESSION ${quoteLiteral(config.compression)}`],
    { selectList: jsonSelectList(context.inputFields) },
  );
  return valuesDiscarded === 0 ? staged : { ...staged, valuesDiscarded };
}

let attachCounter = 0;

/**
 * The `duckdb` sink's `write`.
 *
 * @example
 * ```ts
 * const staged = await writeDuckDB(duckDBSinkConfig.parse({ ... }), context);
 * ```
 */
export async function writeDuckDB(
  config: z.output<typeof duckDBSinkConfig>,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const { connection, stepId } = context;
  const target = resolveTarget(context, config.path);
  const alias = `__sluice_out_${++attachCounter}`;
  const table = [alias, ...config.table.split('.')].map(quoteIdentifier).join('.');
  const schemaName = config.table.includes('.') ? config.table.split('.')[0] : undefined;
  try {
    await mkdir(dirname(target), { recursive: true });
    await connection.run(`ATTACH ${quoteLiteral(target)} AS ${quoteIdentifier(alias)}`);
  } catch (cause) {
    const denied = await writeDenied(cause, target);
    if (denied !== undefined)
      throw new SinkError(stepId, denied.message, { cause, hint: denied.hint });
    const locked = /lock/i.test(String(cause));
    throw new SinkError(stepId, `cannot open DuckDB database ${target}: ${firstLine(cause)}`, {
      cause,
      hint: locked
        ? 'another process holds the file open; DuckDB allows one writer at a time'
        : 'check that the path is a DuckDB database file in a writable folder',
    });
  }
  const detach = (): Promise<number> => connection.run(`DETACH ${quoteIdentifier(alias)}`);
  try {
    await connection.run('BEGIN TRANSACTION');
    if (schemaName !== undefined) {
      await connection.run(
        `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(alias)}.${quoteIdentifier(schemaName)}`,
      );
    }
    // A full refresh replaces an append target too: the sources read everything again.
    const rowsWritten =
      config.mode === 'replace' || context.fullRefresh === true
        ? await connection.run(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM ${context.input}`)
        : await appendRows(connection, table, context.input);
    if (config.mode === 'append') await markDuckDBPublishedRun(connection, alias, context);
    return {
      rowsWritten,
      outputs: [`${target}#${config.table}`],
      async publish() {
        await connection.run('COMMIT');
        await detach();
        if (config.mode === 'append' && context.fullRefresh === true)
          context.logger.info(
            { table: `${target}#${config.table}`, mode: config.mode },
            "full refresh: the target table was replaced by the run's rows",
          );
      },
      async discard() {
        await connection.run('ROLLBACK').catch(() => 0);
        await detach().catch(() => 0);
      },
    };
  } catch (cause) {
    await connection.run('ROLLBACK').catch(() => 0);
    await detach().catch(() => 0);
    throw new SinkError(stepId, `cannot write ${target}#${config.table}: ${firstLine(cause)}`, {
      cause,
    });
  }
}

/**
 * The `duckdb` sink's `publishedRun`: append targets mark their runs; replace cannot tell.
 *
 * @example
 * ```ts
 * await duckDBSinkPublishedRun(config, context);
 * ```
 */
export function duckDBSinkPublishedRun(
  config: z.output<typeof duckDBSinkConfig>,
  context: SinkPublishedContext,
): Promise<boolean | undefined> {
  return config.mode === 'append'
    ? duckDBPublishedRun(resolveTarget(context, config.path), context)
    : Promise.resolve(undefined);
}

async function appendRows(
  connection: SinkWriteContext['connection'],
  table: string,
  input: string,
): Promise<number> {
  await connection.run(`CREATE TABLE IF NOT EXISTS ${table} AS SELECT * FROM ${input} LIMIT 0`);
  return connection.run(`INSERT INTO ${table} BY NAME SELECT * FROM ${input}`);
}

function resolveTarget(context: { readonly baseDir: string }, path: string): string {
  return isAbsolute(path) ? path : resolve(context.baseDir, path);
}

/**
 * Columns as JSON Schema describes them (see `toJSONSchema`): timestamps as RFC 3339 text
 * (`2026-03-01T10:00:00`, with `Z` for instants), bytes as base64, and NaN and infinities
 * (which JSON cannot hold) as null, at any depth.
 */
function jsonSelectList(fields: readonly Field[]): string {
  return fields
    .map((field) => {
      const column = quoteIdentifier(field.name);
      const { type } = field;
      if (type.kind === 'binary') return `base64(${column}) AS ${column}`;
      if (type.kind !== 'timestamp') {
        const finite = finiteFloatsExpression(column, type);
        return finite === undefined ? column : `${finite} AS ${column}`;
      }
      return type.tz
        ? `replace(CAST(CAST(${column} AS TIMESTAMP) AS VARCHAR), ' ', 'T') || 'Z' AS ${column}`
        : `replace(CAST(${column} AS VARCHAR), ' ', 'T') AS ${column}`;
    })
    .join(', ');
}

/**
 * Counts the values of the input holding a NaN or an infinity, which a JSON output writes as
 * null, and logs a warning with the count per column when there are any, so the change is
 * never silent. Returns the count.
 */
async function warnOfNonFiniteFloats(context: SinkWriteContext): Promise<number> {
  const counts = context.inputFields.flatMap((field) => {
    const count = nonFiniteCountExpression(quoteIdentifier(field.name), field.type);
    return count === undefined ? [] : [{ field: field.name, count }];
  });
  if (counts.length === 0) return 0;
  const [row] = await context.connection.rows(
    `SELECT ${counts.map((c, i) => `${c.count} AS c${i}`).join(', ')} FROM ${context.input}`,
  );
  const byColumn = Object.fromEntries(
    counts.map((c, i) => [c.field, Number(row?.[`c${i}`] ?? 0)]).filter(([, n]) => n !== 0),
  ) as Record<string, number>;
  const total = Object.values(byColumn).reduce((sum, n) => sum + n, 0);
  if (total > 0)
    context.logger.warn(
      { valuesDiscarded: total, columns: byColumn },
      'NaN and infinite values written as null: JSON has no literal for them',
    );
  return total;
}

/** Whether `folder` is `path` or one of its ancestors. */
function holds(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function copyToStaged(
  context: SinkWriteContext,
  target: string,
  kind: 'file' | 'folder',
  options: readonly string[],
  { selectList = '*', fileInFolder }: { selectList?: string; fileInFolder?: string } = {},
): Promise<StagedOutput> {
  if (kind === 'folder' && holds(target, context.baseDir)) {
    throw new SinkError(
      context.stepId,
      `cannot write a folder output to ${target}: it holds the pipeline's folder, which publishing would replace`,
      { hint: 'write to a sub-folder of its own, such as out/<name>' },
    );
  }
  let staged;
  try {
    staged = await stagePath(target, context.runId, kind);
  } catch (cause) {
    const denied = await writeDenied(cause, dirname(target));
    throw new SinkError(
      context.stepId,
      denied?.message ?? `cannot prepare ${target}: ${String(cause)}`,
      {
        cause,
        hint: denied?.hint ?? 'check that the output folder is writable',
      },
    );
  }
  try {
    const rowsWritten = await context.connection.run(
      `COPY (SELECT ${selectList} FROM ${context.input}) TO ${quoteLiteral(
        fileInFolder === undefined ? staged.stagingPath : join(staged.stagingPath, fileInFolder),
      )} (${options.join(', ')})`,
    );
    return {
      rowsWritten,
      outputs: [target],
      publish: () => staged.publish(),
      discard: () => staged.discard(),
    };
  } catch (cause) {
    await staged.discard();
    const denied = await writeDenied(cause, dirname(target));
    throw new SinkError(
      context.stepId,
      denied?.message ?? `cannot write ${target}: ${firstLine(cause)}`,
      denied === undefined ? { cause } : { cause, hint: denied.hint },
    );
  }
}
