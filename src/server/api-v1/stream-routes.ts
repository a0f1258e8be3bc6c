import { z } from 'zod';
import type { Project } from '../../orchestrator/project.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { StreamCheckpoint } from '../../orchestrator/stream-checkpoints.js';
import { StreamCheckpoints } from '../../orchestrator/stream-checkpoints.js';
import { StreamLeases } from '../../orchestrator/stream-leases.js';
import { partitionInstance } from '../../stream/scale-out.js';
import type { RouteSpec } from './route-table.js';
import { defineRoute } from './route-table.js';

/** What the stream routes read. */
export interface StreamRouteDeps {
  readonly store: RunStore;
  readonly project: Project;
}

const CheckpointSchema = z
  .object({
    id: z.number().int().describe('the checkpoint number'),
    at: z.number().describe('when it was committed, epoch ms'),
    position: z
      .string()
      .nullable()
      .describe("the partition's last processed source position (offset, sequence, id)"),
    watermark: z.number().nullable().describe('event-time watermark, epoch ms'),
  })
  .nullable();

const StreamSchema = z
  .object({
    name: z.string(),
    pipeline: z.string().nullable().describe('the project pipeline of that name, if any'),
    partitions: z.array(
      z.object({
        partition: z.string(),
        owner: z.string().nullable().describe('the worker holding its lease (scale-out)'),
        leaseExpiresAt: z.number().nullable(),
        checkpoint: CheckpointSchema,
      }),
    ),
    lastCheckpointAt: z.number().nullable(),
    watermark: z.number().nullable().describe('the lowest watermark of its partitions'),
    recordsIn: z.number().describe('records read since the stream started (all processes)'),
    recordsOut: z.number(),
    stateSize: z.number().describe('window-and-key states and deduplication keys held'),
    lag: z
      .number()
      .nullable()
      .describe('records the source held unread at the last checkpoint, when it can tell'),
    recordsPerSecond: z
      .number()
      .nullable()
      .describe('records read per second between the two newest checkpoints'),
  })
  .describe('Stream');

/**
 * `GET /api/v1/streams`: every stream the run store knows (from its checkpoints and partition
 * leases) with its partitions, their workers and checkpoints, watermark, lag and throughput.
 *
 * @example
 * ```ts
 * mountRoutes(app, streamRoutes({ store, project }), mountOptions);
 * ```
 */
export function streamRoutes(deps: StreamRouteDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/streams',
      role: 'read',
      tag: 'streams',
      summary: 'Streams: partitions and their workers, checkpoints, watermark, lag, throughput',
      description:
        'A stream spread over workers keeps one checkpoint per partition (`<stream>@<partition>`); ' +
        "a single-process stream keeps one checkpoint holding every partition's position.",
      response: z.object({ streams: z.array(StreamSchema) }),
      errors: [],
      handler: async () => {
        const checkpoints = await new StreamCheckpoints(deps.store).list();
        const leases = await new StreamLeases(deps.store).all();
        const pipelines = await deps.project.pipelineFiles().catch(() => new Map<string, string>());
        const streams = new Map<string, StreamParts>();
        const of = (name: string): StreamParts => {
          let parts = streams.get(name);
          if (parts === undefined) {
            parts = { whole: undefined, partitions: new Map() };
            streams.set(name, parts);
          }
          return parts;
        };
        // A partition's checkpoints go by `<stream>@<partition>`: split as its lease says when
        // it has one (either name may hold "@"), else at the first "@".
        const instances = new Map<string, (typeof leases)[number]>(
          leases.map((lease) => [partitionInstance(lease.stream, lease.partition), lease]),
        );
        for (const checkpoint of checkpoints) {
          const lease = instances.get(checkpoint.stream);
          const at = checkpoint.stream.indexOf('@');
          const split =
            lease !== undefined
              ? { stream: lease.stream, partition: lease.partition }
              : at > 0
                ? {
                    stream: checkpoint.stream.slice(0, at),
                    partition: checkpoint.stream.slice(at + 1),
                  }
                : undefined;
          if (split === undefined) {
            of(checkpoint.stream).whole = checkpoint;
            continue;
          }
          const partition = of(split.stream).partitions;
          partition.set(split.partition, { ...(partition.get(split.partition) ?? {}), checkpoint });
        }
        for (const lease of leases) {
          const partition = of(lease.stream).partitions;
          partition.set(lease.partition, {
            ...(partition.get(lease.partition) ?? {}),
            lease: { owner: lease.owner, expiresAt: lease.expiresAt },
          });
        }
        return {
          streams: [...streams.entries()]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([name, parts]) => streamJSON(name, parts, pipelines.has(name))),
        };
      },
    }),
  ];
}

