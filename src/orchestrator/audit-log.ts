import { UsageError } from '../core/errors.js';
import type { AuditBreak, AuditEntry, AuditTarget } from '../observe/audit/audit-chain.js';
import { AuditChainChecker, GENESIS_HASH, auditEntryHash } from '../observe/audit/audit-chain.js';
import type { CanonicalValue } from '../observe/audit/canonical-json.js';
import { canonicalJSON } from '../observe/audit/canonical-json.js';
import type { SqlDatabase, SqlRow, SqlValue } from './sql-database.js';

/**
 * The actor of what the process does by itself (a worker publishing a run nobody is known to
 * have asked for); the scheduler records {@link SCHEDULER_ACTOR}.
 */
export const SYSTEM_ACTOR = 'system';
/** The actor of runs the scheduler and sensors create. */
export const SCHEDULER_ACTOR = 'scheduler';

/** What to append: everything but seq, time and the hashes, which the log assigns. */
export interface AuditAppend {
  readonly actor: string;
  /** Dotted, e.g. `run.trigger`, `dataset.write`, `token.create`. */
  readonly action: string;
  readonly target?: AuditTarget;
  readonly detail?: { readonly [key: string]: CanonicalValue };
}

/** Filters of {@link AuditLog.list}. */
export interface AuditQuery {
  readonly dataset?: string;
  readonly pipeline?: string;
  readonly actor?: string;
  /** Entries at or after this time (epoch ms). */
  readonly since?: number;
  /** Newest entries first; default 100. */
  readonly limit?: number;
}

/** What {@link AuditLog.verify} found. */
export interface AuditVerification {
  /** Entries checked and found good. */
  readonly checked: number;
  /** The last good entry (seq 0 and the genesis hash for an empty log). */
  readonly head: { readonly seq: number; readonly hash: string };
  /** The first entry that breaks the chain, when one does. */
  readonly broken?: AuditBreak;
}

/** A PostgreSQL advisory lock key all audit appends take, so the chain never forks. */
const AUDIT_LOCK = 7_270_014;
/** Longest text kept in one column: a target or actor longer than this is refused. */
const MAX_TEXT = 4_096;

/**
 * The audit log of the run store: an append-only list of entries, each carrying the hash of the
 * one before it (see `observe/audit`). Appends are serialised (a PostgreSQL advisory lock held to
 * the end of the transaction; SQLite's write lock) and `seq` is the primary key, so two writers
 * can never give two entries the same place in the chain.
 *
 * @example
 * ```ts
 * const audit = new AuditLog(store.db);
 * await audit.append({ actor: 'user:alice', action: 'pipeline.pause', target: { pipeline: 'orders' } });
 * const { broken } = await audit.verify();
 * ```
 */
