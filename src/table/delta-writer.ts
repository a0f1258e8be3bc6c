import { randomUUID } from 'node:crypto';
import { join, relative, sep } from 'node:path';
import { duckdb } from '../contracts/duckdb-api.js';
import { SluiceError, TableError, TableWriteError } from '../core/errors.js';
import type { Field } from '../core/types.js';
import { formatType } from '../core/types.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
import { isWidening } from '../core/schema-evolution.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { writeDenied } from '../contracts/write-access.js';
import type {
  AddAction,
  DeltaAction,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
} from './delta-actions.js';
import { fileStats } from './delta-actions.js';
import { CHECKPOINT_INTERVAL, writeCheckpoint } from './delta-checkpoint.js';
import { commitPath, writeCommit } from './delta-commit.js';
import type { DeltaSnapshot } from './delta-log.js';
import { loadDeltaSnapshot, loadDeltaSnapshotIfExists, readCommitFile } from './delta-log.js';
import { deltaSchemaString } from './delta-schema.js';
import { forEachLimited } from './table-cache.js';
import type { TableLocation, TableStore } from './table-store.js';
import { openTableStore } from './table-store.js';

/** How a write changes the table. */
export type DeltaWriteMode = 'append' | 'overwrite';

/** Options of {@link writeDelta}. */
export interface DeltaWriteOptions {
  readonly mode: DeltaWriteMode;
  /** Partition columns of a new table (ignored for an existing one, which keeps its own). */
  readonly partitionBy?: readonly string[];
  /**
   * Idempotency: the write is skipped when the table already holds a `txn` of `appId` at this
   * version or later, so replaying the same run changes nothing.
   */
  readonly transaction?: { readonly appId: string; readonly version: number };
  /** How many times to retry a blind append that lost a race for a version (default 100). */
  readonly maxAttempts?: number;
  /** Recorded in the commit's commitInfo. */
  readonly operation?: string;
  /**
   * Provenance added to the commit's commitInfo (Sluice writes `runId`, `pipeline`, `step` and
   * `actor`); the standard keys (timestamp, operation, ...) are not overridden.
   */
  readonly commitInfo?: Readonly<Record<string, string>>;
  /** Add the data's columns the table lacks to its schema (older rows read them as NULL). */
  readonly mergeSchema?: boolean;
  /** False for a rewrite that changes no rows (optimize): readers of changes can skip it. */
  readonly dataChange?: boolean;
  /** Files this write replaces (a merge's rewritten files); removed in the same commit. */
  readonly replaceFiles?: readonly AddAction[];
}

/** What a write did. */
export interface DeltaWriteResult {
  /** The version committed, or the current version when the write was skipped. */
  readonly version: number;
  /**
   * Nothing was committed: the table already holds the write's `transaction`, or the write
   * changed nothing (an append or a merge of no rows to an existing table).
   */
  readonly skipped: boolean;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  readonly rowsWritten: number;
}

/**
 * Thrown when another writer committed changes that conflict with an overwrite or a rewrite.
 * `path` is the commit file the other writer created (a local path or an `s3://` URL).
 *
 * @example
 * ```ts
 * try { await writeDelta(...) } catch (e) { if (e instanceof CommitConflictError) retryLater(e.path); }
 * ```
 */
export class CommitConflictError extends SluiceError {
  readonly table: string;
  readonly version: number;
  readonly path: string | undefined;

  constructor(table: string, version: number, path?: string) {
    super(
      'RETRYABLE',
      `Table ${table}: version ${version}${path === undefined ? '' : ` (${path})`} was committed by another writer and conflicts with this write`,
      {
        hint: 'run the write again; it will start from the new version',
      },
    );
    this.table = table;
    this.version = version;
    this.path = path;
  }

  override get retryable(): boolean {
    return true;
  }
}

/** A Delta write whose data files exist but are not committed yet. */
export interface PreparedDeltaWrite {
  readonly rowsWritten: number;
  readonly files: readonly AddAction[];
  /** Commits the files (retrying blind appends that lose a race). */
  commit(): Promise<DeltaWriteResult>;
  /** Removes the written files; for a write that will not be committed. */
  discard(): Promise<void>;
}

