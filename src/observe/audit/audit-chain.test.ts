import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from './audit-chain.js';
import {
  AuditChainChecker,
  GENESIS_HASH,
  auditEntryEncoding,
  auditEntryHash,
} from './audit-chain.js';
import { canonicalJSON } from './canonical-json.js';

function chain(count: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const content = {
      seq,
      time: 1_700_000_000_000 + seq,
      actor: seq % 2 === 0 ? 'user:alice' : 'token:ci',
      action: 'dataset.write',
      target: { pipeline: 'orders', dataset: `lake/t${seq}` },
      detail: { rows: seq * 10, mode: 'append' },
      prevHash,
    };
    const hash = auditEntryHash(content);
    entries.push({ ...content, hash });
    prevHash = hash;
  }
  return entries;
}

function firstBreak(entries: readonly AuditEntry[]) {
  const checker = new AuditChainChecker();
  for (const entry of entries) {
    const broken = checker.check(entry);
    if (broken !== undefined) return broken;
  }
  return undefined;
}

describe('canonicalJSON', () => {
  it('sorts keys at every depth whatever the insertion order, with no spaces', () => {
    expect(canonicalJSON({ b: 1, a: { d: [1, { z: 0, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[1,{"y":null,"z":0}]},"b":1}',
    );
    expect(canonicalJSON({ a: 1, b: 2 })).toBe(canonicalJSON({ b: 2, a: 1 }));
  });

  it('sorts by UTF-16 code units and keeps unicode and quotes exact', () => {
    expect(canonicalJSON({ é: 1, z: 2, '\u{1F600}': 3, 'a"b': 4 })).toBe(
      '{"a\\"b":4,"z":2,"é":1,"\u{1F600}":3}',
    );
  });

  it('refuses what JSON cannot hold unchanged, naming where', () => {
    expect(() => canonicalJSON({ a: [1, Number.NaN] })).toThrow(/\$\.a\[1\] is NaN/);
    expect(() => canonicalJSON({ a: Infinity })).toThrow(/Infinity/);
    expect(() => canonicalJSON({ a: undefined })).toThrow(/\$\.a is undefined/);
    expect(() => canonicalJSON({ when: new Date(0) })).toThrow(/not a plain object/);
    expect(() => canonicalJSON({ n: 10n })).toThrow(/bigint/);
  });
});

describe('auditEntryHash', () => {
  it('is the SHA-256 of the documented canonical encoding', () => {
    const entry = {
      seq: 1,
      time: 5,
      actor: 'system',
      action: 'pipeline.pause',
      target: { pipeline: 'p' },
      detail: {},
      prevHash: GENESIS_HASH,
    };
    const encoding = `["sluice-audit-1",1,5,"system","pipeline.pause",{"dataset":null,"pipeline":"p","runId":null},{},"${GENESIS_HASH}"]`;
    expect(auditEntryEncoding(entry)).toBe(encoding);
    expect(auditEntryHash(entry)).toBe(createHash('sha256').update(encoding).digest('hex'));
  });

  it('changes with every field, so no field can be edited unseen', () => {
    const [entry] = chain(1) as [AuditEntry];
    const base = auditEntryHash(entry);
    const variants = [
      { ...entry, seq: 2 },
      { ...entry, time: entry.time + 1 },
      { ...entry, actor: 'user:mallory' },
      { ...entry, action: 'dataset.read' },
      { ...entry, target: { ...entry.target, runId: 'run_x' } },
      { ...entry, target: { pipeline: 'orders' } },
      { ...entry, detail: { rows: 11, mode: 'append' } },
      { ...entry, prevHash: '1'.repeat(64) },
    ];
    const hashes = new Set(variants.map((v) => auditEntryHash(v)));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(base)).toBe(false);
  });

  it('does not confuse a target part moved to another (dataset vs pipeline)', () => {
    const [entry] = chain(1) as [AuditEntry];
    expect(auditEntryHash({ ...entry, target: { dataset: 'x' } })).not.toBe(
      auditEntryHash({ ...entry, target: { pipeline: 'x' } }),
    );
  });
});

describe('AuditChainChecker', () => {
  it('accepts an intact chain and reports its head', () => {
    const entries = chain(5);
    const checker = new AuditChainChecker();
    for (const entry of entries) expect(checker.check(entry)).toBeUndefined();
    expect(checker.checked).toBe(5);
    expect(checker.head).toEqual({ seq: 5, hash: entries[4]?.hash });
  });

  it('names an edited entry', () => {
    const entries = chain(5);
    entries[2] = { ...(entries[2] as AuditEntry), detail: { rows: 0, mode: 'append' } };
    expect(firstBreak(entries)).toMatchObject({ seq: 3, reason: expect.stringMatching(/edited/) });
  });

  it('names the entry after a re-hashed edit: its prev_hash no longer matches', () => {
    const entries = chain(5);
    const edited = { ...(entries[1] as AuditEntry), actor: 'user:mallory' };
    entries[1] = { ...edited, hash: auditEntryHash(edited) };
    expect(firstBreak(entries)).toMatchObject({
      seq: 3,
      reason: expect.stringMatching(/prev_hash .* is not the hash of entry 2/),
    });
  });

  it('names a gap (a deleted entry) and a repeated seq (reordered rows)', () => {
    const entries = chain(6);
    expect(firstBreak([...entries.slice(0, 2), ...entries.slice(4)])).toMatchObject({
      seq: 5,
      reason: 'entries 3 to 4 are missing (deleted)',
    });
    const swapped = [entries[0], entries[2], entries[1]] as AuditEntry[];
    expect(firstBreak(swapped)).toMatchObject({ seq: 3, reason: 'entry 2 is missing (deleted)' });
    const moved = [entries[0], { ...(entries[2] as AuditEntry), seq: 2 }] as AuditEntry[];
    expect(firstBreak(moved)).toMatchObject({ seq: 2, reason: expect.stringMatching(/prev_hash/) });
  });

  it('starts after a known good entry', () => {
    const entries = chain(4);
    const from = entries[1] as AuditEntry;
    const checker = new AuditChainChecker({ seq: from.seq, hash: from.hash });
    expect(checker.check(entries[2] as AuditEntry)).toBeUndefined();
    expect(checker.check(entries[3] as AuditEntry)).toBeUndefined();
    expect(checker.head.seq).toBe(4);
  });
});
