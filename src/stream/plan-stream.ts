import type { ZodType } from 'zod';
import { parseDuration } from '../core/duration.js';
import type { Diagnostic } from '../core/errors.js';
import { ConfigError } from '../core/errors.js';
import type { StreamDefinition, StreamEndpoint } from '../define/stream.js';
import type { EventTimeSpec } from './event-time.js';
import { checkJoins, isStreamEndpoint, planSeveralSources } from './plan-sources.js';
import { planSteps } from './plan-steps.js';
import type { StreamPlan } from './runtime.js';
import type { StreamRegistry } from './stream-registry.js';

const DEFAULT_CHECKPOINT_MS = 10_000;
const DEFAULT_MAX_IN_FLIGHT = 10_000;
const DEFAULT_MAX_STATE_ENTRIES = 5_000_000;
const DEFAULT_LEASE_TIMEOUT_MS = 15_000;

/**
 * Checks a stream definition and resolves it into a plan: connectors looked up, their configs
 * validated (every problem listed), durations parsed.
 *
 * @example
 * ```ts
 * const plan = planStream(definition, defaultStreamRegistry);
 * ```
 */
export function planStream(definition: StreamDefinition, registry: StreamRegistry): StreamPlan {
  const problems: Diagnostic[] = [];
  const problem = (code: string, message: string, extra: Partial<Diagnostic> = {}): void => {
    problems.push({ code, message, stepId: definition.name, ...extra });
  };
  // A record of named sources is read as one union source; see plan-sources.ts.
  const named =
    definition.source === undefined || isStreamEndpoint(definition.source)
      ? undefined
      : definition.source;
  const union =
    named === undefined
      ? undefined
      : planSeveralSources(named, definition.eventTime, registry, problem);
  const single =
    named === undefined ? (definition.source as StreamEndpoint | undefined) : undefined;
  const source =
    named === undefined ? registry.source(single?.connector as string) : union?.connector;
  const sink = registry.sink(definition.sink?.connector);
  if (named === undefined && source === undefined)
    problem('unknown-connector', `no stream source is named "${single?.connector}"`, {
      hint: `known: ${registry
        .list()
        .filter((c) => c.role === 'stream-source')
        .map((c) => c.name)
        .join(', ')}`,
    });
  if (sink === undefined)
    problem('unknown-connector', `no stream sink is named "${definition.sink?.connector}"`, {
      hint: `known: ${registry
        .list()
        .filter((c) => c.role === 'stream-sink')
        .map((c) => c.name)
        .join(', ')}`,
    });
  const parse = (endpoint: string, schema: ZodType, config: unknown): unknown => {
    const parsed = schema.safeParse(config);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues)
      problem('invalid-config', issue.message, {
        path: [endpoint, ...issue.path.map(String)].join('.'),
      });
    return undefined;
  };
  const sourceConfig =
    named !== undefined
      ? union?.config
      : source === undefined
        ? undefined
        : parse('source', source.config, single?.config);
  const sinkConfig =
    sink === undefined ? undefined : parse('sink', sink.config, definition.sink.config);
  const lateEndpoint = definition.lateData?.sink;
  const lateSink = lateEndpoint === undefined ? undefined : registry.sink(lateEndpoint.connector);
  if (lateEndpoint !== undefined && lateSink === undefined)
    problem('unknown-connector', `no stream sink is named "${lateEndpoint.connector}"`, {
      path: 'lateData.sink',
    });
  const lateData =
    lateEndpoint === undefined || lateSink === undefined
      ? undefined
      : {
          connector: lateSink,
          config: parse('lateData.sink', lateSink.config, lateEndpoint.config),
        };
  if (
    named === undefined &&
    typeof definition.eventTime !== 'string' &&
    typeof definition.eventTime !== 'function'
  )
    problem('invalid-config', 'eventTime must name a column or be a function of the record', {
      path: 'eventTime',
      ...(typeof definition.eventTime === 'object'
        ? { hint: 'an event time per source needs several named sources' }
        : {}),
    });
  checkJoins(definition.steps ?? [], named === undefined ? undefined : Object.keys(named), problem);
  const duration = (value: string | number | undefined, fallback: number, path: string): number => {
    if (value === undefined) return fallback;
    try {
      return parseDuration(value);
    } catch (error) {
      problem('invalid-config', (error as Error).message, { path });
      return fallback;
    }
  };
  const maxOutOfOrdernessMs = duration(
    definition.watermark?.maxOutOfOrderness,
    0,
    'watermark.maxOutOfOrderness',
  );
  const idle = definition.watermark?.idleTimeout;
  const idleTimeoutMs = idle === undefined ? undefined : duration(idle, 0, 'watermark.idleTimeout');
  const checkpointEveryMs = duration(
    definition.checkpoint?.every,
    DEFAULT_CHECKPOINT_MS,
    'checkpoint.every',
  );
  const maxBatch = definition.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    problem('invalid-config', `maxInFlight must be a positive integer, got ${maxBatch}`, {
      path: 'maxInFlight',
    });
  const maxStateEntries = definition.state?.maxEntries ?? DEFAULT_MAX_STATE_ENTRIES;
  if (!Number.isInteger(maxStateEntries) || maxStateEntries < 1)
    problem(
      'invalid-config',
      `state.maxEntries must be a positive integer, got ${maxStateEntries}`,
      { path: 'state.maxEntries' },
    );
  const scaleOut = definition.scaleOut;
  const leaseTimeoutMs =
    scaleOut === undefined || scaleOut === false
      ? undefined
      : duration(
          scaleOut === true ? undefined : scaleOut.leaseTimeout,
          DEFAULT_LEASE_TIMEOUT_MS,
          'scaleOut.leaseTimeout',
        );
  if (leaseTimeoutMs !== undefined && named !== undefined)
    problem(
      'invalid-config',
      'scaleOut cannot spread a stream with several sources: records of both sides of a join must meet in one process',
      { path: 'scaleOut', hint: 'remove scaleOut' },
    );
  if (
    leaseTimeoutMs !== undefined &&
    named === undefined &&
    source !== undefined &&
    source.partitionsOf === undefined
  )
    problem(
      'invalid-config',
      `scaleOut needs a source with partitions; "${source.name}" has none`,
      {
        path: 'scaleOut',
        hint: 'use a nats source with several subjects or a redis_stream source with several keys, or remove scaleOut',
      },
    );
  const operators = planSteps(definition.steps ?? [], problem);
  if (problems.length > 0 || source === undefined || sink === undefined)
    throw new ConfigError(problems);
  return {
    name: definition.name,
    source: { connector: source, config: sourceConfig },
    sink: { connector: sink, config: sinkConfig },
    ...(lateData === undefined ? {} : { lateData }),
    eventTime: union?.eventTime ?? (definition.eventTime as EventTimeSpec),
    maxOutOfOrdernessMs,
    ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
    operators,
    checkpointEveryMs,
    maxBatch,
    maxStateEntries,
    ...(leaseTimeoutMs === undefined ? {} : { scaleOut: { leaseTimeoutMs } }),
  };
}