/**
 * Writes the data files of a Delta write (Parquet written by DuckDB, with per-file stats) and
 * returns the commit to make: nothing is visible until `commit()`; `discard()` removes the files. Blind appends retry on a
 * version race, and so do rewrites (merge, delete, replace-where, optimize) when the winning
 * commits were blind appends; an overwrite that lost a race, or a rewrite whose race removed
 * files or changed the schema, fails with {@link CommitConflictError}. Files of a
 * write that never committed are invisible to readers (vacuum removes them).
 *
 * @example
 * ```ts
 * const prepared = await prepareDeltaWrite(connection, 'lake/orders', '"orders"', fields, { mode: 'append' });
 * await prepared.commit();
 * ```
 */
export async function prepareDeltaWrite(
  connection: EngineConnection,
  table: TableLocation,
  relation: string,
  fields: readonly Field[],
  options: DeltaWriteOptions,
): Promise<PreparedDeltaWrite> {
  const store = await openTableStore(table);
  const { root } = store;
  let current = await loadDeltaSnapshotIfExists(connection, store);
  if (current !== undefined && options.transaction !== undefined) {
    const committed = current.appVersions.get(options.transaction.appId);
    if (committed !== undefined && committed >= options.transaction.version) {
      const skipped = {
        version: current.version,
        skipped: true,
        filesAdded: 0,
        filesRemoved: 0,
        rowsWritten: 0,
      };
      return {
        rowsWritten: 0,
        files: [],
        commit: async () => skipped,
        discard: async () => undefined,
      };
    }
  }
  const partitionColumns = current?.partitionColumns ?? options.partitionBy ?? [];
  const data =
    current === undefined
      ? { relation, fields }
      : alignToTable(current, relation, fields, { mergeSchema: options.mergeSchema === true });
  const files = await writeDataFiles(
    connection,
    store,
    data.relation,
    data.fields,
    partitionColumns,
  );
  const now = Date.now();
  const adds: DeltaAction[] = files.map((add) => ({
    add: { ...add, dataChange: options.dataChange ?? true },
  }));
  const rowsWritten = files.reduce((sum, f) => sum + (fileStats(f)?.numRecords ?? 0), 0);

  const commit = async (): Promise<DeltaWriteResult> => {
    for (let attempt = 0; attempt < (options.maxAttempts ?? 100); attempt++) {
      const version = current === undefined ? 0 : current.version + 1;
      const removes: DeltaAction[] =
        options.mode === 'overwrite' && current !== undefined
          ? current.files.map((f) => ({ remove: removeOf(f, now) }))
          : (options.replaceFiles ?? []).map((f) => ({
              remove: { ...removeOf(f, now), dataChange: options.dataChange ?? true },
            }));
      const header: DeltaAction[] =
        current === undefined
          ? [
              { protocol: protocolFor(fields) },
              { metaData: newMetadata(fields, partitionColumns, now) },
            ]
          : schemaChange(current, newColumns(current, data.fields));
      // An append that adds no rows, removes no file and changes no schema would only be an
      // empty version: nothing is committed (an overwrite with no rows empties the table, a
      // real change, and commits).
      if (current !== undefined && adds.length === 0 && removes.length === 0 && header.length === 0)
        return {
          version: current.version,
          skipped: true,
          filesAdded: 0,
          filesRemoved: 0,
          rowsWritten: 0,
        };
      const actions: DeltaAction[] = [
        {
          commitInfo: {
            ...options.commitInfo,
            timestamp: now,
            operation: options.operation ?? 'WRITE',
            operationParameters: {
              mode: options.mode === 'overwrite' ? 'Overwrite' : 'Append',
              partitionBy: JSON.stringify(partitionColumns),
            },
            isBlindAppend: options.mode === 'append' && (options.replaceFiles ?? []).length === 0,
            engineInfo: 'sluice',
          },
        },
        ...header,
        ...(options.transaction === undefined
          ? []
          : [
              {
                txn: {
                  appId: options.transaction.appId,
                  version: options.transaction.version,
                  lastUpdated: now,
                },
              },
            ]),
        ...removes,
        ...adds,
      ];
      if (await writeCommit(store, version, actions)) {
        if (version > 0 && version % CHECKPOINT_INTERVAL === 0) {
          // A checkpoint is an optimisation: a failure to write one must not fail the commit.
          await loadDeltaSnapshot(connection, store, { version })
            .then((snapshot) => writeCheckpoint(connection, snapshot))
            .catch(() => undefined);
        }
        return {
          version,
          skipped: false,
          filesAdded: files.length,
          filesRemoved: removes.length,
          rowsWritten,
        };
      }
      // Another writer took this version: re-read, and decide whether ours still applies.
      const winner = await loadDeltaSnapshotIfExists(connection, store);
      if (winner === undefined)
        throw new TableError(root, `commit ${version} exists but the table cannot be read`);
      if (options.transaction !== undefined) {
        const committed = winner.appVersions.get(options.transaction.appId);
        if (committed !== undefined && committed >= options.transaction.version) {
          return {
            version: winner.version,
            skipped: true,
            filesAdded: 0,
            filesRemoved: 0,
            rowsWritten: 0,
          };
        }
      }
      const replacesFiles = (options.replaceFiles ?? []).length > 0;
      if (
        options.mode === 'overwrite' ||
        current === undefined ||
        (replacesFiles && !(await onlyBlindAppends(store, current.version + 1, winner.version)))
      ) {
        throw new CommitConflictError(root, version, store.url(commitPath(version)));
      }
      current = winner;
    }
    throw new TableWriteError(
      root,
      `gave up after ${options.maxAttempts ?? 100} attempts to commit an append`,
      {
        hint: 'too many writers are committing to this table at once',
      },
    );
  };
  const discard = async (): Promise<void> => {
    await forEachLimited(files, 8, (file) => store.delete(decodeURIComponent(file.path)));
  };
  return { rowsWritten, files, commit, discard };
}

