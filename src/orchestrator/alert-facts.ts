import { Cron } from 'croner';
import { formatDuration, parseDuration } from '../core/duration.js';
import type { AlertRule } from '../define/alert-rules.js';
import { alertRuleName, alertRuleSchema } from '../define/alert-rules.js';
import type { AlertObservation } from '../observe/alerts/incidents.js';
import { ruleScope } from '../observe/alerts/incidents.js';
import type { SqlDatabase } from './sql-database.js';

type ParsedRule = ReturnType<typeof alertRuleSchema.parse>;
type RuleOf<K extends ParsedRule['kind']> = Extract<ParsedRule, { kind: K }>;

/** A pipeline as the alert engine sees it: its owners, tags and own rules. */
export interface WatchedPipeline {
  readonly name: string;
  readonly owners?: readonly string[];
  readonly tags?: readonly string[];
  readonly rules?: readonly AlertRule[];
}

/** A rule bound to the pipeline it watches (none for dataset, stream and process rules). */
export interface BoundRule {
  readonly name: string;
  readonly rule: ParsedRule;
  readonly pipeline?: WatchedPipeline;
}

const PIPELINE_KINDS = new Set(['run_failed', 'run_deadline', 'quality', 'volume']);

/** Rules parsed before, by identity: a pipeline's rules stay the same objects between passes. */
const parsedRules = new WeakMap<object, ParsedRule>();

function parseRule(rule: AlertRule): ParsedRule {
  let parsed = parsedRules.get(rule);
  if (parsed === undefined) {
    parsed = alertRuleSchema.parse(rule);
    parsedRules.set(rule, parsed);
  }
  return parsed;
}

/**
 * Binds rules to what they watch: a pipeline's own rules to it, a project rule of a pipeline
 * kind to every pipeline (or those its `pipelines` names), other project rules to nothing.
 *
 * @example
 * ```ts
 * const bound = bindAlertRules([{ kind: 'run_failed' }], [{ name: 'orders', owners: ['data-eng'] }]);
 * ```
 */
export function bindAlertRules(
  projectRules: readonly AlertRule[],
  pipelines: readonly WatchedPipeline[],
): BoundRule[] {
  const bound: BoundRule[] = [];
  for (const pipeline of pipelines)
    for (const rule of pipeline.rules ?? []) {
      const parsed = parseRule(rule);
      bound.push({ name: alertRuleName(parsed), rule: parsed, pipeline });
    }
  for (const rule of projectRules) {
    const parsed = parseRule(rule);
    const name = alertRuleName(parsed);
    const watched =
      parsed.pipelines === undefined
        ? pipelines
        : pipelines.filter((p) => parsed.pipelines?.includes(p.name));
    if (PIPELINE_KINDS.has(parsed.kind))
      for (const pipeline of watched) bound.push({ name, rule: parsed, pipeline });
    else bound.push({ name, rule: parsed });
  }
  return bound;
}

/** What one pass of the rules found, and which scopes it looked at. */
export interface CollectedFacts {
  readonly observations: AlertObservation[];
  readonly evaluated: Set<string>;
}

/**
 * Reads the run store's records (runs, events, tasks, stream checkpoints, heartbeats) and
 * reports every rule's firing keys, each kind with a few queries over all pipelines at once.
 *
 * @example
 * ```ts
 * const { observations, evaluated } = await collectAlertFacts(store.db, bound, Date.now());
 * ```
 */
export async function collectAlertFacts(
  db: SqlDatabase,
  rules: readonly BoundRule[],
  now: number,
): Promise<CollectedFacts> {
  const facts: CollectedFacts = { observations: [], evaluated: new Set() };
  const byKind = new Map<string, BoundRule[]>();
  for (const bound of rules) {
    byKind.set(bound.rule.kind, [...(byKind.get(bound.rule.kind) ?? []), bound]);
    facts.evaluated.add(ruleScope(bound.name, bound.pipeline?.name));
  }
  const of = <K extends ParsedRule['kind']>(kind: K): (BoundRule & { rule: RuleOf<K> })[] =>
    (byKind.get(kind) ?? []) as (BoundRule & { rule: RuleOf<K> })[];
  await runFailed(db, of('run_failed'), facts);
  await runDeadline(db, of('run_deadline'), now, facts);
  await quality(db, of('quality'), facts);
  await freshness(db, of('freshness'), now, facts);
  for (const bound of of('volume')) await volume(db, bound, facts);
  for (const bound of of('stream_lag')) await streamLag(db, bound, facts);
  for (const bound of of('watermark_stall')) await watermarkStall(db, bound, now, facts);
  for (const bound of of('checkpoint_failure')) await checkpointFailure(db, bound, now, facts);
  for (const bound of of('worker_down')) await workerDown(db, bound, now, facts);
  for (const bound of of('scheduler_down')) await schedulerDown(db, bound, now, facts);
  return facts;
}