type Checkpoint = StreamCheckpoint & { readonly recordsPerSecond: number | undefined };

interface StreamParts {
  /** The checkpoint of a stream run in one process. */
  whole: Checkpoint | undefined;
  /** Partitions of a scaled-out stream: their own checkpoints and leases. */
  partitions: Map<
    string,
    { checkpoint?: Checkpoint; lease?: { owner: string; expiresAt: number } }
  >;
}

function streamJSON(
  name: string,
  parts: StreamParts,
  isPipeline: boolean,
): z.output<typeof StreamSchema> {
  const partitions: z.output<typeof StreamSchema>['partitions'] = [];
  const whole = parts.whole;
  const wholeSnapshot = whole === undefined ? undefined : snapshotOf(whole.snapshot);
  const names = new Set([
    ...parts.partitions.keys(),
    ...Object.keys(wholeSnapshot?.positions ?? {}),
  ]);
  for (const partition of [...names].sort()) {
    const own = parts.partitions.get(partition);
    const checkpoint = own?.checkpoint;
    let cp: z.output<typeof CheckpointSchema> = null;
    if (checkpoint !== undefined) {
      const snapshot = snapshotOf(checkpoint.snapshot);
      const positions = Object.values(snapshot.positions);
      cp = {
        id: checkpoint.checkpointId,
        at: checkpoint.createdAt,
        position:
          snapshot.positions[partition] ?? (positions.length === 1 ? (positions[0] ?? null) : null),
        watermark: checkpoint.watermark ?? null,
      };
    } else if (whole !== undefined && wholeSnapshot?.positions[partition] !== undefined)
      cp = {
        id: whole.checkpointId,
        at: whole.createdAt,
        position: wholeSnapshot.positions[partition] ?? null,
        watermark: whole.watermark ?? null,
      };
    partitions.push({
      partition,
      owner: own?.lease?.owner ?? null,
      leaseExpiresAt: own?.lease?.expiresAt ?? null,
      checkpoint: cp,
    });
  }
  const all = [
    ...(whole === undefined ? [] : [whole]),
    ...[...parts.partitions.values()].flatMap((p) =>
      p.checkpoint === undefined ? [] : [p.checkpoint],
    ),
  ];
  const watermarks = all.flatMap((c) => (c.watermark === undefined ? [] : [c.watermark]));
  const lags = all.flatMap((c) => (c.lag === undefined ? [] : [c.lag]));
  const rates = all.flatMap((c) => (c.recordsPerSecond === undefined ? [] : [c.recordsPerSecond]));
  const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
  return {
    name,
    pipeline: isPipeline ? name : null,
    partitions,
    lastCheckpointAt: all.length === 0 ? null : Math.max(...all.map((c) => c.createdAt)),
    watermark: watermarks.length === 0 ? null : Math.min(...watermarks),
    recordsIn: sum(all.map((c) => c.recordsIn)),
    recordsOut: sum(all.map((c) => c.recordsOut)),
    stateSize: sum(all.map((c) => c.stateSize)),
    lag: lags.length === 0 ? null : sum(lags),
    recordsPerSecond: rates.length === 0 ? null : sum(rates),
  };
}

/** The parts of a stored snapshot this route shows, read defensively (it is stored JSON). */
function snapshotOf(value: unknown): { positions: Record<string, string> } {
  const object = (v: unknown): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const snapshot = object(value);
  const positions: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, position] of Object.entries(object(snapshot['positions'])))
    if (typeof position === 'string' || typeof position === 'number')
      positions[key] = String(position);
  return { positions };
}
