import type { Client } from 'pg';
import { z } from 'zod';
import { SourceError } from '../../core/errors.js';
import type { Field, LogicalType } from '../../core/types.js';
import type { StreamRecord, StreamRow } from '../../contracts/stream-connector.js';
import { defineStreamSource } from '../../contracts/stream-connector.js';
import { connectPostgres, postgresError } from './pg-connection.js';
import { describeColumns } from './pg-read.js';
import { logicalTypeOf } from './pg-types.js';
import { quoteTableName, splitTableName } from './pg-names.js';
import type { ReplicatedRelation, TupleValue } from './pgoutput.js';
import { PgOutputDecoder, lsnToBigInt, parsePostgresArray } from './pgoutput.js';
import { ensureReplication, isTable, replicationNames } from './postgres-cdc-reader.js';

/**
 * Config of the `postgres_cdc` stream source.
 *
 * @example
 * ```ts
 * postgresCdcStreamConfig.parse({ url: 'postgres://127.0.0.1/shop', table: 'public.orders' });
 * ```
 */
export const postgresCdcStreamConfig = z.strictObject({
  url: z.string().min(1).describe('Connection URL `postgres://user:password@host:port/database`.'),
  table: z.string().min(1).describe('The table to follow, optionally schema-qualified.'),
  slot: z
    .string()
    .regex(/^[a-z0-9_]{1,63}$/, 'lower-case letters, digits and underscores, at most 63')
    .optional()
    .describe('The logical replication slot (default: derived from the table and stream name).'),
  publication: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The publication to read (default: the slot name); created for the table when missing.',
    ),
  pollInterval: z
    .int()
    .positive()
    .default(200)
    .describe(
      'How often, in milliseconds, the slot is asked for new changes while there are none.',
    ),
});

/** Config of the `postgres_cdc` stream source as written (defaults optional). */
export type PostgresCdcStreamConfig = z.input<typeof postgresCdcStreamConfig>;

const OPERATION = '_op';
const LSN = '_lsn';
const COMMITTED_AT = '_committed_at';

/**
 * Follows a PostgreSQL table's changes (logical replication, `pgoutput`) as a stream: each
 * insert, update and delete becomes a record of the table's columns plus `_op`, `_lsn` (the
 * change's log position) and `_committed_at` (its transaction's commit time, a natural event
 * time). The position is the LSN; the slot is advanced (and the server frees the WAL) only when
 * a checkpoint covering the changes has committed, so a crash reads them again. The stream
 * starts with the changes made after the slot was created: load the table's current rows first
 * (a batch `source.postgres`, or `source.postgresCdc` with its snapshot). A TRUNCATE of the
 * table stops the stream ({@link truncatedStreamError}): drop the slot and load the table again.
 *
 * @example
 * ```ts
 * stream('orders_changes', { source: streamSource.postgresCdc({ url, table: 'public.orders' }), eventTime: '_committed_at', ... });
 * ```
 */
export const postgresCdcStreamSource = defineStreamSource({
  name: 'postgres_cdc',
  summary: 'Changes of a PostgreSQL table from logical replication (pgoutput), as they commit.',
  config: postgresCdcStreamConfig,
  delivery: 'at-least-once',
  defaultStart: 'latest',
  comparePositions: (a, b) => {
    const difference = BigInt(a) - BigInt(b);
    return difference < 0n ? -1 : difference > 0n ? 1 : 0;
  },
  async open(config, context) {
    if (context.start.kind === 'beginning' || context.start.kind === 'time')
      throw new Error(
        `a replication slot cannot go back: the postgres_cdc stream source starts from its checkpoint or with the changes made from now (start "${context.start.kind}" is not possible)`,
      );
    const where = { role: 'source' as const, stepId: context.stepId };
    const client = await connectPostgres(config.url, where);
    try {
      const names = replicationNames(config, context.streamName);
      const columns = await describeColumns(client, quoteTableName(config.table), where);
      const fields = columns.map((c): Field => ({
        name: c.name,
        type: logicalTypeOf(c),
        nullable: true,
      }));
      await ensureReplication(client, config.table, names, context.logger, undefined);
      const start = context.start.kind === 'checkpoint' ? context.start.positions[''] : undefined;
      return new CdcReader(
        context.stepId,
        client,
        config,
        names,
        fields,
        start === undefined ? undefined : BigInt(start),
      );
    } catch (cause) {
      await client.end().catch(() => undefined);
      throw postgresError(where, `cannot follow the changes of ${config.table}`, cause);
    }
  },
});

type CdcConfig = z.output<typeof postgresCdcStreamConfig>;

/** Reads changes by peeking at the slot past the last one handed out; acks advance the slot. */
class CdcReader {
  /** The LSN of the last change handed out (or checkpointed), undefined before any. */
  #last: bigint | undefined;
  readonly #schema: string | undefined;
  readonly #name: string;

