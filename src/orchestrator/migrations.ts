import { StoreError } from '../core/errors.js';
import type { SqlDatabase } from './sql-database.js';

/** One schema change of the run store, applied once, in order, in a transaction. */
interface Migration {
  readonly version: number;
  readonly description: string;
  /** Statements; `{{id}}` becomes the dialect's auto-increment key column. */
  readonly statements: readonly string[];
}

/**
 * Every schema version of the run store. Append new versions; never edit a released one.
 * Times are epoch milliseconds (BIGINT), JSON is TEXT, so both dialects share the statements.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'pipelines, runs, tasks, schedules, cursors, backfills, events',
    statements: [
      `CREATE TABLE pipelines (
        name TEXT PRIMARY KEY,
        code_hash TEXT,
        file TEXT,
        paused INTEGER NOT NULL DEFAULT 0,
        max_active_runs INTEGER,
        updated_at BIGINT NOT NULL)`,
      `CREATE TABLE backfills (
        id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        range_start BIGINT NOT NULL,
        range_end BIGINT NOT NULL,
        max_parallel INTEGER,
        intervals INTEGER NOT NULL,
        created_at BIGINT NOT NULL)`,
      `CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        run_key TEXT NOT NULL,
        trigger TEXT NOT NULL,
        interval_start BIGINT,
        interval_end BIGINT,
        params TEXT NOT NULL,
        state TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        attempt INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 1,
        lease_losses INTEGER NOT NULL DEFAULT 0,
        not_before BIGINT NOT NULL,
        queued_at BIGINT NOT NULL,
        queue_order INTEGER NOT NULL DEFAULT 0,
        started_at BIGINT,
        finished_at BIGINT,
        error TEXT,
        code_hash TEXT,
        lease_owner TEXT,
        lease_expires_at BIGINT,
        fencing_token BIGINT NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        backfill_id TEXT REFERENCES backfills(id),
        UNIQUE (pipeline, run_key))`,
      `CREATE INDEX runs_ready ON runs (state, not_before, priority)`,
      `CREATE INDEX runs_pipeline ON runs (pipeline, queued_at)`,
      `CREATE TABLE tasks (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        rows_in BIGINT,
        rows_out BIGINT,
        error TEXT,
        PRIMARY KEY (run_id, step, attempt))`,
      `CREATE TABLE schedules (
        pipeline TEXT PRIMARY KEY,
        last_interval_end BIGINT NOT NULL,
        updated_at BIGINT NOT NULL)`,
      `CREATE TABLE cursors (
        pipeline TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        run_id TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pipeline, name))`,
      `CREATE TABLE events (
        id {{id}},
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        pipeline TEXT,
        run_id TEXT,
        data TEXT NOT NULL)`,
      `CREATE INDEX events_run ON events (run_id)`,
    ],
  },
  {
    version: 2,
    description: 'runs remember when they missed their SLA',
    statements: [`ALTER TABLE runs ADD COLUMN sla_missed_at BIGINT`],
  },
  {
    version: 3,
    description: 'run caching: cache keys of successful runs, runs that may reuse them',
    statements: [
      `ALTER TABLE runs ADD COLUMN use_cache INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE runs ADD COLUMN cache_key TEXT`,
      `CREATE INDEX runs_cache ON runs (pipeline, cache_key)`,
    ],
  },
  {
    version: 4,
    description: 'concurrency pools',
    statements: [`ALTER TABLE runs ADD COLUMN pool TEXT`],
  },
  {
    version: 5,
    description: 'metric history of datasets, shared by every worker',
    statements: [
      `CREATE TABLE metric_history (id {{id}}, dataset TEXT NOT NULL, line TEXT NOT NULL, at BIGINT NOT NULL)`,
      `CREATE INDEX metric_history_dataset ON metric_history (dataset, id)`,
    ],
  },
  {
    version: 6,
    description: 'tasks remember whether their output came from the task cache',
    statements: [`ALTER TABLE tasks ADD COLUMN cached INTEGER NOT NULL DEFAULT 0`],
  },
  {
    version: 7,
    description: 'stream checkpoints: source positions, watermark and operator state',
    statements: [
      `CREATE TABLE stream_checkpoints (
        stream TEXT NOT NULL,
        checkpoint_id BIGINT NOT NULL,
        snapshot TEXT NOT NULL,
        watermark BIGINT,
        records_in BIGINT NOT NULL,
        records_out BIGINT NOT NULL,
        state_size BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (stream, checkpoint_id))`,
    ],
  },
  {
    version: 8,
    description: 'stream scale-out: partition leases and live workers; source lag at checkpoints',
    statements: [
      'ALTER TABLE stream_checkpoints ADD COLUMN lag BIGINT',
      `CREATE TABLE stream_leases (
        stream TEXT NOT NULL,
        partition_name TEXT NOT NULL,
        owner TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (stream, partition_name))`,
      `CREATE TABLE stream_workers (
        stream TEXT NOT NULL,
        worker TEXT NOT NULL,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (stream, worker))`,
    ],
  },
  {
    version: 9,
    description:
      'pending source state: the new watermarks of a run, saved before its sinks publish, promoted after',
    statements: [
      `CREATE TABLE pending_source_state (
        pipeline TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        cursors TEXT NOT NULL,
        sinks TEXT NOT NULL,
        created_at BIGINT NOT NULL)`,
    ],
  },
  {
    version: 10,
    description: 'API tokens of sluice serve: names, roles and sha256 digests, never the tokens',
    statements: [
      `CREATE TABLE api_tokens (
        name TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT)`,
    ],
  },
  {
    version: 11,
    description:
      'figures of ad-hoc runs (sluice run) waiting for a serving process to export them as metrics',
    statements: [
      `CREATE TABLE adhoc_run_figures (
        id {{id}},
        run_id TEXT NOT NULL UNIQUE,
        figures TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        exported_by TEXT,
        exported_at BIGINT)`,
      'CREATE INDEX adhoc_run_figures_waiting ON adhoc_run_figures (exported_by, id)',
      'CREATE INDEX adhoc_run_figures_age ON adhoc_run_figures (recorded_at)',
    ],
  },
  {
    version: 12,
    description:
      'alerts: incidents by fingerprint, their history, silences, the notification outbox, heartbeats',
    statements: [
      `CREATE TABLE alert_incidents (
        fingerprint TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        state TEXT NOT NULL,
        severity TEXT NOT NULL,
        summary TEXT NOT NULL,
        description TEXT,
        labels TEXT NOT NULL,
        starts_at BIGINT NOT NULL,
        opened_at BIGINT NOT NULL,
        ends_at BIGINT,
        first_notified_at BIGINT,
        last_notified_at BIGINT,
        resolved_notified INTEGER NOT NULL DEFAULT 0,
        acknowledged_at BIGINT,
        acknowledged_by TEXT,
        escalated_at BIGINT,
        route TEXT,
        escalated_to TEXT,
        updated_at BIGINT NOT NULL)`,
      `CREATE INDEX alert_incidents_open ON alert_incidents (state, resolved_notified)`,
      `CREATE TABLE alert_history (
        id {{id}},
        fingerprint TEXT NOT NULL,
        at BIGINT NOT NULL,
        event TEXT NOT NULL,
        data TEXT NOT NULL)`,
      `CREATE INDEX alert_history_fingerprint ON alert_history (fingerprint, id)`,
      `CREATE TABLE alert_silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at BIGINT NOT NULL,
        ends_at BIGINT NOT NULL,
        comment TEXT,
        created_by TEXT,
        created_at BIGINT NOT NULL)`,
      `CREATE TABLE alert_outbox (
        id {{id}},
        route TEXT NOT NULL,
        channel TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        lease_owner TEXT,
        lease_expires_at BIGINT,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        sent_at BIGINT)`,
      `CREATE INDEX alert_outbox_due ON alert_outbox (state, next_attempt_at)`,
      `CREATE TABLE heartbeats (
        component TEXT NOT NULL,
        instance TEXT NOT NULL,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (component, instance))`,
      `CREATE INDEX events_kind ON events (kind, pipeline, id)`,
      `CREATE INDEX runs_finished ON runs (pipeline, finished_at)`,
    ],
  },
  {
    version: 13,
    description:
      'lineage: OpenLineage run events as received, and the dataset and column graph built from them',
    statements: [
      `CREATE TABLE lineage_events (
        id {{id}},
        event_key TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        event_type TEXT,
        event_time BIGINT NOT NULL,
        job_namespace TEXT NOT NULL,
        job_name TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at BIGINT NOT NULL)`,
      `CREATE INDEX lineage_events_run ON lineage_events (run_id, id)`,
      `CREATE TABLE lineage_datasets (
        id {{id}},
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        fields TEXT,
        fields_at BIGINT,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        UNIQUE (namespace, name))`,
      `CREATE INDEX lineage_datasets_name ON lineage_datasets (name)`,
      `CREATE TABLE lineage_jobs (
        id {{id}},
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        current_run_id TEXT,
        current_run_at BIGINT,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        UNIQUE (namespace, name))`,
      `CREATE TABLE lineage_job_datasets (
        job_id BIGINT NOT NULL REFERENCES lineage_jobs(id),
        dataset_id BIGINT NOT NULL REFERENCES lineage_datasets(id),
        direction TEXT NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (job_id, direction, dataset_id))`,
      `CREATE INDEX lineage_job_datasets_dataset ON lineage_job_datasets (dataset_id, direction, job_id)`,
      `CREATE TABLE lineage_fields (
        id {{id}},
        dataset_id BIGINT NOT NULL REFERENCES lineage_datasets(id),
        name TEXT NOT NULL,
        UNIQUE (dataset_id, name))`,
      `CREATE TABLE lineage_column_edges (
        job_id BIGINT NOT NULL REFERENCES lineage_jobs(id),
        output_field_id BIGINT NOT NULL REFERENCES lineage_fields(id),
        input_field_id BIGINT NOT NULL REFERENCES lineage_fields(id),
        transformation_type TEXT NOT NULL,
        transformation_subtype TEXT NOT NULL,
        description TEXT,
        masking INTEGER,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (job_id, output_field_id, input_field_id, transformation_type, transformation_subtype))`,
      `CREATE INDEX lineage_column_edges_input ON lineage_column_edges (input_field_id)`,
      `CREATE INDEX lineage_column_edges_output ON lineage_column_edges (output_field_id)`,
      // the columnLineage facet's dataset list: an input field shaping every field of an output
      `CREATE TABLE lineage_dataset_edges (
        job_id BIGINT NOT NULL REFERENCES lineage_jobs(id),
        output_dataset_id BIGINT NOT NULL REFERENCES lineage_datasets(id),
        input_field_id BIGINT NOT NULL REFERENCES lineage_fields(id),
        transformation_type TEXT NOT NULL,
        transformation_subtype TEXT NOT NULL,
        description TEXT,
        masking INTEGER,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (job_id, output_dataset_id, input_field_id, transformation_type, transformation_subtype))`,
      `CREATE INDEX lineage_dataset_edges_input ON lineage_dataset_edges (input_field_id)`,
      `CREATE INDEX lineage_dataset_edges_output ON lineage_dataset_edges (output_dataset_id)`,
    ],
  },
  {
    version: 14,
    description: 'audit log: an append-only, hash-chained list of control actions and writes',
    statements: [
      `CREATE TABLE audit_log (
        seq BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        pipeline TEXT,
        run_id TEXT,
        dataset TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)`,
      `CREATE INDEX audit_log_at ON audit_log (at)`,
      `CREATE INDEX audit_log_dataset ON audit_log (dataset, seq)`,
      `CREATE INDEX audit_log_pipeline ON audit_log (pipeline, seq)`,
      `CREATE INDEX audit_log_actor ON audit_log (actor, seq)`,
      `ALTER TABLE runs ADD COLUMN triggered_by TEXT`,
    ],
  },
  {
    version: 15,
    description:
      'indexes for the pages of runs of the HTTP API (newest first, by pipeline, by state)',
    statements: [
      `CREATE INDEX runs_page ON runs (queued_at, id)`,
      `CREATE INDEX runs_pipeline_page ON runs (pipeline, queued_at, id)`,
      `CREATE INDEX runs_state_page ON runs (state, queued_at, id)`,
    ],
  },
  {
    version: 16,
    description: "an index for a job's latest lineage events (the API's dataset detail)",
    statements: [
      `CREATE INDEX lineage_events_job ON lineage_events (job_namespace, job_name, event_time, id)`,
    ],
  },
];

/** The newest schema version this copy of Sluice knows. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/**
 * Brings the store's schema up to {@link SCHEMA_VERSION}, applying each missing migration in its
 * own transaction. Concurrent callers (a server and workers starting together) serialise on a
 * lock, so each migration runs once. Refuses a store whose schema is newer than this code.
 *
 * @example
 * ```ts
 * await migrate(await openDatabase('.sluice/sluice.db'));
 * ```
 */
