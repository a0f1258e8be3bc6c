import { duckdb } from '../contracts/duckdb-api.js';
import { TableError } from '../core/errors.js';
import type { Field } from '../core/types.js';
import { quoteLiteral } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type {
  AddAction,
  DeltaAction,
  MetadataAction,
  ProtocolAction,
  RemoveAction,
} from './delta-actions.js';
import { fieldsFromDeltaSchema } from './delta-schema.js';
import { forEachLimited } from './table-cache.js';
import type { TableLocation, TableStore } from './table-store.js';
import { openTableStore } from './table-store.js';

/** The reader protocol versions and features this reader supports. */
const SUPPORTED_READER_VERSION = 3;
const SUPPORTED_READER_FEATURES: ReadonlySet<string> = new Set(['timestampNtz']);

/** A consistent view of a Delta table at one version. */
export interface DeltaSnapshot {
  /** The table's location: its absolute folder, or `s3://bucket/prefix`. */
  readonly root: string;
  /** Where the table's files are read and written. */
  readonly store: TableStore;
  readonly version: number;
  /** When that version was committed (commitInfo.timestamp, else the commit file's modification time), ms. */
  readonly timestamp: number;
  readonly protocol: ProtocolAction;
  readonly metadata: MetadataAction;
  readonly fields: readonly Field[];
  readonly partitionColumns: readonly string[];
  /** Active data files, sorted by path. */
  readonly files: readonly AddAction[];
  /** Files removed and not re-added, with their deletion time (for vacuum). */
  readonly tombstones: readonly RemoveAction[];
  /** The latest committed version per application id (for idempotent writes). */
  readonly appVersions: ReadonlyMap<string, number>;
}

/** Which version to load: the latest, a version number, or the latest at a point in time. */
export interface SnapshotOptions {
  readonly version?: number;
  /** An ISO timestamp or epoch milliseconds. */
  readonly timestamp?: string | number;
}

const LOG = '_delta_log';
/** How many commit files are read at once. */
const READ_AHEAD = 16;
const COMMIT = /^(\d{20})\.json$/;
const CHECKPOINT = /^(\d{20})\.checkpoint\.parquet$/;

/**
 * Loads a snapshot of a Delta table from its transaction log: the newest checkpoint at or below
 * the version asked for, then the JSON commits after it. Unfinished commits (`_delta_log/.tmp`),
 * `.crc` files and unknown action fields are ignored. Tables that need a newer reader protocol or
 * reader features are refused rather than misread.
 *
 * @example
 * ```ts
 * const snapshot = await loadDeltaSnapshot(connection, 'lake/orders', { version: 3 });
 * snapshot.files.map((f) => f.path);
 * ```
 */
