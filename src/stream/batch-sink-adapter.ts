import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SinkError, SluiceError } from '../core/errors.js';
import { randomHex } from '../core/ids.js';
import type { Schema } from '../core/schema.js';
import { isSchema, validateSchema } from '../core/schema.js';
import type { Field } from '../core/types.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
import type { BatchSinkConnector, ConnectorRegistry } from '../contracts/batch-connector.js';
import type { StagedOutput } from '../contracts/staged-output.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import { firstLine } from '../contracts/engine-connection.js';
import { fieldsFromColumns, isExactLogicalType } from '../contracts/duckdb-types.js';
import { SharedResources } from '../engine/shared-resources.js';
import { BATCH_STREAM_SINK } from '../define/batch-sink-endpoint.js';
import type { StreamRow, StreamSinkConnector } from '../contracts/stream-connector.js';
import { defineStreamSink } from '../contracts/stream-connector.js';

/**
 * The `batch` stream sink's config as `streamSink.batch` writes it: the batch sink's name, its
 * config (without `input`) and optionally the rows' schema.
 *
 * @example
 * ```ts
 * batchStreamSinkInput.parse({ sink: 'parquet', config: { path: 'out/page_views' } });
 * ```
 */
export const batchStreamSinkInput = z.strictObject({
  sink: z
    .string({ message: 'name a batch sink: streamSink.batch(sink.parquet, { path })' })
    .min(1)
    .describe('The batch sink: `parquet`, `csv`, `ndjson`, `avro`, `delta`, `mysql` ...'),
  config: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("The batch sink's config, without `input`."),
  schema: z
    .custom<Schema>(isSchema, { message: 'expected a schema built with schema({...})' })
    .optional()
    .describe("The rows' columns and types; inferred per checkpoint when omitted."),
});

/** How a batch sink is written by a stream, once its config is validated. */
export interface BatchStreamSinkConfig {
  readonly connector: BatchSinkConnector;
  /** The batch sink's validated config. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly schema: Schema | undefined;
  /** For sinks that replace their `path` on every write: the extension of a checkpoint's file. */
  readonly perCheckpointFile: { readonly extension: string } | undefined;
  /** What a replayed checkpoint does to the output, in words (logged when the stream starts). */
  readonly delivery: string;
}

/**
 * Batch sinks that replace their `path` on every write. A stream gives each checkpoint its own
 * file under `path` (named by the checkpoint), so a checkpoint written again after a crash
 * replaces its own file; the extension follows the sink's options ('' for a folder of files).
 */
const FILE_SINKS: Readonly<Record<string, (config: Readonly<Record<string, unknown>>) => string>> =
  {
    parquet: (c) =>
      (Array.isArray(c['partitionBy']) && c['partitionBy'].length > 0) ||
      c['targetFileSize'] !== undefined
        ? ''
        : '.parquet',
    csv: (c) => `.csv${compressionSuffix(c['compression'])}`,
    ndjson: (c) => `.ndjson${compressionSuffix(c['compression'])}`,
    avro: () => '.avro',
  };

/** Write modes that replace a whole table: every checkpoint would erase the ones before it. */
const REPLACING_MODES: ReadonlySet<unknown> = new Set(['overwrite', 'replace']);

/** Write modes that apply rows by key, so writing a checkpoint twice leaves one row per key. */
const KEYED_MODES: ReadonlySet<unknown> = new Set(['merge', 'delete_insert', 'upsert']);

/** The table the checkpoint's rows are loaded into, in the sink's own DuckDB session. */
const ROWS_TABLE = '__sluice_stream_rows';

