import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readDataFile } from '../../connectors/files/read-data-file.js';
import { UsageError } from '../../core/errors.js';
import { newRunId } from '../../core/ids.js';
import { formatType } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import { DuckDBSession } from '../../contracts/duckdb-session.js';
import type { EngineConnection } from '../../contracts/engine-connection.js';
import { QuarantineStore } from '../../contracts/quarantine-store.js';
import { fileStats } from '../../table/delta-actions.js';
import type { DeltaSnapshot } from '../../table/delta-log.js';
import { loadDeltaSnapshot } from '../../table/delta-log.js';
import { deltaScanSQL, fetchDeltaFiles } from '../../table/delta-scan.js';
import { skipFiles } from '../../table/delta-skipping.js';
import { readCommitHistory } from '../../table/delta-history.js';
import { optimizeDelta, vacuumDelta } from '../../table/delta-maintenance.js';
import { mergeDelta } from '../../table/delta-merge.js';
import { deleteWhereDelta, replaceWhereDelta } from '../../table/delta-predicate.js';
import { writeDelta } from '../../table/delta-writer.js';
import { resolveTableLocation } from '../../table/table-store.js';
import type { Command, CommandIO } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import {
  tableDeleteSpec,
  tableDescribeSpec,
  tableHistorySpec,
  tableOptimizeSpec,
  tableReadSpec,
  tableVacuumSpec,
  tableWriteSpec,
} from '../specs/table.js';

/** Runs `work` with a fresh engine session; errors are presented (exit 1, or 2 for usage). */
async function withSession(
  io: CommandIO,
  json: boolean,
  work: (connection: EngineConnection, session: DuckDBSession) => Promise<ExitCode>,
): Promise<ExitCode> {
  const session = await DuckDBSession.create();
  try {
    return await work(await session.connect(), session);
  } catch (error) {
    return presentError(error, io, { json });
  } finally {
    session.close();
  }
}

/** The table argument: an `s3://` or `file://` URL as it is, a path resolved against the cwd. */
function tableArgument(io: CommandIO, args: readonly string[]): string {
  return resolveTableLocation(io.cwd, args[0] as string);
}

function snapshotOptions(options: Readonly<Record<string, unknown>>): {
  version?: number;
  timestamp?: string;
} {
  if (options['version'] !== undefined && options['timestamp'] !== undefined) {
    throw new UsageError('give --version or --timestamp, not both');
  }
  if (options['version'] !== undefined) {
    const version = Number(options['version']);
    if (!Number.isInteger(version) || version < 0)
      throw new UsageError(
        `--version must be a version number, got "${String(options['version'])}"`,
      );
    return { version };
  }
  return options['timestamp'] === undefined ? {} : { timestamp: String(options['timestamp']) };
}

/**
 * `sluice table read <path>`: prints a table's rows as NDJSON (default) or CSV.
 *
 * @example
 * ```sh
 * sluice table read lake/orders --version 3 --columns id,amount --where "amount > 10"
 * ```
 */