export async function loadDeltaSnapshot(
  connection: EngineConnection,
  table: TableLocation,
  options: SnapshotOptions = {},
): Promise<DeltaSnapshot> {
  const store = await openTableStore(table);
  const { root } = store;
  const entries = await store.list(LOG);
  if (entries.length === 0) {
    throw new TableError(root, `no transaction log at ${store.url(LOG)}`, {
      hint: 'check the table path; a Delta table has a _delta_log folder',
    });
  }
  const commits = entries
    .flatMap((e) => (COMMIT.exec(e) === null ? [] : [Number(COMMIT.exec(e)?.[1])]))
    .sort((a, b) => a - b);
  const checkpoints = entries
    .flatMap((e) => (CHECKPOINT.exec(e) === null ? [] : [Number(CHECKPOINT.exec(e)?.[1])]))
    .sort((a, b) => a - b);
  const latest = Math.max(commits.at(-1) ?? -1, checkpoints.at(-1) ?? -1);
  if (latest < 0) throw new TableError(root, 'the transaction log holds no commit');

  const commitCache = new Map<number, Promise<DeltaAction[]>>();
  const readCommit = (version: number): Promise<DeltaAction[]> => {
    let actions = commitCache.get(version);
    if (actions === undefined) {
      actions = readCommitFile(store, version);
      commitCache.set(version, actions);
    }
    return actions;
  };
  // Reading ahead in parallel hides the latency of an object store.
  const readAhead = (versions: readonly number[]): Promise<void> =>
    forEachLimited(versions, READ_AHEAD, async (v) => void (await readCommit(v)));
  const commitTime = async (version: number): Promise<number> => {
    const info = (await readCommit(version)).find((a) => a.commitInfo !== undefined)?.commitInfo;
    if (typeof info?.timestamp === 'number') return info.timestamp;
    return (await store.stat(`${LOG}/${commitName(version)}`))?.modified ?? 0;
  };

  let target = latest;
  if (options.version !== undefined) {
    if (!Number.isInteger(options.version) || options.version < 0 || options.version > latest) {
      throw new TableError(
        root,
        `version ${options.version} does not exist; the latest is ${latest}`,
      );
    }
    target = options.version;
  } else if (options.timestamp !== undefined) {
    const at =
      typeof options.timestamp === 'number' ? options.timestamp : Date.parse(options.timestamp);
    if (Number.isNaN(at))
      throw new TableError(root, `"${String(options.timestamp)}" is not a timestamp`, {
        hint: 'use ISO 8601, e.g. 2024-01-31T12:00:00Z',
      });
    target = -1;
    await readAhead(commits);
    for (const version of commits) if ((await commitTime(version)) <= at) target = version;
    if (target < 0)
      throw new TableError(
        root,
        `no version was committed at or before ${new Date(at).toISOString()}`,
      );
  }

  const checkpoint = checkpoints.filter((v) => v <= target).at(-1);
  const state = new ReplayState();
  const from = checkpoint === undefined ? 0 : checkpoint + 1;
  const replayed = Array.from({ length: target - from + 1 }, (_, i) => from + i);
  const committed = new Set(commits);
  const missing = replayed.find((version) => !committed.has(version));
  if (missing !== undefined) {
    throw new TableError(root, `commit ${missing} is missing from the log`, {
      hint: 'the log is incomplete; restore the missing commit file',
    });
  }
  const [checkpointActions] = await Promise.all([
    checkpoint === undefined
      ? []
      : readCheckpoint(connection, store, `${LOG}/${checkpointName(checkpoint)}`),
    readAhead(replayed),
  ]);
  for (const action of checkpointActions) state.apply(action);
  for (const version of replayed)
    for (const action of await readCommit(version)) state.apply(action);
  const { protocol, metadata } = state;
  if (protocol === undefined || metadata === undefined) {
    throw new TableError(
      root,
      `version ${target} has no ${protocol === undefined ? 'protocol' : 'metaData'} action`,
    );
  }
  checkReadable(root, protocol);
  return {
    root,
    store,
    version: target,
    timestamp: committed.has(target)
      ? await commitTime(target)
      : ((await store.stat(`${LOG}/${checkpointName(target)}`))?.modified ?? 0),
    protocol,
    metadata,
    fields: fieldsFromDeltaSchema(metadata.schemaString),
    partitionColumns: metadata.partitionColumns,
    files: [...state.files.values()].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    ),
    tombstones: [...state.tombstones.values()],
    appVersions: state.appVersions,
  };
}

class ReplayState {
  protocol: ProtocolAction | undefined;
  metadata: MetadataAction | undefined;
  readonly files = new Map<string, AddAction>();
  readonly tombstones = new Map<string, RemoveAction>();
  readonly appVersions = new Map<string, number>();

  apply(action: DeltaAction): void {
    if (action.protocol) this.protocol = action.protocol;
    if (action.metaData) this.metadata = action.metaData;
    if (action.add) {
      const path = decodePath(action.add.path);
      this.files.set(path, { ...action.add, path });
      this.tombstones.delete(path);
    }
    if (action.remove) {
      const path = decodePath(action.remove.path);
      this.files.delete(path);
      this.tombstones.set(path, { ...action.remove, path });
    }
    if (action.txn) this.appVersions.set(action.txn.appId, action.txn.version);
  }
}

