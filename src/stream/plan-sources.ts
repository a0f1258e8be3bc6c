import type { Diagnostic } from '../core/errors.js';
import type { StreamEndpoint, StreamOptions } from '../define/stream.js';
import type { EventTimeSpec } from './event-time.js';
import type { OperatorSpec } from './operator-spec.js';
import type { StreamSourceConnector } from '../contracts/stream-connector.js';
import type { StreamRegistry } from './stream-registry.js';
import type { UnionMember } from './union-source.js';
import { unionEventTime, unionStreamSource } from './union-source.js';

/** Records a problem of the stream being planned (`planStream` lists them all together). */
export type PlanProblem = (code: string, message: string, extra?: Partial<Diagnostic>) => void;

/** A source name: it prefixes partitions (`bids/orders.eu`) and consumer names. */
const SOURCE_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Whether a stream's `source` is one endpoint (`streamSource.nats(...)`) rather than a record of
 * named endpoints.
 *
 * @example
 * ```ts
 * isStreamEndpoint(streamSource.files({ path: 'in' })); // true
 * isStreamEndpoint({ bids: streamSource.files({ path: 'bids' }) }); // false
 * ```
 */
export function isStreamEndpoint(source: StreamOptions['source']): source is StreamEndpoint {
  return typeof (source as { connector?: unknown } | undefined)?.connector === 'string';
}

/**
 * Resolves a stream's named sources into one union source (see {@link unionStreamSource}): each
 * connector looked up and its config validated (paths `source.<name>...`), names checked, and the
 * event time resolved, one spec for all or one per source (every source named, no other). Returns
 * undefined when a problem was recorded.
 *
 * @example
 * ```ts
 * const planned = planSeveralSources({ bids, auctions }, { bids: 'date_time', auctions: 'ts' }, registry, problem);
 * ```
 */
export function planSeveralSources(
  sources: Readonly<Record<string, StreamEndpoint>>,
  eventTime: StreamOptions['eventTime'],
  registry: StreamRegistry,
  record: PlanProblem,
):
  | {
      readonly connector: StreamSourceConnector;
      readonly config: Readonly<Record<string, unknown>>;
      readonly eventTime: EventTimeSpec;
    }
  | undefined {
  let failed = false;
  const problem: PlanProblem = (...args) => {
    failed = true;
    record(...args);
  };
  const names = Object.keys(sources);
  if (names.length === 0)
    problem('invalid-config', 'source names no source', {
      path: 'source',
      hint: 'give one endpoint (streamSource.nats({...})) or a record of named ones ({ bids: streamSource.nats({...}), ... })',
    });
  const members: UnionMember[] = [];
  // Without a prototype: sources are named by users, and `__proto__` must stay an own key.
  const configs = Object.create(null) as Record<string, unknown>;
  const perSource =
    typeof eventTime === 'object' && eventTime !== null
      ? (eventTime as Readonly<Record<string, unknown>>)
      : undefined;
  if (perSource === undefined && typeof eventTime !== 'string' && typeof eventTime !== 'function')
    problem(
      'invalid-config',
      'eventTime must name a column, be a function of the record, or give one of those per source',
      { path: 'eventTime' },
    );
  for (const name of names) {
    const endpoint = sources[name] as StreamEndpoint | undefined;
    const path = `source.${name}`;
    if (!SOURCE_NAME.test(name))
      problem(
        'invalid-config',
        `the source name "${name}" may hold only letters, digits, _ and -`,
        {
          path,
        },
      );
    const spec =
      perSource === undefined
        ? eventTime
        : Object.hasOwn(perSource, name)
          ? perSource[name]
          : undefined;
    if (perSource !== undefined && spec === undefined)
      problem('invalid-config', `eventTime gives no event time for source "${name}"`, {
        path: 'eventTime',
        hint: `add ${name}: '<column>' to eventTime, or give one column for all sources`,
      });
    else if (perSource !== undefined && typeof spec !== 'string' && typeof spec !== 'function')
      problem('invalid-config', 'eventTime must name a column or be a function of the record', {
        path: `eventTime.${name}`,
      });
    const connector = registry.source(String(endpoint?.connector));
    if (connector === undefined) {
      problem('unknown-connector', `no stream source is named "${String(endpoint?.connector)}"`, {
        path,
        hint: `known: ${registry
          .list()
          .filter((c) => c.role === 'stream-source')
          .map((c) => c.name)
          .join(', ')}`,
      });
      continue;
    }
    const parsed = connector.config.safeParse(endpoint?.config);
    if (!parsed.success)
      for (const issue of parsed.error.issues)
        problem('invalid-config', issue.message, {
          path: [path, ...issue.path.map(String)].join('.'),
        });
    configs[name] = parsed.data;
    members.push({ name, connector, eventTime: spec as EventTimeSpec });
  }
  for (const name of Object.keys(perSource ?? {}))
    if (!names.includes(name))
      problem('unknown-source', `eventTime names "${name}", which is not one of the sources`, {
        path: `eventTime.${name}`,
        hint: `the sources are ${names.map((n) => `"${n}"`).join(', ')}`,
      });
  if (failed) return undefined;
  return {
    connector: unionStreamSource(members),
    config: configs,
    eventTime: unionEventTime(eventTime as EventTimeSpec | Readonly<Record<string, EventTimeSpec>>),
  };
}

/**
 * Checks that every `intervalJoin` step joins two of the stream's sources (`names`; undefined
 * for a stream with one source, which has nothing to join).
 *
 * @example
 * ```ts
 * checkJoins(definition.steps ?? [], ['bids', 'auctions'], problem);
 * ```
 */
export function checkJoins(
  steps: readonly OperatorSpec[],
  names: readonly string[] | undefined,
  problem: PlanProblem,
): void {
  steps.forEach((step, index) => {
    if (step.kind !== 'intervalJoin') return;
    const path = `steps[${index}]`;
    if (names === undefined) {
      problem('invalid-config', 'intervalJoin needs a stream with several sources to join', {
        path,
        hint: "name them: source: { bids: streamSource.nats({...}), auctions: streamSource.nats({...}) }, then intervalJoin({ left: 'bids', right: 'auctions', ... })",
      });
      return;
    }
    for (const side of ['left', 'right'] as const)
      if (!names.includes(step.join[side]))
        problem(
          'unknown-source',
          `intervalJoin's ${side} is "${step.join[side]}", which is not one of the sources`,
          {
            path: `${path}.${side}`,
            hint: `the sources are ${names.map((n) => `"${n}"`).join(', ')}`,
          },
        );
  });
}
