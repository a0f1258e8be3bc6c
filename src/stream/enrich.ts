import { parseDuration } from '../core/duration.js';
import { ownValue } from '../core/own-keys.js';
import type {
  EnrichOptions,
  OperatorSpec,
  SideOutput,
  StreamBatch,
  StreamOperator,
} from './operator-spec.js';
import type { StreamRow } from '../contracts/stream-connector.js';

export type { LookupTable } from '../contracts/lookup-table.js';

/**
 * Adds columns from a lookup table to each record, by key (a stream-table join). The table is
 * held in memory and read again every `refresh`, between batches; records always see one whole
 * version of it. A lookup table larger than `maxRows` fails the stream with a clear error.
 *
 * @example
 * ```ts
 * enrich({ lookup: lookup.postgres({ url, table: 'public.customers', key: 'id' }), on: { record: 'customer_id', table: 'id' }, columns: ['tier', 'country'] })
 * ```
 */
export function enrich(options: EnrichOptions): OperatorSpec {
  return { kind: 'enrich', options };
}

/**
 * The stage an `enrich` step runs as.
 *
 * @example
 * ```ts
 * const operator = new EnrichOperator(options);
 * await operator.prepare();
 * ```
 */
export class EnrichOperator implements StreamOperator {
  readonly #options: EnrichOptions;
  readonly #recordKey: string;
  readonly #tableKey: string;
  readonly #refreshMs: number;
  #rows = new Map<string, StreamRow>();
  #columns: readonly string[] = [];
  #loadedAt = -Infinity;

  constructor(options: EnrichOptions) {
    this.#options = options;
    this.#recordKey = typeof options.on === 'string' ? options.on : options.on.record;
    this.#tableKey = typeof options.on === 'string' ? options.on : options.on.table;
    this.#refreshMs = parseDuration(options.refresh ?? '5m');
  }

  /** Reads the lookup table when it was never read or is older than `refresh`. */
  async prepare(): Promise<void> {
    if (Date.now() - this.#loadedAt < this.#refreshMs) return;
    const rows = await this.#options.lookup.load();
    const limit = this.#options.maxRows ?? 1_000_000;
    if (rows.length > limit)
      throw new Error(
        `the lookup table ${this.#options.lookup.describe} has ${rows.length} rows, more than maxRows (${limit}); raise maxRows or look up fewer rows (a query with a WHERE)`,
      );
    const byKey = new Map<string, StreamRow>();
    for (const row of rows) byKey.set(keyText(row[this.#tableKey]), row);
    this.#rows = byKey;
    this.#columns =
      this.#options.columns ?? Object.keys(rows[0] ?? {}).filter((c) => c !== this.#tableKey);
    this.#loadedAt = Date.now();
  }

  process(batch: StreamBatch, _watermark: number, side: SideOutput): StreamBatch {
    const out: StreamBatch = { rows: [], times: [] };
    const missing = this.#options.missing ?? 'keep';
    for (let i = 0; i < batch.rows.length; i++) {
      const row = batch.rows[i] as StreamRow;
      const time = batch.times[i] as number;
      const match = this.#rows.get(keyText(row[this.#recordKey]));
      if (match === undefined && missing !== 'keep') {
        if (missing === 'quarantine')
          side(
            row,
            time,
            `no row of ${this.#options.lookup.describe} has ${this.#tableKey} = ${String(row[this.#recordKey])}`,
            'invalid',
          );
        continue;
      }
      const enriched: StreamRow = { ...row };
      for (const column of this.#columns)
        enriched[column] = (match === undefined ? undefined : ownValue(match, column)) ?? null;
      out.rows.push(enriched);
      out.times.push(time);
    }
    return out;
  }

  advance(): StreamBatch {
    return { rows: [], times: [] };
  }

  stateSize(): number {
    return 0;
  }

  snapshot(): unknown {
    return null;
  }

  restore(): void {}
}

function keyText(value: unknown): string {
  return value === null || value === undefined ? '\u0000null' : String(value);
}