/**
 * Makes every batch sink of `registry` usable as a stream sink (`streamSink.batch(sink.mysql,
 * {...})`). Rows written between checkpoints wait in a local NDJSON file; at each checkpoint
 * they are loaded into a table of an in-process DuckDB session (with the declared `schema`'s
 * types, else inferred from all of the checkpoint's rows), handed to the batch sink's `write`
 * as its input, and published before the runtime saves the checkpoint. Checkpoints without rows
 * write nothing.
 *
 * Delivery is at least once: a crash after the publish and before the run store saved the
 * checkpoint writes that checkpoint again on restart. What that leaves in the output depends on
 * the sink:
 * - `parquet`, `csv`, `ndjson` and `avro` replace their path on every write, so `path` names a
 *   folder and each checkpoint writes its own file `part-<checkpoint>.<ext>` (a folder
 *   `part-<checkpoint>/` for partitioned or size-split Parquet; under `partition=<name>/` for
 *   each source partition with `scaleOut`); a replayed checkpoint replaces its own file, and one
 *   that replays empty removes it, so every row is there once;
 * - `merge`, `delete_insert` (and `upsert`) by keys write the same keys again: one row per key;
 * - `append` writes the replayed checkpoint's rows a second time (duplicates after a crash);
 * - `overwrite` / `replace` would keep only the last checkpoint's rows and are refused.
 *
 * Each commit gets a run id made from the stream's name, the checkpoint number and a token of
 * this process, and its own shared resources (warehouse sessions), closed after the publish.
 *
 * @example
 * ```ts
 * const registry = defaultStreamRegistry.with(batchStreamSink(defaultRegistry.with(mySink)));
 * ```
 */
