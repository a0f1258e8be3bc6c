/** Delta Lake transaction log actions (protocol spec "Actions"), as read from the log. */

/** `protocol`: the reader and writer versions (and features) a table requires. */
export interface ProtocolAction {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
  readonly readerFeatures?: readonly string[];
  readonly writerFeatures?: readonly string[];
}

/** `metaData`: the table's id, schema, partition columns and configuration. */
export interface MetadataAction {
  readonly id: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly format: {
    readonly provider: string;
    readonly options?: Readonly<Record<string, string>>;
  };
  /** The table schema in Delta's JSON schema format. */
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration?: Readonly<Record<string, string>>;
  readonly createdTime?: number | null;
}

/** `add`: a data file that is part of the table from this version on. */
export interface AddAction {
  /** Relative to the table root, URL-encoded (RFC 2396), or an absolute URI. */
  readonly path: string;
  readonly partitionValues: Readonly<Record<string, string | null>>;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  /** JSON text with numRecords, minValues, maxValues, nullCount. */
  readonly stats?: string | null;
  readonly tags?: Readonly<Record<string, string>> | null;
  readonly deletionVector?: unknown;
}

/** The parsed `stats` of an add action. */
export interface FileStats {
  readonly numRecords?: number;
  readonly minValues?: Readonly<Record<string, unknown>>;
  readonly maxValues?: Readonly<Record<string, unknown>>;
  readonly nullCount?: Readonly<Record<string, unknown>>;
}

/**
 * The stats of a data file, or `undefined` when the writer recorded none.
 *
 * @example
 * ```ts
 * const rows = fileStats(add)?.numRecords;
 * ```
 */
export function fileStats(file: AddAction): FileStats | undefined {
  return file.stats === undefined || file.stats === null
    ? undefined
    : (JSON.parse(file.stats) as FileStats);
}

/** `remove`: a data file that is no longer part of the table (a tombstone). */
export interface RemoveAction {
  readonly path: string;
  readonly deletionTimestamp?: number | null;
  readonly dataChange: boolean;
  readonly extendedFileMetadata?: boolean;
  readonly partitionValues?: Readonly<Record<string, string | null>> | null;
  readonly size?: number | null;
}

/** `txn`: the latest version an application committed, for idempotent writes. */
export interface TxnAction {
  readonly appId: string;
  readonly version: number;
  readonly lastUpdated?: number | null;
}

/** `commitInfo`: free-form provenance of a commit. */
export type CommitInfoAction = Readonly<Record<string, unknown>> & { readonly timestamp?: number };

/** One line of a commit file; unknown action kinds are kept but ignored by readers. */
export interface DeltaAction {
  readonly protocol?: ProtocolAction;
  readonly metaData?: MetadataAction;
  readonly add?: AddAction;
  readonly remove?: RemoveAction;
  readonly txn?: TxnAction;
  readonly commitInfo?: CommitInfoAction;
}