/**
 * Writes the rows of a relation into a Delta table (created on first write) and commits them:
 * {@link prepareDeltaWrite} then `commit()`.
 *
 * @example
 * ```ts
 * await writeDelta(connection, 'lake/orders', '"orders"', fields, { mode: 'append', partitionBy: ['order_date'] });
 * ```
 */
export async function writeDelta(
  connection: EngineConnection,
  table: TableLocation,
  relation: string,
  fields: readonly Field[],
  options: DeltaWriteOptions,
): Promise<DeltaWriteResult> {
  const prepared = await prepareDeltaWrite(connection, table, relation, fields, options);
  try {
    const result = await prepared.commit();
    // Another run with the same transaction committed first: these files are not needed.
    if (result.skipped) await prepared.discard();
    return result;
  } catch (error) {
    await prepared.discard();
    throw error;
  }
}

function newMetadata(
  fields: readonly Field[],
  partitionColumns: readonly string[],
  now: number,
): MetadataAction {
  return {
    id: randomUUID(),
    format: { provider: 'parquet', options: {} },
    schemaString: deltaSchemaString(fields),
    partitionColumns,
    configuration: {},
    createdTime: now,
  };
}

/** Columns of the data the table does not have yet, as nullable table columns. */
function newColumns(table: DeltaSnapshot, fields: readonly Field[]): Field[] {
  const known = new Set(table.fields.map((f) => f.name));
  return fields.filter((f) => !known.has(f.name)).map((f) => ({ ...f, nullable: true }));
}

/** The metaData (and, if the new columns need it, protocol) actions that add columns. */
function schemaChange(table: DeltaSnapshot, added: readonly Field[]): DeltaAction[] {
  if (added.length === 0) return [];
  const fields = [...table.fields, ...added];
  const needed = protocolFor(fields);
  const upgrade =
    needed.minReaderVersion > table.protocol.minReaderVersion ||
    needed.minWriterVersion > table.protocol.minWriterVersion;
  return [
    ...(upgrade ? [{ protocol: needed }] : []),
    { metaData: { ...table.metadata, schemaString: deltaSchemaString(fields) } },
  ];
}

