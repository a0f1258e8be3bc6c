import { createHash } from 'node:crypto';

// The namespace of UUIDv5s made from Sluice run ids (itself a v5 of "sluice" in the URL space).
const NAMESPACE = Buffer.from('6f1d3c5e0b7a5c2d9e4f8a1b2c3d4e5f', 'hex');

/**
 * The OpenLineage run id (a UUID) of a Sluice run or step run: a name-based UUIDv5 of the run id
 * (and step id), so every process that knows the run names it the same way.
 *
 * @example
 * ```ts
 * lineageRunId('run_20260101T000000Z_ab12'); // '…-5…-…' (the same every time)
 * lineageRunId('run_20260101T000000Z_ab12', 'orders'); // the step run's id
 * ```
 */
export function lineageRunId(runId: string, stepId?: string): string {
  const name = stepId === undefined ? runId : `${runId}\u0000${stepId}`;
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
