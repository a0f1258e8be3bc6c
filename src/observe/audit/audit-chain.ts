import { createHash } from 'node:crypto';
import type { CanonicalValue } from './canonical-json.js';
import { canonicalJSON } from './canonical-json.js';

/** The `prev_hash` of the first entry of a chain: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** What an audit entry is about; every part is optional. */
export interface AuditTarget {
  readonly pipeline?: string;
  readonly runId?: string;
  readonly dataset?: string;
}

/**
 * One entry of the audit log, as hashed. `seq` counts from 1 without gaps; `time` is epoch ms;
 * `detail` is a JSON object.
 *
 * @example
 * ```ts
 * const entry: AuditEntry = {
 *   seq: 1, time: 1_700_000_000_000, actor: 'user:alice', action: 'pipeline.pause',
 *   target: { pipeline: 'orders' }, detail: {}, prevHash: GENESIS_HASH, hash: '...',
 * };
 * ```
 */
export interface AuditEntry {
  readonly seq: number;
  readonly time: number;
  readonly actor: string;
  readonly action: string;
  readonly target: AuditTarget;
  readonly detail: { readonly [key: string]: CanonicalValue };
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * The SHA-256 (lower-case hex) of an entry: over the canonical JSON of
 * `["sluice-audit-1", seq, time, actor, action, {dataset, pipeline, runId}, detail, prevHash]`,
 * a missing target part being `null`. The leading tag names the encoding, so a later one
 * cannot be mistaken for it.
 *
 * @example
 * ```ts
 * const hash = auditEntryHash({ seq: 1, time: Date.now(), actor: 'system', action: 'run.write',
 *   target: { dataset: 'lake/orders' }, detail: { rows: 10 }, prevHash: GENESIS_HASH });
 * ```
 */
export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(auditEntryEncoding(entry), 'utf8').digest('hex');
}

/**
 * The canonical text {@link auditEntryHash} hashes, for anyone re-computing a hash elsewhere.
 *
 * @example
 * ```ts
 * auditEntryEncoding(entry); // '["sluice-audit-1",1,1700000000000,"system",...]'
 * ```
 */
export function auditEntryEncoding(entry: Omit<AuditEntry, 'hash'>): string {
  return canonicalJSON([
    'sluice-audit-1',
    entry.seq,
    entry.time,
    entry.actor,
    entry.action,
    {
      dataset: entry.target.dataset ?? null,
      pipeline: entry.target.pipeline ?? null,
      runId: entry.target.runId ?? null,
    },
    entry.detail,
    entry.prevHash,
  ]);
}

/**
 * Where a chain breaks: the first entry that does not follow from the one before it, and why.
 *
 * @example
 * ```ts
 * const broken: AuditBreak = { seq: 7, reason: 'its hash does not match its content (edited)' };
 * ```
 */
export interface AuditBreak {
  readonly seq: number;
  readonly reason: string;
}

/**
 * Checks a chain one entry at a time, in `seq` order, so a long log is verified without holding
 * it in memory. Each entry must have the next `seq`, carry the previous entry's hash as its
 * `prevHash` (the genesis hash for seq 1), and hash to its own `hash`.
 *
 * @example
 * ```ts
 * const checker = new AuditChainChecker();
 * for (const entry of entries) {
 *   const broken = checker.check(entry);
 *   if (broken !== undefined) throw new Error(`entry ${broken.seq}: ${broken.reason}`);
 * }
 * ```
 */
export class AuditChainChecker {
  #expectedSeq: number;
  #previousHash: string;
  #checked = 0;

  /** Starts at the chain's beginning, or after an entry known to be good (`from`). */
  constructor(from?: { readonly seq: number; readonly hash: string }) {
    this.#expectedSeq = (from?.seq ?? 0) + 1;
    this.#previousHash = from?.hash ?? GENESIS_HASH;
  }

  /** Entries checked and found good so far. */
  get checked(): number {
    return this.#checked;
  }

  /** The last good entry's seq and hash (seq 0 and the genesis hash before any). */
  get head(): { readonly seq: number; readonly hash: string } {
    return { seq: this.#expectedSeq - 1, hash: this.#previousHash };
  }

  /** Undefined when `entry` follows the chain so far (it is then the new head), else why not. */
  check(entry: AuditEntry): AuditBreak | undefined {
    if (entry.seq !== this.#expectedSeq)
      return {
        seq: entry.seq,
        reason:
          entry.seq > this.#expectedSeq
            ? entry.seq - 1 > this.#expectedSeq
              ? `entries ${this.#expectedSeq} to ${entry.seq - 1} are missing (deleted)`
              : `entry ${this.#expectedSeq} is missing (deleted)`
            : `its seq repeats or goes back after ${this.#expectedSeq - 1} (reordered)`,
      };
    if (entry.prevHash !== this.#previousHash)
      return {
        seq: entry.seq,
        reason: `its prev_hash ${short(entry.prevHash)} is not the hash of entry ${entry.seq - 1} (${short(this.#previousHash)}): an entry before it was replaced, or entries were reordered`,
      };
    let computed: string;
    try {
      computed = auditEntryHash(entry);
    } catch (error) {
      return { seq: entry.seq, reason: `its content cannot be encoded: ${String(error)}` };
    }
    if (computed !== entry.hash)
      return {
        seq: entry.seq,
        reason: `its hash ${short(entry.hash)} does not match its content (${short(computed)}): the entry was edited`,
      };
    this.#expectedSeq += 1;
    this.#previousHash = entry.hash;
    this.#checked += 1;
    return undefined;
  }
}

function short(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 12)}...` : JSON.stringify(hash);
}