function checkReadable(root: string, protocol: ProtocolAction): void {
  const features = protocol.readerFeatures ?? [];
  const unsupported = features.filter((f) => !SUPPORTED_READER_FEATURES.has(f));
  // Reader version 2 is column mapping, which this reader does not do.
  if (
    protocol.minReaderVersion === 2 ||
    protocol.minReaderVersion > SUPPORTED_READER_VERSION ||
    unsupported.length > 0
  ) {
    throw new TableError(
      root,
      `the table needs reader version ${protocol.minReaderVersion}${features.length > 0 ? ` with features ${features.join(', ')}` : ''}; this reader supports versions 1 and 3 with ${[...SUPPORTED_READER_FEATURES].join(', ')}`,
      {
        hint: 'rewrite the table without those features (e.g. purge deletion vectors) or read it with an engine that supports them',
      },
    );
  }
}

/**
 * {@link loadDeltaSnapshot} of the latest version, or `undefined` when the table does not exist
 * yet (no log, or a log with no commit).
 *
 * @example
 * ```ts
 * const snapshot = await loadDeltaSnapshotIfExists(connection, 'lake/orders');
 * if (snapshot === undefined) console.log('a new table');
 * ```
 */
export async function loadDeltaSnapshotIfExists(
  connection: EngineConnection,
  table: TableLocation,
): Promise<DeltaSnapshot | undefined> {
  try {
    return await loadDeltaSnapshot(connection, table);
  } catch (error) {
    if (error instanceof TableError && /no transaction log at|holds no commit/.test(error.message))
      return undefined;
    throw error;
  }
}

/**
 * The actions of one commit file, in order.
 *
 * @example
 * ```ts
 * const actions = await readCommitFile(await openTableStore('lake/orders'), 7);
 * ```
 */
export async function readCommitFile(store: TableStore, version: number): Promise<DeltaAction[]> {
  const name = commitName(version);
  const text = await store.read(`${LOG}/${name}`);
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as DeltaAction];
    } catch (cause) {
      throw new TableError(store.root, `commit ${name} line ${i + 1} is not valid JSON`, {
        cause,
      });
    }
  });
}

async function readCheckpoint(
  connection: EngineConnection,
  store: TableStore,
  name: string,
): Promise<DeltaAction[]> {
  const root = store.root;
  const path = await store.localCopy(name);
  let rows: Record<string, unknown>[];
  try {
    const reader = await connection.raw.runAndReadAll(
      `SELECT * FROM read_parquet(${quoteLiteral(path)})`,
    );
    rows = reader.convertRowObjects(duckdb().JSDuckDBValueConverter) as Record<string, unknown>[];
  } catch (cause) {
    throw new TableError(root, `cannot read checkpoint ${store.url(name)}`, { cause });
  }
  return rows.map((row) => {
    const action: Record<string, unknown> = {};
    for (const key of ['protocol', 'metaData', 'add', 'remove', 'txn'] as const) {
      const value = row[key];
      if (value !== null && value !== undefined) action[key] = normalizeCheckpointValue(value);
    }
    fixEmptyMaps(action);
    return action as DeltaAction;
  });
}

const MAP_FIELDS = new Set(['partitionValues', 'tags', 'configuration', 'options']);

/** An empty map reads back as an empty list; the protocol's map fields are objects. */
function fixEmptyMaps(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, inner] of Object.entries(value)) {
    if (MAP_FIELDS.has(key) && Array.isArray(inner)) (value as Record<string, unknown>)[key] = {};
    else fixEmptyMaps(inner);
  }
}

/** Checkpoint Parquet holds maps as [{key, value}] lists and 64-bit numbers as bigints. */
function normalizeCheckpointValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) {
    if (
      value.length > 0 &&
      value.every((e) => typeof e === 'object' && e !== null && 'key' in e && 'value' in e)
    ) {
      return Object.fromEntries(
        value.map((e: { key: unknown; value: unknown }) => [
          String(e.key),
          normalizeCheckpointValue(e.value),
        ]),
      );
    }
    return value.map(normalizeCheckpointValue);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, normalizeCheckpointValue(v)]),
    );
  }
  return value;
}

function commitName(version: number): string {
  return `${String(version).padStart(20, '0')}.json`;
}

function checkpointName(version: number): string {
  return `${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
