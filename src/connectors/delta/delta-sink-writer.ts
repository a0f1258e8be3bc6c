import type { z } from 'zod';
import { quoteIdentifier, scalarLiteral } from '../../core/type-mappings.js';
import type { SinkWriteContext } from '../../contracts/batch-connector.js';
import type { PublishedOutput, StagedOutput } from '../../contracts/staged-output.js';
import type { deltaSinkConfig } from './delta-configs.js';
import { mergeDelta, prepareMergeReplace } from '../../table/delta-merge.js';
import { checkRowsInside, replaceWhereDelta } from '../../table/delta-predicate.js';
import { prepareDeltaWrite } from '../../table/delta-writer.js';
import type { TableStore } from '../../table/table-store.js';
import { openTableStore, resolveTableLocation } from '../../table/table-store.js';
import { deltaRunTransaction } from './delta-published-runs.js';

/**
 * `deltaSink.write`, loaded on first use.
 *
 * @example
 * ```ts
 * await writeDelta(config, context);
 * ```
 */
export async function writeDelta(
  config: z.output<typeof deltaSinkConfig>,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const store = await openTableStore(resolveTableLocation(context.baseDir, config.path));
  const target = store.root;
  const { replaceWhere } = config;
  const transaction = deltaRunTransaction(context.runId, context.stepId);
  const commitInfo = provenanceOf(context);
  // A full refresh replaces what append and merge add to (overwrite, with or without
  // replaceWhere, already replaces what it covers and stays as it is).
  if (context.fullRefresh === true && config.mode !== 'overwrite')
    return replaceDeltaTable(config, context, store, transaction, commitInfo);
  if (config.mode === 'merge' || replaceWhere !== undefined) {
    // A merge or replace-where rewrites files it has to read at commit time, so it runs when
    // the run publishes.
    if (replaceWhere !== undefined)
      await checkRowsInside(context.connection, store, context.input, replaceWhere);
    const [row] = await context.connection.rows(`SELECT count(*) AS n FROM ${context.input}`);
    const staged = quoteIdentifier(`__sluice_delta_${context.stepId}`);
    await context.connection.run(
      `CREATE TABLE ${staged} AS SELECT * FROM ${context.input}${latestPerKey(config)}`,
    );
    const fields = context.inputFields.filter((f) => !config.exclude.includes(f.name));
    const drop = async (): Promise<void> => {
      await context.connection.run(`DROP TABLE IF EXISTS ${staged}`);
    };
    return {
      rowsWritten: Number(row?.['n'] ?? 0),
      outputs: [target],
      writeMode: replaceWhere === undefined ? 'merge' : 'replace-where',
      publish: async () => {
        const result = await (replaceWhere === undefined
          ? mergeDelta(context.connection, store, staged, fields, {
              keys: config.keys,
              transaction,
              commitInfo,
              ...(config.deleteWhen === undefined
                ? {}
                : {
                    deleteWhen: `${quoteIdentifier(config.deleteWhen.column)} = ${scalarLiteral(config.deleteWhen.equals)}`,
                  }),
            })
          : replaceWhereDelta(context.connection, store, staged, fields, replaceWhere, {
              transaction,
              commitInfo,
            }));
        await drop();
        return committedVersion(result);
      },
      discard: drop,
    };
  }
  const fields = context.inputFields.filter((f) => !config.exclude.includes(f.name));
  const prepared = await prepareDeltaWrite(
    context.connection,
    store,
    config.exclude.length === 0
      ? context.input
      : `(SELECT ${fields.map((f) => quoteIdentifier(f.name)).join(', ')} FROM ${context.input})`,
    fields,
    {
      mode: config.mode,
      partitionBy: config.partitionBy,
      mergeSchema: config.mergeSchema,
      transaction,
      commitInfo,
    },
  );
  return {
    rowsWritten: prepared.rowsWritten,
    outputs: [target],
    writeMode: config.mode,
    publish: async () => committedVersion(await prepared.commit()),
    discard: () => prepared.discard(),
  };
}

/**
 * An append or merge sink's write on a full refresh: the table's rows become the run's output
 * in one overwrite commit at publish (for a merge, the latest row per key, without the rows
 * `deleteWhen` marks), so readers see the old table or the new one.
 */
async function replaceDeltaTable(
  config: z.output<typeof deltaSinkConfig>,
  context: SinkWriteContext,
  store: TableStore,
  transaction: { readonly appId: string; readonly version: number },
  commitInfo: Readonly<Record<string, string>>,
): Promise<StagedOutput> {
  const fields = context.inputFields.filter((f) => !config.exclude.includes(f.name));
  const [row] = await context.connection.rows(`SELECT count(*) AS n FROM ${context.input}`);
  const rowsIn = Number(row?.['n'] ?? 0);
  const prepared =
    config.mode === 'merge'
      ? await prepareMergeReplace(
          context.connection,
          store,
          `(SELECT * FROM ${context.input}${latestPerKey(config)})`,
          fields,
          {
            keys: config.keys,
            partitionBy: config.partitionBy,
            transaction,
            commitInfo,
            ...(config.deleteWhen === undefined
              ? {}
              : {
                  deleteWhen: `${quoteIdentifier(config.deleteWhen.column)} = ${scalarLiteral(config.deleteWhen.equals)}`,
                }),
          },
        )
      : await prepareDeltaWrite(
          context.connection,
          store,
          `(SELECT ${fields.map((f) => quoteIdentifier(f.name)).join(', ')} FROM ${context.input})`,
          fields,
          {
            mode: 'overwrite',
            partitionBy: config.partitionBy,
            mergeSchema: config.mergeSchema,
            transaction,
            commitInfo,
          },
        );
  return {
    rowsWritten: rowsIn,
    outputs: [store.root],
    writeMode: 'full-refresh',
    publish: async () => {
      const result = await prepared.commit();
      context.logger.info(
        {
          table: store.root,
          mode: config.mode,
          version: result.version,
          rows: prepared.rowsWritten,
        },
        "full refresh: the target table was replaced by the run's rows",
      );
      return committedVersion(result);
    },
    discard: () => prepared.discard(),
  };
}

/** The run id, pipeline, step and actor a commit of this write records in its commitInfo. */
function provenanceOf(context: SinkWriteContext): Readonly<Record<string, string>> {
  return {
    runId: context.runId,
    step: context.stepId,
    ...(context.provenance === undefined
      ? {}
      : { pipeline: context.provenance.pipeline, actor: context.provenance.actor }),
  };
}

/** The version a publish committed; nothing when the write was skipped (already there, or empty). */
function committedVersion(result: {
  readonly version: number;
  readonly skipped: boolean;
}): PublishedOutput {
  return result.skipped ? {} : { version: result.version };
}

/** With `latestBy`, keeps one row per key: the one with the highest `latestBy`. */
function latestPerKey(config: z.output<typeof deltaSinkConfig>): string {
  if (config.latestBy === undefined || config.mode !== 'merge') return '';
  return ` QUALIFY row_number() OVER (PARTITION BY ${config.keys.map(quoteIdentifier).join(', ')} ORDER BY ${quoteIdentifier(config.latestBy)} DESC) = 1`;
}