export function batchStreamSink(
  registry: ConnectorRegistry,
): StreamSinkConnector<BatchStreamSinkConfig> {
  return defineStreamSink({
    name: BATCH_STREAM_SINK,
    summary:
      'Any batch sink (Parquet, CSV, NDJSON, Avro, Delta, DuckDB, PostgreSQL, MySQL, ClickHouse), one write per checkpoint.',
    config: batchStreamSinkInput.transform((input, ctx) => {
      const problems: { path: (string | number)[]; message: string }[] = [];
      const resolved = resolveBatchSink(registry, input, problems);
      for (const problem of problems) ctx.addIssue({ code: 'custom', ...problem });
      return resolved ?? z.NEVER;
    }),
    delivery: 'at-least-once',
    async open(sink, context) {
      const stepId = stepIdOf(context.streamName);
      const logger = context.logger.child({ sink: sink.connector.name });
      const baseDir = process.cwd();
      const scratch = await mkdtemp(join(tmpdir(), 'sluice-batch-stream-'));
      const spool = join(scratch, 'rows.ndjson');
      let session: DuckDBSession | undefined;
      let connection: EngineConnection;
      try {
        session = await DuckDBSession.create({ tempDirectory: join(scratch, 'duckdb') });
        connection = await session.connect(stepId);
      } catch (cause) {
        session?.close();
        await rm(scratch, { recursive: true, force: true });
        throw asSinkError(cause, stepId, 'cannot start the DuckDB session that loads checkpoints');
      }
      const engine = session;
      // Staging tables and files of an attempt that crashed keep their names apart from this one's.
      const attempt = randomHex(4);
      let rowsPending = 0;
      logger.info({ delivery: sink.delivery }, 'batch sink opened for the stream');
      return {
        async write(rows) {
          if (rows.length === 0) return;
          await appendFile(spool, `${rows.map((row) => toJSONLine(row, stepId)).join('\n')}\n`);
          rowsPending += rows.length;
        },
        async commit({ checkpointId }) {
          const checkpoint = checkpointTarget(sink, checkpointId, baseDir, context.partition);
          if (rowsPending === 0) {
            // What a crashed attempt wrote for this checkpoint number; the checkpoint now has no rows.
            await checkpoint.clear();
            return;
          }
          const fields = await loadRows(connection, spool, sink.schema, rowsPending, stepId);
          const shared = new SharedResources();
          let staged: StagedOutput | undefined;
          try {
            staged = await sink.connector.write(checkpoint.config, {
              stepId,
              runId: `stream_${stepId}_${checkpointId}_${attempt}`,
              baseDir,
              connection,
              input: quoteIdentifier(ROWS_TABLE),
              inputFields: fields,
              logger,
              signal: context.signal,
              shared: shared.open,
            });
            if (staged.rowsWritten !== rowsPending)
              throw new SinkError(
                stepId,
                `checkpoint ${checkpointId} had ${rowsPending} rows but the ${sink.connector.name} sink wrote ${staged.rowsWritten}`,
                { hint: 'this is a bug in the sink: report it with the stream definition' },
              );
            await staged.publish();
            logger.info(
              { checkpoint: checkpointId, rows: rowsPending, outputs: staged.outputs },
              'checkpoint published',
            );
          } catch (cause) {
            await staged?.discard().catch(() => undefined);
            throw asSinkError(cause, stepId, `cannot write checkpoint ${checkpointId}`);
          } finally {
            await shared.closeAll();
            await connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(ROWS_TABLE)}`);
          }
          await rm(spool, { force: true });
          rowsPending = 0;
        },
        async close() {
          connection.close();
          engine.close();
          await rm(scratch, { recursive: true, force: true });
        },
      };
    },
  });
}

/** Looks the batch sink up and validates its config, collecting every problem. */
function resolveBatchSink(
  registry: ConnectorRegistry,
  input: z.output<typeof batchStreamSinkInput>,
  problems: { path: (string | number)[]; message: string }[],
): BatchStreamSinkConfig | undefined {
  if (input.schema !== undefined)
    for (const message of validateSchema(input.schema))
      problems.push({ path: ['schema'], message });
  const connector = registry.sink(input.sink);
  if (connector === undefined) {
    const known = registry
      .list()
      .filter((c) => c.role === 'sink')
      .map((c) => c.name);
    problems.push({
      path: ['sink'],
      message: `no batch sink is named "${input.sink}" (known: ${known.join(', ')})`,
    });
    return undefined;
  }
  const parsed = connector.config.safeParse(input.config);
  if (!parsed.success)
    for (const issue of parsed.error.issues) {
      const path = ['config', ...issue.path.map(String)];
      if (issue.code === 'unrecognized_keys')
        for (const key of issue.keys)
          problems.push({
            path: [...path, key],
            message: `unknown option "${key}" for the ${connector.name} sink`,
          });
      else problems.push({ path, message: issue.message });
    }
  // As written when the config has other problems, else as defaulted (duckdb's is 'replace').
  const config = (parsed.success ? parsed.data : input.config) as Readonly<Record<string, unknown>>;
  const mode = config['mode'];
  if (REPLACING_MODES.has(mode))
    problems.push({
      path: ['config', 'mode'],
      message: `mode '${String(mode)}' replaces the whole ${connector.name} table at every checkpoint, so it would keep only the last checkpoint's rows: use ${alternativeModes(connector)} in a stream`,
    });
  if (!parsed.success || problems.length > 0) return undefined;
  const extension = FILE_SINKS[connector.name]?.(config);
  const perCheckpointFile = extension === undefined ? undefined : { extension };
  return {
    connector,
    config,
    schema: input.schema,
    perCheckpointFile,
    delivery:
      perCheckpointFile !== undefined
        ? 'one file per checkpoint, replaced when the checkpoint is written again'
        : KEYED_MODES.has(mode)
          ? 'effectively once: a checkpoint written again rewrites the same keys'
          : 'at least once: a checkpoint written again after a crash is appended again',
  };
}

/** The modes of a sink's config other than the replacing ones, as the refusal suggests them. */
function alternativeModes(connector: BatchSinkConnector): string {
  const shape = (connector.config as { shape?: Record<string, unknown> }).shape;
  let mode = shape?.['mode'] as { unwrap?: () => unknown; options?: unknown } | undefined;
  while (mode !== undefined && mode.options === undefined && typeof mode.unwrap === 'function')
    mode = mode.unwrap() as typeof mode;
  const options = Array.isArray(mode?.options)
    ? mode.options.filter((m: unknown) => !REPLACING_MODES.has(m))
    : ['append'];
  return options.map((m: unknown) => `'${String(m)}'`).join(' or ');
}

/** The batch sink's config for one checkpoint, and how to remove what it wrote. */
function checkpointTarget(
  sink: BatchStreamSinkConfig,
  checkpointId: number,
  baseDir: string,
  partition: string | undefined,
): { readonly config: Readonly<Record<string, unknown>>; clear(): Promise<void> } {
  const file = sink.perCheckpointFile;
  if (file === undefined) return { config: sink.config, clear: async () => undefined };
  // With scaleOut each source partition numbers its own checkpoints, in a folder of its own.
  const path = join(
    String(sink.config['path']),
    partition === undefined ? '' : `partition=${encodeURIComponent(partition)}`,
    `part-${String(checkpointId).padStart(10, '0')}${file.extension}`,
  );
  return {
    config: { ...sink.config, path },
    clear: () => rm(resolve(baseDir, path), { recursive: true, force: true }),
  };
}

/**
 * Loads the spooled rows into {@link ROWS_TABLE}: with the declared schema's types and NOT NULL
 * columns, else with the types DuckDB infers from every row (cast to their logical types' exact
 * DuckDB form). Returns the table's fields.
 */
async function loadRows(
  connection: EngineConnection,
  spool: string,
  schema: Schema | undefined,
  expected: number,
  stepId: string,
): Promise<Field[]> {
  const table = quoteIdentifier(ROWS_TABLE);
  let fields: Field[];
  try {
    if (schema !== undefined) {
      fields = [...schema.fields];
      const definitions = fields.map(
        (f) => `${quoteIdentifier(f.name)} ${toDuckDBType(f.type)}${f.nullable ? '' : ' NOT NULL'}`,
      );
      const columns = fields
        .map((f) => `${quoteLiteral(f.name)}: ${quoteLiteral(toDuckDBType(f.type))}`)
        .join(', ');
      await connection.run(`CREATE OR REPLACE TABLE ${table} (${definitions.join(', ')})`);
      await connection.run(
        `INSERT INTO ${table} SELECT * FROM read_json(${quoteLiteral(spool)}, format = 'newline_delimited', columns = {${columns}})`,
      );
    } else {
      const read = `read_json_auto(${quoteLiteral(spool)}, format = 'newline_delimited', sample_size = -1)`;
      const reader = await connection.raw.runAndReadAll(`SELECT * FROM ${read} LIMIT 0`);
      const types = reader.columnTypes();
      fields = fieldsFromColumns(reader.columnNames(), types);
      const select = fields.map((f, i) => {
        const column = quoteIdentifier(f.name);
        const type = types[i];
        return type !== undefined && isExactLogicalType(type)
          ? column
          : `CAST(${column} AS ${toDuckDBType(f.type)}) AS ${column}`;
      });
      await connection.run(
        `CREATE OR REPLACE TABLE ${table} AS SELECT ${select.join(', ')} FROM ${read}`,
      );
    }
  } catch (cause) {
    throw new SinkError(stepId, `cannot load the checkpoint's rows: ${firstLine(cause)}`, {
      cause,
      hint:
        schema === undefined
          ? 'declare the columns: streamSink.batch(sink.x, {...}, { schema })'
          : "the rows do not fit the declared schema: fix the stream's steps or the schema",
    });
  }
  const [count] = await connection.rows(`SELECT count(*) AS n FROM ${table}`);
  if (Number(count?.['n']) !== expected)
    throw new SinkError(
      stepId,
      `the checkpoint had ${expected} rows but ${String(count?.['n'])} were loaded`,
    );
  return fields;
}

/** A row as one JSON line: Dates as ISO text, bigints as text; refuses what JSON cannot hold. */
function toJSONLine(row: StreamRow, stepId: string): string {
  return JSON.stringify(row, (key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new SinkError(stepId, `column "${key}" holds ${value}, which the sink cannot store`, {
        hint: 'map it to null or a number in a step before the sink',
      });
    return value;
  });
}

/** A batch step's id for the stream: its name with anything but letters, digits and `_` replaced. */
function stepIdOf(streamName: string): string {
  const id = streamName.replaceAll(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(id) ? id : `_${id}`;
}

function compressionSuffix(compression: unknown): string {
  return compression === 'gzip' ? '.gz' : compression === 'zstd' ? '.zst' : '';
}

function asSinkError(cause: unknown, stepId: string, what: string): SluiceError {
  if (cause instanceof SluiceError) return cause;
  return new SinkError(stepId, `${what}: ${firstLine(cause)}`, { cause });
}