export class AuditLog {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  /**
   * Appends entries in one transaction, in order (inside the caller's transaction when `db` is
   * one: the entries commit or roll back with what they describe). Call it last in a
   * transaction: the append lock is then held only while the entries are written.
   */
  async append(...entries: readonly AuditAppend[]): Promise<readonly AuditEntry[]> {
    if (entries.length === 0) return [];
    for (const entry of entries) checkAppend(entry);
    return this.#db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(?)', [AUDIT_LOCK]);
      const [last] = await tx.all('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      let seq = last === undefined ? 0 : Number(last['seq']);
      let prevHash = last === undefined ? GENESIS_HASH : String(last['hash']);
      const written: AuditEntry[] = [];
      const time = Date.now();
      for (const entry of entries) {
        seq += 1;
        const content = {
          seq,
          time,
          actor: entry.actor,
          action: entry.action,
          target: entry.target ?? {},
          detail: entry.detail ?? {},
          prevHash,
        };
        const hash = auditEntryHash(content);
        const values: SqlValue[] = [
          seq,
          time,
          content.actor,
          content.action,
          content.target.pipeline ?? null,
          content.target.runId ?? null,
          content.target.dataset ?? null,
          canonicalJSON(content.detail),
          prevHash,
          hash,
        ];
        await tx.run(
          `INSERT INTO audit_log (seq, at, actor, action, pipeline, run_id, dataset, detail, prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          values,
        );
        written.push({ ...content, hash });
        prevHash = hash;
      }
      return written;
    });
  }

  /** Entries matching every filter given, newest first. */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const filter = (sql: string, value: SqlValue | undefined): void => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    filter('dataset = ?', query.dataset);
    filter('pipeline = ?', query.pipeline);
    filter('actor = ?', query.actor);
    filter('at >= ?', query.since);
    const rows = await this.#db.all(
      `SELECT * FROM audit_log ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
       ORDER BY seq DESC LIMIT ?`,
      [...params, query.limit ?? 100],
    );
    return rows.map((row) => {
      const entry = auditRecord(row);
      if (typeof entry === 'string')
        throw new UsageError(`audit entry ${String(row['seq'])} is unreadable: ${entry}`, {
          hint: 'run sluice audit verify: the entry was edited outside Sluice',
        });
      return entry;
    });
  }

  /** The newest entry's seq and hash: what to export to prove later that no tail was cut. */
  async head(): Promise<{ readonly seq: number; readonly hash: string }> {
    const [last] = await this.#db.all('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    return last === undefined
      ? { seq: 0, hash: GENESIS_HASH }
      : { seq: Number(last['seq']), hash: String(last['hash']) };
  }

  /**
   * Walks the whole chain from seq 1 in pages and stops at the first entry that breaks it:
   * a gap in seq (deleted), a prev_hash that is not the previous entry's hash (replaced or
   * reordered), or a hash that does not match the entry's content (edited).
   */
  async verify(options: { readonly pageSize?: number } = {}): Promise<AuditVerification> {
    const pageSize = options.pageSize ?? 5_000;
    const checker = new AuditChainChecker();
    let after = 0;
    for (;;) {
      const rows = await this.#db.all(
        'SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?',
        [after, pageSize],
      );
      for (const row of rows) {
        const entry = auditRecord(row);
        const broken =
          typeof entry === 'string'
            ? { seq: Number(row['seq']), reason: entry }
            : checker.check(entry);
        if (broken !== undefined) return { checked: checker.checked, head: checker.head, broken };
      }
      if (rows.length < pageSize) return { checked: checker.checked, head: checker.head };
      after = Number(rows[rows.length - 1]?.['seq']);
    }
  }
}

function checkAppend(entry: AuditAppend): void {
  const texts: [string, string | undefined][] = [
    ['actor', entry.actor],
    ['action', entry.action],
    ['target.pipeline', entry.target?.pipeline],
    ['target.runId', entry.target?.runId],
    ['target.dataset', entry.target?.dataset],
  ];
  for (const [name, value] of texts) {
    if (value === undefined) continue;
    if (value === '' && (name === 'actor' || name === 'action'))
      throw new UsageError(`an audit entry needs a non-empty ${name}`, {
        hint: 'name who did it (user:<name>, token:<name>, scheduler, system)',
      });
    if (value.includes('\u0000'))
      throw new UsageError(`the audit entry's ${name} holds a NUL character`, {
        hint: 'names with NUL cannot be stored in PostgreSQL text; rename it',
      });
    if (value.length > MAX_TEXT)
      throw new UsageError(
        `the audit entry's ${name} is ${value.length} characters long (at most ${MAX_TEXT})`,
        { hint: 'use a shorter name' },
      );
  }
  // Refuses what the canonical encoding cannot hold before anything is written.
  canonicalJSON(entry.detail ?? {});
}

/** The entry of a row, or why the row cannot be one. */
function auditRecord(row: SqlRow): AuditEntry | string {
  let detail: unknown;
  try {
    detail = JSON.parse(String(row['detail']));
  } catch {
    return 'its detail is not JSON (edited)';
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
    return 'its detail is not a JSON object (edited)';
  const optional = (key: string): string | undefined =>
    row[key] === null || row[key] === undefined ? undefined : String(row[key]);
  const pipeline = optional('pipeline');
  const runId = optional('run_id');
  const dataset = optional('dataset');
  return {
    seq: Number(row['seq']),
    time: Number(row['at']),
    actor: String(row['actor']),
    action: String(row['action']),
    target: {
      ...(pipeline === undefined ? {} : { pipeline }),
      ...(runId === undefined ? {} : { runId }),
      ...(dataset === undefined ? {} : { dataset }),
    },
    detail: detail as AuditEntry['detail'],
    prevHash: String(row['prev_hash']),
    hash: String(row['hash']),
  };
}