export async function migrate(db: SqlDatabase): Promise<{ applied: number[] }> {
  // Under the lock too: PostgreSQL's CREATE TABLE IF NOT EXISTS fails for all but one of
  // several sessions creating the same table at the same moment.
  await db.transaction(async (tx) => {
    if (tx.dialect === 'postgres')
      await tx.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    await tx.run(
      'CREATE TABLE IF NOT EXISTS sluice_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
  });
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    const ran = await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres')
        await tx.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      const done = await tx.all('SELECT 1 FROM sluice_migrations WHERE version = ?', [
        migration.version,
      ]);
      if (done.length > 0) return false;
      const id =
        tx.dialect === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
      for (const statement of migration.statements)
        await tx.run(statement.replaceAll('{{id}}', id));
      await tx.run(
        'INSERT INTO sluice_migrations (version, description, applied_at) VALUES (?, ?, ?)',
        [migration.version, migration.description, Date.now()],
      );
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  const [newest] = await db.all('SELECT max(version) AS v FROM sluice_migrations');
  const version = Number(newest?.['v'] ?? 0);
  if (version > SCHEMA_VERSION)
    throw new StoreError(
      db.location,
      `its schema is version ${version}, newer than this Sluice knows (${SCHEMA_VERSION})`,
      { hint: 'upgrade Sluice on this machine to the version the other processes run' },
    );
  return { applied };
}

const MIGRATION_LOCK = 7_270_061;
