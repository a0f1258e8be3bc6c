import { SluiceError } from '../core/errors.js';
import type { QuarantineStore } from '../contracts/quarantine-store.js';
import type { StreamPlan, StreamProgress, StreamRunOptions } from './runtime.js';
import { runStream } from './runtime.js';
import type { StreamPartition } from '../contracts/stream-connector.js';

/** A partition's lease as the run store keeps it. */
export interface PartitionLease {
  readonly partition: string;
  readonly owner: string;
  /** Epoch ms after which another worker may take the partition. */
  readonly expiresAt: number;
}

/**
 * Leases on a stream's partitions, kept in the run store so that several processes (on one
 * machine or many) share a stream: a partition is processed by the worker holding its lease.
 *
 * @example
 * ```ts
 * const live = await leases.heartbeat('clicks', 'host-a-4121', 15_000);
 * if (await leases.acquire('clicks', 'clicks.0', 'host-a-4121', 15_000)) startPartition('clicks.0');
 * ```
 */
export interface PartitionLeases {
  /** Marks the worker alive; resolves to the stream's live workers (itself included). */
  heartbeat(stream: string, worker: string, timeoutMs: number): Promise<readonly string[]>;
  /** Takes a free or expired lease, or renews one the worker holds; true when it holds it. */
  acquire(stream: string, partition: string, worker: string, timeoutMs: number): Promise<boolean>;
  /** Gives a lease up (only when the worker holds it). */
  release(stream: string, partition: string, worker: string): Promise<void>;
  /** Removes the worker from the live ones (it stopped). */
  leave(stream: string, worker: string): Promise<void>;
  /** The stream's leases, held or expired. */
  list(stream: string): Promise<readonly PartitionLease[]>;
}

/** Options of {@link runScaledStream}. */
export interface ScaledStreamOptions extends Omit<
  StreamRunOptions,
  'quarantine' | 'halt' | 'onCheckpoint'
> {
  readonly leases: PartitionLeases;
  /** This process's name among the stream's workers; unique per process. */
  readonly worker: string;
  /** The quarantine of one partition (named `<stream>@<partition>`). */
  readonly quarantine: (instance: string) => QuarantineStore;
  readonly onCheckpoint?: (partition: string, progress: StreamProgress) => void;
}

/** Consecutive failures of one partition after which the worker stops with the error. */
const MAX_FAILURES = 3;

/**
 * The name a partition's checkpoints, sink state and consumer go by.
 *
 * @example
 * ```ts
 * partitionInstance('clicks', 'clicks.0'); // "clicks@clicks.0"
 * ```
 */
export function partitionInstance(stream: string, partition: string): string {
  return `${stream}@${partition}`;
}

/** One partition this worker runs, from lease to release. */
interface PartitionRun {
  readonly partition: StreamPartition;
  readonly stop: AbortController;
  readonly halt: AbortController;
  readonly done: Promise<void>;
  /** Stopped to give the partition to another worker, not because this one stops. */
  handedBack: boolean;
}

/**
 * Runs this process's share of a stream spread over several processes: every lease period it
 * says it is alive, takes free or expired partition leases up to its fair share (the partitions
 * divided by the live workers, rounded up), renews the ones it holds, and hands back partitions
 * beyond its share after a final checkpoint, so a new worker gets some. Each partition runs as
 * its own stream (`<stream>@<partition>`) with its own checkpoints, watermark and state; a
 * partition whose worker died is taken over after its lease expires and resumes from its last
 * checkpoint. A partition whose lease was lost is halted without another checkpoint. Resolves,
 * once `signal` aborts and every partition drained, to the partitions held at the end and
 * their progress.
 *
 * @example
 * ```ts
 * const progress = await runScaledStream(plan, { checkpoints, leases, worker: `${hostname()}-${process.pid}`,
 *   quarantine: (name) => new QuarantineStore(join('.sluice/streams', name, 'quarantine'), name), signal, logger });
 * ```
 */