/**
 * Whether the commits between two versions only added files (blind appends): those never
 * conflict with a rewrite, whose files are then still in place. A commit that removed files or
 * changed the schema or protocol does.
 */
async function onlyBlindAppends(store: TableStore, from: number, to: number): Promise<boolean> {
  for (let version = from; version <= to; version++) {
    const actions = await readCommitFile(store, version);
    if (actions.some((a) => 'remove' in a || 'metaData' in a || 'protocol' in a)) return false;
  }
  return true;
}

/**
 * Fits data to an existing table: columns whose type the table's column holds without loss
 * (int32 into int64, int into double, ...) are cast; any other mismatch throws a
 * {@link TableError} listing every problem.
 *
 * @example
 * ```ts
 * const data = alignToTable(snapshot, '(SELECT * FROM staged)', fields);
 * ```
 */
export function alignToTable(
  table: DeltaSnapshot,
  relation: string,
  fields: readonly Field[],
  options: { readonly mergeSchema?: boolean } = {},
): { relation: string; fields: readonly Field[] } {
  const tableTypes = new Map(table.fields.map((f) => [f.name, f.type]));
  const widened = fields.map((f) => {
    const target = tableTypes.get(f.name);
    // Delta has no JSON type: JSON columns are stored as strings, so JSON data fits them.
    const stored = target !== undefined && f.type.kind === 'json' && target.kind === 'string';
    return target !== undefined && (stored || isWidening(f.type, target))
      ? { ...f, type: target }
      : f;
  });
  checkSchemaCompatible(table.root, table.fields, widened, options.mergeSchema === true);
  if (widened.every((f, i) => f === fields[i])) return { relation, fields };
  const columns = widened.map((f, i) =>
    f === fields[i]
      ? quoteIdentifier(f.name)
      : `CAST(${quoteIdentifier(f.name)} AS ${toDuckDBType(f.type)}) AS ${quoteIdentifier(f.name)}`,
  );
  return { relation: `(SELECT ${columns.join(', ')} FROM ${relation})`, fields: widened };
}