function observe(
  facts: CollectedFacts,
  bound: BoundRule,
  found: Omit<AlertObservation, 'rule' | 'kind' | 'severity' | 'labels' | 'pipeline'>,
): void {
  const labels: Record<string, string> = { ...bound.rule.labels };
  const pipeline = bound.pipeline;
  if (pipeline?.owners !== undefined && pipeline.owners.length > 0)
    labels['owners'] = pipeline.owners.join(',');
  if (pipeline?.tags !== undefined && pipeline.tags.length > 0)
    labels['tags'] = pipeline.tags.join(',');
  facts.observations.push({
    rule: bound.name,
    kind: bound.rule.kind,
    severity: bound.rule.severity ?? 'critical',
    ...(pipeline === undefined ? {} : { pipeline: pipeline.name }),
    labels,
    ...found,
  });
}

/** The newest row per pipeline of a query over runs, by `order`. */
function newestPerPipeline(where: string, order: string, limit = 1): string {
  return `SELECT * FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY ${order}) AS rn
    FROM runs r WHERE ${where}) t WHERE rn <= ${limit}`;
}

async function runFailed(
  db: SqlDatabase,
  rules: readonly (BoundRule & { rule: RuleOf<'run_failed'> })[],
  facts: CollectedFacts,
): Promise<void> {
  if (rules.length === 0) return;
  // The newest finished run of each pipeline (one index scan); where that was canceled, the
  // newest that succeeded or failed (rare, one query each).
  const rows = await db.all(
    `SELECT r.pipeline, r.id, r.state, r.attempt, r.error, r.finished_at FROM runs r
     JOIN (SELECT pipeline, max(finished_at) AS finished_at FROM runs GROUP BY pipeline) l
       ON l.pipeline = r.pipeline AND l.finished_at = r.finished_at
     ORDER BY r.id`,
  );
  // Two runs finishing in the same millisecond: the later id wins.
  const latest = new Map(rows.map((row) => [String(row['pipeline']), row]));
  for (const [pipeline, row] of latest) {
    if (row['state'] !== 'canceled') continue;
    const [before] = await db.all(
      `SELECT pipeline, id, state, attempt, error, finished_at FROM runs
       WHERE pipeline = ? AND state IN ('success', 'failed', 'skipped') AND finished_at IS NOT NULL
       ORDER BY finished_at DESC, id DESC LIMIT 1`,
      [pipeline],
    );
    if (before === undefined) latest.delete(pipeline);
    else latest.set(pipeline, before);
  }
  for (const bound of rules) {
    const row = latest.get(bound.pipeline?.name ?? '');
    if (row === undefined || row['state'] !== 'failed') continue;
    const error = parseJSON(row['error']) as { message?: string; code?: string } | undefined;
    const attempts = Number(row['attempt']);
    observe(facts, bound, {
      summary: `${String(row['pipeline'])} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
      description: `run ${String(row['id'])}: ${error?.message ?? 'no error recorded'}`,
      since: Number(row['finished_at']),
    });
  }
}

async function runDeadline(
  db: SqlDatabase,
  rules: readonly (BoundRule & { rule: RuleOf<'run_deadline'> })[],
  now: number,
  facts: CollectedFacts,
): Promise<void> {
  if (rules.length === 0) return;
  const active = await db.all(
    `SELECT id, pipeline, run_key, queued_at, started_at, interval_end, state FROM runs
     WHERE state IN ('queued', 'running', 'up_for_retry')`,
  );
  const byPipeline = groupBy(active, (row) => String(row['pipeline']));
  const p95Of = await recentP95(
    db,
    Math.max(0, ...rules.map((b) => (b.rule.p95Factor === undefined ? 0 : (b.rule.p95Runs ?? 20)))),
  );
  for (const bound of rules) {
    const { rule } = bound;
    const name = bound.pipeline?.name ?? '';
    for (const row of byPipeline.get(name) ?? []) {
      const queuedAt = Number(row['queued_at']);
      const startedAt = row['started_at'] === null ? undefined : Number(row['started_at']);
      let deadline: number | undefined;
      let why: string;
      if (rule.finishBy !== undefined) {
        const reference = row['interval_end'] === null ? queuedAt : Number(row['interval_end']);
        deadline = nextTimeOfDay(rule.finishBy, rule.timezone ?? 'UTC', reference);
        why = `must finish by ${rule.finishBy} ${rule.timezone ?? 'UTC'}`;
      } else if (rule.afterQueued !== undefined) {
        deadline = queuedAt + parseDuration(rule.afterQueued);
        why = `must finish within ${formatDuration(parseDuration(rule.afterQueued))} of being queued`;
      } else {
        const p95 = p95Of(name, rule.p95Runs ?? 20);
        if (p95 === undefined || startedAt === undefined) continue;
        const allowed = p95 * (rule.p95Factor ?? 1);
        deadline = startedAt + allowed;
        why = `runs longer than ${rule.p95Factor ?? 1} x the p95 of recent runs (${formatDuration(Math.round(allowed))})`;
      }
      if (deadline === undefined || now <= deadline) continue;
      observe(facts, bound, {
        partition: String(row['run_key']),
        summary: `${name} run ${String(row['id'])} is past its deadline (${String(row['state'])})`,
        description: `${why}; deadline ${new Date(deadline).toISOString()}`,
        since: deadline,
      });
    }
  }
}

/** The p95 duration of each pipeline's last `n` successful runs (at least 3 of them). */
async function recentP95(
  db: SqlDatabase,
  most: number,
): Promise<(pipeline: string, n: number) => number | undefined> {
  if (most === 0) return () => undefined;
  const rows = await db.all(
    newestPerPipeline(
      "state = 'success' AND started_at IS NOT NULL AND finished_at IS NOT NULL",
      'finished_at DESC, id DESC',
      most,
    ),
  );
  const durations = new Map(
    [...groupBy(rows, (row) => String(row['pipeline']))].map(([name, list]) => [
      name,
      list.map((row) => Number(row['finished_at']) - Number(row['started_at'])),
    ]),
  );
  return (pipeline, n) => {
    const recent = (durations.get(pipeline) ?? []).slice(0, n).sort((a, b) => a - b);
    if (recent.length < 3) return undefined;
    return recent[Math.min(recent.length - 1, Math.ceil(0.95 * recent.length) - 1)];
  };
}

/**
 * The first instant at or after `reference` whose wall-clock time in `timezone` is `hhmm`.
 *
 * @example
 * ```ts
 * nextTimeOfDay('06:00', 'Europe/Berlin', Date.parse('2026-12-07T00:00:00Z')); // 2026-12-07T05:00:00Z
 * ```
 */
export function nextTimeOfDay(
  hhmm: string,
  timezone: string,
  reference: number,
): number | undefined {
  const [hours, minutes] = hhmm.split(':').map(Number);
  const cron = new Cron(`${minutes} ${hours} * * *`, { timezone, paused: true });
  return cron.nextRun(new Date(reference - 1))?.getTime();
}

async function quality(
  db: SqlDatabase,
  rules: readonly (BoundRule & { rule: RuleOf<'quality'> })[],
  facts: CollectedFacts,
): Promise<void> {
  if (rules.length === 0) return;
  // The quality results of each pipeline's newest run that recorded any.
  const rows = await db.all(
    // `kind || ''` keeps SQLite on the run_id index rather than scanning every result.
    `SELECT pipeline, run_id, data, at FROM events
     WHERE run_id IN (
       SELECT run_id FROM events WHERE id IN (
         SELECT max(id) FROM events WHERE kind = 'quality.result' GROUP BY pipeline))
       AND kind || '' = 'quality.result'`,
  );
  const byPipeline = groupBy(rows, (row) => String(row['pipeline']));
  for (const bound of rules) {
    for (const row of byPipeline.get(bound.pipeline?.name ?? '') ?? []) {
      const result = parseJSON(row['data']) as
        | {
            step: string;
            success: boolean;
            qualityScore: number | null;
            failed: string[];
            evaluated: number;
            successful: number;
          }
        | undefined;
      if (result === undefined) continue;
      if (bound.rule.dataset !== undefined && result.step !== bound.rule.dataset) continue;
      const minScore = bound.rule.minScore;
      const failing =
        minScore === undefined
          ? !result.success
          : result.qualityScore !== null && result.qualityScore < minScore;
      if (!failing) continue;
      const score = result.qualityScore === null ? 'n/a' : result.qualityScore.toFixed(3);
      observe(facts, bound, {
        dataset: result.step,
        summary:
          minScore === undefined
            ? `${result.step}: ${result.failed.length} expectation${result.failed.length === 1 ? '' : 's'} failed`
            : `${result.step}: quality score ${score} is below ${minScore}`,
        description: `run ${String(row['run_id'])}: ${result.successful}/${result.evaluated} expectations passed, score ${score}; failed: ${result.failed.join(', ') || '(none)'}`,
        since: Number(row['at']),
      });
    }
  }
}

async function freshness(
  db: SqlDatabase,
  rules: readonly (BoundRule & { rule: RuleOf<'freshness'> })[],
  now: number,
  facts: CollectedFacts,
): Promise<void> {
  if (rules.length === 0) return;
  const rows = await db.all(
    "SELECT data, max(at) AS at FROM events WHERE kind = 'dataset.updated' GROUP BY data",
  );
  // Each recorded dataset (an output path) under every path suffix: a rule's dataset is the
  // whole path or its end (`out/daily` is `/srv/lake/out/daily`).
  const updated = new Map<string, number>();
  for (const row of rows) {
    const dataset = (parseJSON(row['data']) as { dataset?: unknown } | undefined)?.dataset;
    if (typeof dataset !== 'string') continue;
    const at = Number(row['at']);
    const parts = normalizeDataset(dataset).split('/');
    for (let i = 0; i < parts.length; i++) {
      const suffix = parts.slice(i).join('/');
      if (suffix !== '') updated.set(suffix, Math.max(updated.get(suffix) ?? 0, at));
    }
  }
  for (const bound of rules) {
    const { dataset, maxAge } = bound.rule;
    const limit = parseDuration(maxAge);
    const last = updated.get(normalizeDataset(dataset));
    if (last !== undefined && now - last <= limit) continue;
    observe(facts, bound, {
      dataset,
      summary:
        last === undefined
          ? `${dataset} has never been updated`
          : `${dataset} is stale: last updated ${seconds(now - last)} ago`,
      description: `it must be updated at least every ${formatDuration(limit)}${last === undefined ? '' : `; last update ${new Date(last).toISOString()}`}`,
      ...(last === undefined ? {} : { since: last + limit }),
    });
  }
}

function normalizeDataset(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+$/, '');
}

/** Rows grouped by a key, in their order. */
function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = groups.get(k);
    if (list === undefined) groups.set(k, [row]);
    else list.push(row);
  }
  return groups;
}

async function volume(
  db: SqlDatabase,
  bound: BoundRule & { rule: RuleOf<'volume'> },
  facts: CollectedFacts,
): Promise<void> {
  const { rule } = bound;
  const rows = await db.all(
    `SELECT r.id, t.rows_out, r.finished_at FROM runs r JOIN tasks t ON t.run_id = r.id
     WHERE r.pipeline = ? AND r.state = 'success' AND t.step = ? AND t.state = 'success'
       AND t.rows_out IS NOT NULL
     ORDER BY r.finished_at DESC, t.attempt DESC LIMIT ?`,
    [bound.pipeline?.name ?? '', rule.dataset, (rule.history ?? 10) + 1],
  );
  const [latest, ...earlier] = rows;
  if (latest === undefined) return;
  const rowsOut = Number(latest['rows_out']);
  const problems: string[] = [];
  if (rule.minRows !== undefined && rowsOut < rule.minRows) problems.push(`below ${rule.minRows}`);
  if (rule.maxRows !== undefined && rowsOut > rule.maxRows) problems.push(`above ${rule.maxRows}`);
  if (rule.deviation !== undefined && earlier.length >= 3) {
    const sorted = earlier.map((r) => Number(r['rows_out'])).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    const off = median === 0 ? (rowsOut === 0 ? 0 : Infinity) : Math.abs(rowsOut - median) / median;
    if (off > rule.deviation)
      problems.push(
        `${Number.isFinite(off) ? `${Math.round(off * 100)}%` : 'far'} off the median ${median} of ${earlier.length} runs`,
      );
  }
  if (problems.length === 0) return;
  observe(facts, bound, {
    dataset: rule.dataset,
    summary: `${rule.dataset}: ${rowsOut} rows, ${problems.join(' and ')}`,
    description: `run ${String(latest['id'])} wrote ${rowsOut} rows from step ${rule.dataset}`,
    since: Number(latest['finished_at']),
  });
}

async function latestCheckpoint(db: SqlDatabase, stream: string) {
  const [row] = await db.all(
    'SELECT * FROM stream_checkpoints WHERE stream = ? ORDER BY checkpoint_id DESC LIMIT 1',
    [stream],
  );
  return row;
}

async function streamLag(
  db: SqlDatabase,
  bound: BoundRule & { rule: RuleOf<'stream_lag'> },
  facts: CollectedFacts,
): Promise<void> {
  const row = await latestCheckpoint(db, bound.rule.stream);
  if (row === undefined || row['lag'] === null) return;
  const lag = Number(row['lag']);
  if (lag <= bound.rule.maxLag) return;
  observe(facts, bound, {
    dataset: bound.rule.stream,
    summary: `stream ${bound.rule.stream} lags its source by ${lag} records (limit ${bound.rule.maxLag})`,
    since: Number(row['created_at']),
  });
}

async function watermarkStall(
  db: SqlDatabase,
  bound: BoundRule & { rule: RuleOf<'watermark_stall'> },
  now: number,
  facts: CollectedFacts,
): Promise<void> {
  const { stream } = bound.rule;
  const row = await latestCheckpoint(db, stream);
  if (row === undefined || row['watermark'] === null) return;
  const [first] = await db.all(
    'SELECT min(created_at) AS at FROM stream_checkpoints WHERE stream = ? AND watermark = ?',
    [stream, Number(row['watermark'])],
  );
  const since = Number(first?.['at'] ?? row['created_at']);
  const limit = parseDuration(bound.rule.for);
  if (now - since <= limit) return;
  observe(facts, bound, {
    dataset: stream,
    summary: `stream ${stream}: watermark stuck at ${new Date(Number(row['watermark'])).toISOString()} for ${seconds(now - since)}`,
    since: since + limit,
  });
}

async function checkpointFailure(
  db: SqlDatabase,
  bound: BoundRule & { rule: RuleOf<'checkpoint_failure'> },
  now: number,
  facts: CollectedFacts,
): Promise<void> {
  const { stream } = bound.rule;
  const row = await latestCheckpoint(db, stream);
  if (row === undefined) return;
  const last = Number(row['created_at']);
  const limit = parseDuration(bound.rule.maxAge);
  if (now - last <= limit) return;
  observe(facts, bound, {
    dataset: stream,
    summary: `stream ${stream}: no checkpoint completed for ${seconds(now - last)}`,
    description: `checkpoint ${String(row['checkpoint_id'])} at ${new Date(last).toISOString()} was the last`,
    since: last + limit,
  });
}

async function workerDown(
  db: SqlDatabase,
  bound: BoundRule & { rule: RuleOf<'worker_down'> },
  now: number,
  facts: CollectedFacts,
): Promise<void> {
  const limit = parseDuration(bound.rule.after);
  const rows = await db.all(
    'SELECT stream, worker, seen_at FROM stream_workers WHERE seen_at < ?',
    [now - limit],
  );
  for (const row of rows)
    observe(facts, bound, {
      dataset: String(row['stream']),
      partition: String(row['worker']),
      summary: `stream worker ${String(row['worker'])} of ${String(row['stream'])} not seen for ${seconds(now - Number(row['seen_at']))}`,
      since: Number(row['seen_at']) + limit,
    });
}

async function schedulerDown(
  db: SqlDatabase,
  bound: BoundRule & { rule: RuleOf<'scheduler_down'> },
  now: number,
  facts: CollectedFacts,
): Promise<void> {
  const limit = parseDuration(bound.rule.after);
  const rows = await db.all(
    "SELECT instance, seen_at FROM heartbeats WHERE component = 'scheduler' AND seen_at < ?",
    [now - limit],
  );
  for (const row of rows)
    observe(facts, bound, {
      partition: String(row['instance']),
      summary: `scheduler ${String(row['instance'])} not seen for ${seconds(now - Number(row['seen_at']))}`,
      since: Number(row['seen_at']) + limit,
    });
}

/** A span for a message, to the second. */
function seconds(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000) * 1000));
}

function parseJSON(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}