export async function runScaledStream(
  plan: StreamPlan,
  options: ScaledStreamOptions,
): Promise<ReadonlyMap<string, StreamProgress>> {
  const { leases, worker, logger } = options;
  const timeoutMs = plan.scaleOut?.leaseTimeoutMs ?? 15_000;
  const partitions = partitionsOf(plan);
  const running = new Map<string, PartitionRun>();
  const finished = new Map<string, StreamProgress>();
  const failures = new Map<string, number>();
  const started = new Set<string>();
  let failure: unknown;

  const start = (partition: StreamPartition): void => {
    const instance = partitionInstance(plan.name, partition.name);
    const stop = new AbortController();
    const halt = new AbortController();
    const run: PartitionRun = {
      partition,
      stop,
      halt,
      handedBack: false,
      done: runStream(
        {
          ...plan,
          name: instance,
          partition: partition.name,
          source: { ...plan.source, config: partition.config },
        },
        {
          ...options,
          // A replay rebuilds each partition once; taken again later, it resumes.
          fromScratch: options.fromScratch === true && !started.has(partition.name),
          quarantine: options.quarantine(instance),
          signal: stop.signal,
          halt: halt.signal,
          worker,
          onCheckpoint: (progress) => {
            failures.delete(partition.name);
            options.onCheckpoint?.(partition.name, progress);
          },
        },
      ).then(
        async (progress) => {
          running.delete(partition.name);
          if (run.handedBack) finished.delete(partition.name);
          else finished.set(partition.name, progress);
          if (!halt.signal.aborted) await leases.release(plan.name, partition.name, worker);
        },
        async (error: unknown) => {
          running.delete(partition.name);
          if (halt.signal.aborted) return;
          const count = (failures.get(partition.name) ?? 0) + 1;
          failures.set(partition.name, count);
          logger.error(
            { stream: plan.name, partition: partition.name, failures: count, error },
            'stream partition failed; its lease is given up',
          );
          await leases.release(plan.name, partition.name, worker).catch(() => undefined);
          if (count >= MAX_FAILURES) failure ??= error;
        },
      ),
    };
    running.set(partition.name, run);
    started.add(partition.name);
    logger.info({ stream: plan.name, partition: partition.name, worker }, 'partition taken');
  };

  try {
    while (!options.signal.aborted && failure === undefined) {
      const live = await leases.heartbeat(plan.name, worker, timeoutMs);
      const share = Math.ceil(partitions.length / Math.max(1, live.length));
      for (const [name, run] of running) {
        if (run.stop.signal.aborted) continue;
        if (!(await leases.acquire(plan.name, name, worker, timeoutMs))) {
          logger.warn({ stream: plan.name, partition: name, worker }, 'partition lease lost');
          run.halt.abort();
        }
      }
      const active = [...running.values()].filter((r) => !r.stop.signal.aborted);
      for (const run of active.slice(share)) {
        logger.info({ stream: plan.name, partition: run.partition.name }, 'partition handed back');
        run.handedBack = true;
        run.stop.abort();
      }
      if (active.length < share) await takeFree(share - active.length);
      await sleep(timeoutMs / 3, options.signal);
    }
  } finally {
    for (const run of running.values()) run.stop.abort();
    await Promise.all([...running.values()].map((r) => r.done));
    await leases.leave(plan.name, worker).catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
  return finished;

  async function takeFree(wanted: number): Promise<void> {
    const now = Date.now();
    const held = new Map((await leases.list(plan.name)).map((l) => [l.partition, l]));
    let taken = 0;
    for (const partition of partitions) {
      if (taken >= wanted) return;
      if (running.has(partition.name)) continue;
      const lease = held.get(partition.name);
      if (lease !== undefined && lease.owner !== worker && lease.expiresAt >= now) continue;
      if (!(await leases.acquire(plan.name, partition.name, worker, timeoutMs))) continue;
      start(partition);
      taken++;
    }
  }
}

function partitionsOf(plan: StreamPlan): readonly StreamPartition[] {
  const split = plan.source.connector.partitionsOf;
  if (split === undefined)
    throw new SluiceError(
      'CONFIG_INVALID',
      `stream "${plan.name}" has scaleOut, but its source "${plan.source.connector.name}" cannot be split into partitions`,
      {
        hint: 'remove scaleOut and run one process, or use a source that has partitions (nats subjects, redis_stream keys)',
      },
    );
  const partitions = split(plan.source.config);
  if (partitions.length === 0)
    throw new SluiceError('CONFIG_INVALID', `stream "${plan.name}" has no partitions to run`);
  return partitions;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