function checkSchemaCompatible(
  root: string,
  table: readonly Field[],
  data: readonly Field[],
  mergeSchema: boolean,
): void {
  const byName = new Map(table.map((f) => [f.name, f]));
  const problems: string[] = [];
  for (const field of data) {
    const existing = byName.get(field.name);
    if (existing === undefined) {
      if (!mergeSchema) problems.push(`column "${field.name}" is not in the table`);
    } else if (formatType(existing.type) !== formatType(field.type)) {
      problems.push(
        `column "${field.name}" is ${formatType(field.type)}, the table has ${formatType(existing.type)}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new TableWriteError(
      root,
      `the data does not match the table schema: ${problems.join('; ')}`,
      {
        hint: 'cast the columns to the table types, pass mergeSchema to add new columns, or write to a new table',
      },
    );
  }
}

/** Reader and writer versions a schema needs: timestamps without a zone need the timestampNtz feature. */
function protocolFor(fields: readonly Field[]): ProtocolAction {
  const ntz = (type: Field['type']): boolean =>
    (type.kind === 'timestamp' && !type.tz) ||
    (type.kind === 'list' && ntz(type.element)) ||
    (type.kind === 'map' && (ntz(type.key) || ntz(type.value))) ||
    (type.kind === 'struct' && type.fields.some((f) => ntz(f.type)));
  return fields.some((f) => ntz(f.type))
    ? {
        minReaderVersion: 3,
        minWriterVersion: 7,
        readerFeatures: ['timestampNtz'],
        writerFeatures: ['timestampNtz'],
      }
    : { minReaderVersion: 1, minWriterVersion: 2 };
}

function removeOf(file: AddAction, now: number): RemoveAction {
  return {
    path: encodePath(file.path),
    deletionTimestamp: now,
    dataChange: true,
    extendedFileMetadata: true,
    partitionValues: file.partitionValues,
    size: file.size,
  };
}

interface ReturnedFile {
  readonly filename: string;
  readonly count: bigint | number;
  readonly file_size_bytes: bigint | number;
  readonly column_statistics:
    readonly { key: string; value: readonly { key: string; value: string }[] }[] | null;
  readonly partition_keys: readonly { key: string; value: string | null }[] | null;
}

const NUMERIC = new Set(['int8', 'int16', 'int32', 'int64', 'float32', 'float64']);

/**
 * Writes the rows as Parquet files with DuckDB into the store's staging folder (the table
 * folder itself on local disk), then publishes them to the store under the same paths.
 */
async function writeDataFiles(
  connection: EngineConnection,
  store: TableStore,
  relation: string,
  fields: readonly Field[],
  partitionColumns: readonly string[],
): Promise<AddAction[]> {
  const { root } = store;
  // Every file of one write carries its id, so an interrupted write can be cleaned up.
  const writeId = randomUUID();
  const folder = await store.stagingFolder(writeId);
  const options = [
    'FORMAT parquet',
    'COMPRESSION zstd',
    'RETURN_STATS',
    `FILENAME_PATTERN ${quoteLiteral(`part-${writeId}-{i}`)}`,
  ];
  let target = folder;
  if (partitionColumns.length > 0) {
    options.push(
      `PARTITION_BY (${partitionColumns.map(quoteIdentifier).join(', ')})`,
      'OVERWRITE_OR_IGNORE',
    );
  } else {
    target = join(folder, `part-${writeId}-0.zstd.parquet`);
  }
  const select = fields.map((f) => quoteIdentifier(f.name)).join(', ');
  let returned: ReturnedFile[];
  try {
    const reader = await connection.raw.runAndReadAll(
      `COPY (SELECT ${select} FROM ${relation}) TO ${quoteLiteral(target)} (${options.join(', ')})`,
    );
    returned = reader.convertRowObjects(
      duckdb().JSDuckDBValueConverter,
    ) as unknown as ReturnedFile[];
  } catch (cause) {
    await store.discardStaged(folder, writeId);
    const denied = await writeDenied(cause, folder);
    throw new TableWriteError(
      root,
      denied?.message ??
        `cannot write data files: ${(cause as Error).message.split('\n')[0] ?? ''}`,
      denied === undefined ? { cause } : { cause, hint: denied.hint },
    );
  }
  const written = returned.filter((file) => Number(file.count) > 0);
  const paths = written.map((file) => relative(folder, file.filename).split(sep).join('/'));
  await store.publishStaged(folder, paths);
  const now = Date.now();
  const types = new Map(fields.map((f) => [f.name, f.type]));
  return written.map((file, i) => {
    const stats = {
      numRecords: Number(file.count),
      minValues: {} as Record<string, unknown>,
      maxValues: {} as Record<string, unknown>,
      nullCount: {} as Record<string, number>,
    };
    for (const column of file.column_statistics ?? []) {
      const name = column.key.replace(/^"(.*)"$/, '$1').replaceAll('""', '"');
      const values = Object.fromEntries(column.value.map((e) => [e.key, e.value]));
      const numeric = NUMERIC.has(types.get(name)?.kind ?? '');
      const typed = (v: string | undefined): unknown =>
        v === undefined ? undefined : numeric ? Number(v) : v;
      if (values['min'] !== undefined) stats.minValues[name] = typed(values['min']);
      if (values['max'] !== undefined) stats.maxValues[name] = typed(values['max']);
      if (values['null_count'] !== undefined) stats.nullCount[name] = Number(values['null_count']);
    }
    const partitionValues = Object.fromEntries(
      partitionColumns.map((c) => [
        c,
        (file.partition_keys ?? []).find((k) => k.key === c)?.value ?? null,
      ]),
    );
    return {
      path: encodePath(paths[i] as string),
      partitionValues,
      size: Number(file.file_size_bytes),
      modificationTime: now,
      dataChange: true,
      stats: JSON.stringify(stats),
    };
  });
}

/** Delta stores paths URL-encoded; the reader decodes them. */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