  constructor(
    private readonly stepId: string,
    private readonly client: Client,
    private readonly config: CdcConfig,
    private readonly names: { readonly slot: string; readonly publication: string },
    private readonly fields: readonly Field[],
    after: bigint | undefined,
  ) {
    [this.#schema, this.#name] = splitTableName(config.table);
    this.#last = after;
  }

  async pull(max: number, waitMs: number): Promise<readonly StreamRecord[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const records = await this.#peek(max);
      if (records.length > 0 || Date.now() >= deadline) return records;
      await new Promise((r) =>
        setTimeout(r, Math.min(this.config.pollInterval, Math.max(0, deadline - Date.now()))),
      );
    }
  }

  async ack(positions: Readonly<Record<string, string>>): Promise<void> {
    const position = positions[''];
    if (position === undefined) return;
    const lsn = BigInt(position);
    const text = `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
    await this.client.query(
      `SELECT pg_replication_slot_advance($1, $2::pg_lsn) WHERE $2::pg_lsn > (SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1)`,
      [this.names.slot, text],
    );
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /**
   * Up to `max` changes after the last one handed out. The slot keeps everything not yet
   * acknowledged, so each look decodes from its confirmed position and skips what was handed out.
   */
  async #peek(max: number): Promise<StreamRecord[]> {
    const result = await this.client.query<{ lsn: string; data: Buffer }>(
      `SELECT lsn::text AS lsn, data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
         'proto_version', '1', 'publication_names', $2)`,
      [this.names.slot, this.names.publication],
    );
    const decoder = new PgOutputDecoder();
    const records: StreamRecord[] = [];
    let committedAt = 0;
    for (const change of result.rows) {
      const message = decoder.decode(change.data);
      if (message.type === 'begin') committedAt = message.commitTime;
      if (message.type === 'truncate') {
        const at = lsnToBigInt(change.lsn);
        if (this.#last !== undefined && at <= this.#last) continue;
        if (!message.relations.some((r) => isTable(r, this.#schema, this.#name))) continue;
        // The changes before the truncate go out first; the next look meets it first and fails.
        if (records.length > 0) break;
        throw truncatedStreamError(this.stepId, this.config.table, change.lsn, this.names.slot);
      }
      if (message.type !== 'insert' && message.type !== 'update' && message.type !== 'delete')
        continue;
      const lsn = lsnToBigInt(change.lsn);
      if (this.#last !== undefined && lsn <= this.#last) continue;
      if (!isTable(message.relation, this.#schema, this.#name)) continue;
      const tuple = message.type === 'delete' ? message.old : message.new;
      records.push({
        value: {
          ...this.#values(
            message.relation,
            tuple,
            message.type === 'update' ? message.old : undefined,
          ),
          [OPERATION]: message.type,
          [LSN]: lsn.toString(),
          [COMMITTED_AT]: new Date(committedAt),
        },
        partition: '',
        position: lsn.toString(),
        brokerTime: committedAt,
      });
      this.#last = lsn;
      if (records.length >= max) break;
    }
    return records;
  }

  #values(
    relation: ReplicatedRelation,
    tuple: readonly TupleValue[] | undefined,
    old: readonly TupleValue[] | undefined,
  ): StreamRow {
    const row: StreamRow = {};
    for (const field of this.fields) {
      const at = relation.columns.findIndex((c) => c.name === field.name);
      let value: TupleValue | undefined = at < 0 ? null : tuple?.[at];
      if (typeof value === 'object' && value !== null) value = old?.[at] ?? null;
      row[field.name] =
        typeof value === 'string'
          ? streamValue(value, field.type)
          : value === undefined
            ? null
            : value;
    }
    return row;
  }
}

/**
 * The refusal of a TRUNCATE of the followed table: it removes rows without row changes, so a
 * stream of row changes cannot carry it. Starting over means a new slot and the table loaded
 * again.
 *
 * @example
 * ```ts
 * throw truncatedStreamError('source', 'public.orders', '0/1A2B3C', 'sluice_orders_1234');
 * ```
 */
export function truncatedStreamError(
  stepId: string,
  table: string,
  lsn: string,
  slot: string,
): SourceError {
  return new SourceError(
    stepId,
    `${table} was truncated (at log position ${lsn}); a TRUNCATE removes rows without row changes, so the stream stops there`,
    {
      hint: `start over: drop the slot (SELECT pg_drop_replication_slot('${slot}')), load the table's rows again (a batch pipeline reading it with source.postgresCdc or source.postgres, run with --full-refresh, replaces its append or merge target's rows in one commit), then start the stream again`,
    },
  );
}

/** A column's text form (as replication sends it) as the JS value streams use. */
function streamValue(text: string, type: LogicalType): unknown {
  switch (type.kind) {
    case 'bool':
      return text === 't';
    case 'int8':
    case 'int16':
    case 'int32':
    case 'float32':
    case 'float64':
      return Number(text);
    case 'int64': {
      const value = BigInt(text);
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : text;
    }
    case 'timestamp':
      return new Date(
        type.tz
          ? text.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')
          : `${text.replace(' ', 'T')}Z`,
      );
    case 'json':
      return JSON.parse(text) as unknown;
    case 'list':
      return parsePostgresArray(text).map((e) =>
        e === null ? null : streamValue(e, type.element),
      );
    default:
      return text;
  }
}
