import type { Logger } from '../core/logger.js';
import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import type { AttemptFigures } from './attempt-metrics.js';
import { recordFigures } from './attempt-metrics.js';
import type { RunStore } from './run-store.js';

/** How long figures wait for a serving process to export them before they are dropped. */
const KEPT_MS = 7 * 24 * 3600_000;
/** Most runs one export takes, so a long backlog does not slow one scrape much. */
const BATCH = 1_000;

/**
 * The figures of ad-hoc runs (`sluice run`), left in the run store for a serving process
 * (`sluice serve --http`, `sluice worker --metrics-port`) to export. Each run's figures are
 * claimed by exactly one process (an UPDATE of the rows no one claimed, answering what it
 * claimed), so processes sharing a store never count a run twice; figures no one exported in
 * seven days are dropped.
 *
 * @example
 * ```ts
 * await new AdhocRunFigures(store).record(attemptFigures(attempt));   // sluice run
 * await new AdhocRunFigures(store).export(metrics, 'host-1234');      // before a scrape answers
 * ```
 */
export class AdhocRunFigures {
  readonly #store: RunStore;

  constructor(store: RunStore) {
    this.#store = store;
  }

  /** Leaves a finished run's figures for export (a run id already recorded is kept as it was). */
  async record(figures: AttemptFigures, now = Date.now()): Promise<void> {
    await this.#store.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO adhoc_run_figures (run_id, figures, recorded_at) VALUES (?, ?, ?)
         ON CONFLICT (run_id) DO NOTHING`,
        [figures.runId, JSON.stringify(figures), now],
      );
      await tx.run('DELETE FROM adhoc_run_figures WHERE recorded_at < ?', [now - KEPT_MS]);
    });
  }

  /**
   * Claims the figures no process exported yet (oldest first, at most a thousand) for
   * `exporter`, and records them into `metrics`. Answers how many runs it recorded, and how
   * many it claimed but could not read (figures written by another version of Sluice).
   */
  async export(
    metrics: SluiceMetrics,
    exporter: string,
    now = Date.now(),
  ): Promise<{ recorded: number; unreadable: number }> {
    // A read first: most scrapes find nothing waiting, and need no write lock of the store.
    const waiting = await this.#store.db.all(
      'SELECT id FROM adhoc_run_figures WHERE exported_by IS NULL LIMIT 1',
    );
    if (waiting.length === 0) return { recorded: 0, unreadable: 0 };
    const rows = await this.#store.db.all(
      `UPDATE adhoc_run_figures SET exported_by = ?, exported_at = ?
       WHERE exported_by IS NULL AND id IN (
         SELECT id FROM adhoc_run_figures WHERE exported_by IS NULL ORDER BY id LIMIT ${BATCH})
       RETURNING id, figures`,
      [exporter, now],
    );
    rows.sort((a, b) => Number(a['id']) - Number(b['id']));
    let unreadable = 0;
    for (const row of rows)
      try {
        recordFigures(metrics, JSON.parse(String(row['figures'])) as AttemptFigures);
      } catch {
        unreadable++;
      }
    return { recorded: rows.length - unreadable, unreadable };
  }
}

/**
 * What a serving process runs before each scrape answers: exports the waiting figures of
 * ad-hoc runs into `metrics` as `exporter`. A store that cannot be read is logged (the scrape
 * answers what the process has), and so are figures it cannot read.
 *
 * @example
 * ```ts
 * mountMetrics(app, { metrics, authorize, beforeScrape: adhocExporter(store, metrics, `${hostname()}-${process.pid}`, logger) });
 * ```
 */
export function adhocExporter(
  store: RunStore,
  metrics: SluiceMetrics,
  exporter: string,
  logger: Logger,
): () => Promise<void> {
  const figures = new AdhocRunFigures(store);
  return async function exportAdhocRuns(): Promise<void> {
    try {
      const { unreadable } = await figures.export(metrics, exporter);
      if (unreadable > 0)
        logger.warn({ runs: unreadable }, 'figures of ad-hoc runs could not be read; skipped');
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'the figures of ad-hoc runs could not be read from the run store; this scrape leaves them for the next',
      );
    }
  };
}