export const tableReadCommand: Command = {
  ...tableReadSpec,
  run: (args, options, io) =>
    withSession(io, false, async (connection) => {
      const format = String(options['format']);
      if (format !== 'ndjson' && format !== 'csv')
        throw new UsageError(`--format must be ndjson or csv, got "${format}"`);
      const loaded = await loadDeltaSnapshot(
        connection,
        tableArgument(io, args),
        snapshotOptions(options),
      );
      const snapshot =
        options['where'] === undefined
          ? loaded
          : await skipFiles(connection, loaded, String(options['where']));
      const columns =
        options['columns'] === undefined
          ? '*'
          : String(options['columns'])
              .split(',')
              .map((c) => quoteIdentifier(c.trim()))
              .join(', ');
      const where = options['where'] === undefined ? '' : ` WHERE ${String(options['where'])}`;
      await fetchDeltaFiles(snapshot);
      const dir = await mkdtemp(join(tmpdir(), 'sluice-read-'));
      try {
        const out = join(dir, `rows.${format}`);
        await connection.run(
          `COPY (SELECT ${columns} FROM ${deltaScanSQL(snapshot)}${where}) TO ${quoteLiteral(out)} (FORMAT ${format === 'csv' ? 'csv, HEADER true' : 'json'})`,
        );
        io.stdout(await readFile(out, 'utf8'));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return ExitCode.success;
    }),
};

/**
 * `sluice table write <path> --from <file> --mode append|overwrite`: writes a data file's rows.
 *
 * @example
 * ```sh
 * sluice table write lake/orders --from orders.csv --mode append --partition-by order_date
 * ```
 */
export const tableWriteCommand: Command = {
  ...tableWriteSpec,
  run: (args, options, io) =>
    withSession(io, false, async (connection, session) => {
      const mode = String(options['mode']);
      if (options['where'] !== undefined && mode !== 'overwrite') {
        throw new UsageError('--where goes with --mode overwrite (replace the matching rows)');
      }
      if (options['mergeSchema'] === true && (mode === 'merge' || options['where'] !== undefined))
        throw new UsageError(
          '--merge-schema works with --mode append or overwrite without --where',
        );
      if (mode === 'merge' && options['key'] === undefined)
        throw new UsageError('--mode merge needs --key a,b');
      if (mode !== 'append' && mode !== 'overwrite' && mode !== 'merge') {
        throw new UsageError(`--mode must be append, overwrite or merge, got "${mode}"`);
      }
      if (typeof options['from'] !== 'string') throw new UsageError('--from <file> is required');
      const runId = newRunId();
      const dir = await mkdtemp(join(tmpdir(), 'sluice-write-'));
      try {
        const data = await readDataFile(session, resolve(io.cwd, options['from']), {
          stepId: 'data',
          runId,
          quarantine: new QuarantineStore(join(dir, 'quarantine'), runId),
        });
        const list = (value: unknown): string[] =>
          String(value)
            .split(',')
            .map((c) => c.trim());
        const path = tableArgument(io, args);
        const result =
          mode === 'merge'
            ? await mergeDelta(connection, path, data.relation, data.fields, {
                keys: list(options['key']),
              })
            : options['where'] !== undefined
              ? await replaceWhereDelta(
                  connection,
                  path,
                  data.relation,
                  data.fields,
                  String(options['where']),
                )
              : await writeDelta(connection, path, data.relation, data.fields, {
                  mode,
                  mergeSchema: options['mergeSchema'] === true,
                  ...(options['partitionBy'] === undefined
                    ? {}
                    : { partitionBy: list(options['partitionBy']) }),
                });
        io.stdout(
          result.skipped
            ? `No rows to add; nothing committed (the table stays at version ${result.version})\n`
            : `Committed version ${result.version}: ${result.rowsWritten} rows in ${result.filesAdded} file(s)` +
                `${result.filesRemoved > 0 ? `, ${result.filesRemoved} file(s) replaced` : ''}` +
                `${data.rowsQuarantined > 0 ? `; ${data.rowsQuarantined} unreadable record(s) left out` : ''}\n`,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return ExitCode.success;
    }),
};

/**
 * `sluice table describe <path>`: schema, partition columns, version, files, size, protocol.
 *
 * @example
 * ```sh
 * sluice table describe lake/orders --json
 * ```
 */
export const tableDescribeCommand: Command = {
  ...tableDescribeSpec,
  run: (args, options, io) =>
    withSession(io, options['json'] === true, async (connection) => {
      const snapshot = await loadDeltaSnapshot(connection, tableArgument(io, args));
      const description = describe(snapshot);
      if (options['json'] === true) {
        io.stdout(`${JSON.stringify(description, null, 2)}\n`);
        return ExitCode.success;
      }
      io.stdout(
        [
          `Table ${description.path}`,
          `  version ${description.version}, ${description.files} file(s), ${description.sizeBytes} bytes, ${description.rows ?? '?'} rows`,
          `  protocol reader ${description.protocol.minReaderVersion}, writer ${description.protocol.minWriterVersion}`,
          `  partitioned by ${description.partitionColumns.length === 0 ? '(nothing)' : description.partitionColumns.join(', ')}`,
          '  columns:',
          ...description.columns.map(
            (c) => `    ${c.name} ${c.type}${c.nullable ? '' : ' not null'}`,
          ),
        ].join('\n') + '\n',
      );
      return ExitCode.success;
    }),
};

function describe(snapshot: DeltaSnapshot) {
  let rows: number | null = 0;
  for (const file of snapshot.files) {
    const stats = fileStats(file);
    if (rows === null || stats?.numRecords === undefined) rows = null;
    else rows += stats.numRecords;
  }
  return {
    path: snapshot.root,
    version: snapshot.version,
    protocol: snapshot.protocol,
    partitionColumns: snapshot.partitionColumns,
    columns: snapshot.fields.map((f) => ({
      name: f.name,
      type: formatType(f.type),
      nullable: f.nullable,
    })),
    files: snapshot.files.length,
    sizeBytes: snapshot.files.reduce((sum, f) => sum + f.size, 0),
    rows,
  };
}

/**
 * `sluice table history <path>`: every commit with its time, operation and parameters.
 *
 * @example
 * ```sh
 * sluice table history lake/orders --json
 * ```
 */
export const tableHistoryCommand: Command = {
  ...tableHistorySpec,
  run: (args, options, io) =>
    withSession(io, options['json'] === true, async () => {
      const history = await readCommitHistory(tableArgument(io, args));
      if (options['json'] === true) {
        io.stdout(`${JSON.stringify(history, null, 2)}\n`);
        return ExitCode.success;
      }
      const lines = history.map(
        (h) =>
          `${String(h.version).padStart(6)}  ${h.timestamp === null ? '-' : new Date(h.timestamp).toISOString()}  ${h.operation ?? '-'}  +${h.filesAdded} -${h.filesRemoved}${h.provenance === undefined ? '' : `  ${JSON.stringify(h.provenance)}`}`,
      );
      io.stdout(`version  committed at              operation  files\n${lines.join('\n')}\n`);
      return ExitCode.success;
    }),
};

/**
 * `sluice table delete <path> --where SQL`: deletes the matching rows, rewriting only their files.
 *
 * @example
 * ```sh
 * sluice table delete lake/orders --where "country = 'XX'"
 * ```
 */
export const tableDeleteCommand: Command = {
  ...tableDeleteSpec,
  run: (args, options, io) =>
    withSession(io, false, async (connection) => {
      if (typeof options['where'] !== 'string')
        throw new UsageError('--where <sql> is required', {
          hint: 'to empty a table, write it with --mode overwrite',
        });
      const result = await deleteWhereDelta(connection, tableArgument(io, args), options['where']);
      io.stdout(
        result.skipped
          ? 'No rows match; nothing committed\n'
          : `Committed version ${result.version}: ${result.rowsRemoved} row(s) deleted, ${result.filesRewritten} file(s) rewritten\n`,
      );
      return ExitCode.success;
    }),
};

/**
 * `sluice table optimize <path>`: compacts small files into fewer, larger ones.
 *
 * @example
 * ```sh
 * sluice table optimize lake/orders --target-size-mb 64
 * ```
 */
export const tableOptimizeCommand: Command = {
  ...tableOptimizeSpec,
  run: (args, options, io) =>
    withSession(io, false, async (connection) => {
      const megabytes = Number(options['targetSizeMb']);
      if (!(megabytes > 0))
        throw new UsageError(
          `--target-size-mb must be a positive number, got "${String(options['targetSizeMb'])}"`,
        );
      const result = await optimizeDelta(connection, tableArgument(io, args), {
        targetFileBytes: megabytes * 1024 * 1024,
      });
      io.stdout(
        result.version === undefined
          ? 'Nothing to compact: no partition has more than one small file\n'
          : `Committed version ${result.version}: ${result.filesCompacted} file(s) in ${result.partitionsCompacted} partition(s) compacted into ${result.filesAdded}\n`,
      );
      return ExitCode.success;
    }),
};

/**
 * `sluice table vacuum <path>`: deletes data files no version within the retention uses.
 *
 * @example
 * ```sh
 * sluice table vacuum lake/orders --dry-run
 * ```
 */
export const tableVacuumCommand: Command = {
  ...tableVacuumSpec,
  run: (args, options, io) =>
    withSession(io, false, async (connection) => {
      const hours = Number(options['retentionHours']);
      if (!(hours >= 0))
        throw new UsageError(
          `--retention-hours must be a number of hours, got "${String(options['retentionHours'])}"`,
        );
      const result = await vacuumDelta(connection, tableArgument(io, args), {
        retentionHours: hours,
        dryRun: options['dryRun'] === true,
        force: options['force'] === true,
      });
      const verb = result.dryRun ? 'Would delete' : 'Deleted';
      io.stdout(
        `${verb} ${result.files.length} file(s), ${result.bytes} bytes\n` +
          result.files.map((f) => `  ${f}\n`).join(''),
      );
      return ExitCode.success;
    }),
};

/** The `sluice table ...` commands. */
export const tableCommands: readonly Command[] = [
  tableReadCommand,
  tableWriteCommand,
  tableDescribeCommand,
  tableHistoryCommand,
  tableDeleteCommand,
  tableOptimizeCommand,
  tableVacuumCommand,
];
