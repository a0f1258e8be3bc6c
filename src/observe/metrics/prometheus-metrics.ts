import { readFileSync } from 'node:fs';
import type {
  Counter,
  Gauge,
  Histogram,
  OpenMetricsContentType,
  PrometheusContentType,
  Registry,
} from 'prom-client';
import type PromClientModule from 'prom-client';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import type { MetricFamily, MetricKey } from './catalog.js';
import { METRIC_FAMILIES } from './catalog.js';
import type { ExpositionFormat } from './exposition-format.js';
import { EXPOSITION_CONTENT_TYPES, negotiateExposition } from './exposition-format.js';
import type { RunQueueCount, SluiceMetrics } from './recorder.js';

/** Options of {@link createPrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** Told once per family when a value cannot be recorded (a bad label); never thrown. */
  readonly logger?: Logger;
  /** The `version` label of `sluice_build_info` (default: the package's version). */
  readonly version?: string;
}

/** A scrape's answer. */
export interface Exposition {
  readonly contentType: string;
  readonly body: string;
}

/** The recording facade, with what `GET /metrics` answers. */
export interface PrometheusMetrics extends SluiceMetrics {
  /** Writes every family in the format `accept` asks for (see {@link negotiateExposition}). */
  expose(accept?: string): Promise<Exposition>;
}

type Labels = Readonly<Record<string, string>>;
type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/**
 * The facade over prom-client, which is loaded here (not by `sluice --help`). Each family of
 * {@link METRIC_FAMILIES} lives in two registries, one per exposition format, so that a scrape
 * in one format never changes the other (prom-client renames counters while writing
 * OpenMetrics) and only OpenMetrics carries exemplars. A recording is a few map updates: it
 * costs the same whether anyone scrapes or not.
 *
 * @example
 * ```ts
 * const metrics = await createPrometheusMetrics({ logger });
 * metrics.schedulerLoop({ seconds: 0.012 });
 * const { contentType, body } = await metrics.expose(request.headers.get('accept') ?? undefined);
 * ```
 */
export async function createPrometheusMetrics(
  options: PrometheusMetricsOptions = {},
): Promise<PrometheusMetrics> {
  const { default: client } = await import('prom-client');
  const openMetricsRegistry = new client.Registry<OpenMetricsContentType>();
  openMetricsRegistry.setContentType(client.openMetricsContentType);
  const registries: Record<ExpositionFormat, AnyRegistry> = {
    prometheus: new client.Registry(),
    openmetrics: openMetricsRegistry,
  };
  const logger = options.logger ?? silentLogger;
  const warned = new Set<string>();
  const lastPublished = new Map<string, number>();
  let readQueue: (() => Promise<readonly RunQueueCount[]>) | undefined;
  const queueGauge = (key: 'queuedRuns' | 'runningRuns') =>
    async function collect(this: Gauge): Promise<void> {
      this.reset();
      if (readQueue === undefined) return;
      try {
        for (const count of await readQueue())
          this.set(
            { pipeline: count.pipeline },
            key === 'queuedRuns' ? count.queued : count.running,
          );
      } catch (error) {
        warnOnce(key, error);
      }
    };

  const families = new Map<MetricKey, FamilyPair>();
  for (const [key, family] of Object.entries(METRIC_FAMILIES) as [MetricKey, MetricFamily][]) {
    const collect = key === 'queuedRuns' || key === 'runningRuns' ? queueGauge(key) : undefined;
    families.set(key, {
      family,
      prometheus: create(client, family, registries.prometheus, false, collect),
      openmetrics: create(client, family, registries.openmetrics, true, collect),
    });
  }

  function warnOnce(key: string, error: unknown): void {
    if (warned.has(key)) return;
    warned.add(key);
    logger.warn(
      { metric: key, err: error instanceof Error ? error.message : String(error) },
      'a metric could not be recorded; later failures of it are not logged',
    );
  }
  function record(key: MetricKey, write: (pair: FamilyPair) => void): void {
    try {
      write(families.get(key) as FamilyPair);
    } catch (error) {
      warnOnce(key, error);
    }
  }
  const inc = (key: MetricKey, labels: Labels, value: number, runId?: string): void => {
    if (!(value > 0)) return;
    runId = exemplarValue(runId);
    record(key, (pair) => {
      (pair.prometheus as Counter).inc(labels, value);
      const counter = pair.openmetrics as Counter;
      if (runId !== undefined && pair.family.exemplars === true)
        counter.inc({ labels, value, exemplarLabels: { run_id: runId } });
      else if (pair.family.exemplars === true) counter.inc({ labels, value });
      else counter.inc(labels, value);
    });
  };
  const observe = (key: MetricKey, labels: Labels, value: number, runId?: string): void =>
    record(key, (pair) => {
      runId = exemplarValue(runId);
      (pair.prometheus as Histogram).observe(labels, value);
      const histogram = pair.openmetrics as Histogram;
      if (pair.family.exemplars === true)
        histogram.observe({
          labels,
          value,
          ...(runId === undefined ? {} : { exemplarLabels: { run_id: runId } }),
        });
      else histogram.observe(labels, value);
    });
  const set = (key: MetricKey, labels: Labels, value: number): void =>
    record(key, (pair) => {
      (pair.prometheus as Gauge).set(labels, value);
      (pair.openmetrics as Gauge).set(labels, value);
    });

  set(
    'buildInfo',
    { version: options.version ?? packageVersion(), node_version: process.version },
    1,
  );

  return {
    runFinished(event) {
      const labels = { pipeline: event.pipeline };
      if (event.status === 'up_for_retry') inc('retries', labels, 1, event.runId);
      else inc('runs', { ...labels, status: event.status }, 1, event.runId);
      if (event.attempt !== undefined)
        observe(
          'runDuration',
          { ...labels, status: event.attempt.status },
          event.attempt.seconds,
          event.runId,
        );
    },
    stepFinished(event) {
      const labels = { pipeline: event.pipeline, step: event.step };
      if (event.status === 'success' || event.status === 'failed')
        observe('stepDuration', { pipeline: event.pipeline }, event.seconds, event.runId);
      inc('stepSeconds', labels, event.seconds, event.runId);
      if (event.status === 'failed') inc('stepFailures', labels, 1, event.runId);
      if (event.recordsIn !== null)
        inc('stepRecords', { ...labels, direction: 'in' }, event.recordsIn, event.runId);
      if (event.recordsOut !== null)
        inc('stepRecords', { ...labels, direction: 'out' }, event.recordsOut, event.runId);
      inc('stepQuarantined', labels, event.recordsQuarantined, event.runId);
      if (event.sink && event.published && event.recordsOut !== null)
        inc('sinkRowsWritten', labels, event.recordsOut, event.runId);
    },
    datasetChecked(event) {
      const tally = new Map<string, { severity: string; status: string; count: number }>();
      for (const result of event.results) {
        const key = `${result.severity}/${result.status}`;
        const entry = tally.get(key) ?? { ...result, count: 0 };
        entry.count += 1;
        tally.set(key, entry);
      }
      for (const { severity, status, count } of tally.values())
        inc(
          'expectations',
          { pipeline: event.pipeline, dataset: event.dataset, status, severity },
          count,
          event.runId,
        );
      if (event.score !== undefined)
        set('qualityScore', { pipeline: event.pipeline, dataset: event.dataset }, event.score);
    },
    datasetPublished(event) {
      // Figures of ad-hoc runs can arrive after newer ones: the time only moves forward.
      const key = `${event.pipeline}\u0000${event.dataset}`;
      if ((lastPublished.get(key) ?? -Infinity) >= event.at) return;
      lastPublished.set(key, event.at);
      set('lastSuccess', { pipeline: event.pipeline, dataset: event.dataset }, event.at / 1000);
    },
    leaseTakenOver(event) {
      inc('leaseTakeovers', { pipeline: event.pipeline }, 1, event.runId);
    },
    schedulerLoop(event) {
      observe('schedulerLoopDuration', {}, event.seconds);
    },
    scheduleLag(event) {
      observe('schedulerLag', { pipeline: event.pipeline }, Math.max(0, event.seconds));
    },
    alertDelivered(event) {
      inc('alertNotifications', { channel: event.channel, status: event.status }, 1);
    },
    observeRunQueue(read) {
      readQueue = read;
    },
    streamRecords(event) {
      inc(
        'streamRecords',
        { pipeline: event.pipeline, step: event.step, direction: event.direction },
        event.count,
      );
    },
    streamRejected(event) {
      inc(
        event.reason === 'invalid' ? 'streamInvalid' : 'streamLate',
        { pipeline: event.pipeline, step: event.step },
        event.count,
      );
    },
    streamSourceLag(event) {
      const labels = { pipeline: event.pipeline, step: event.step };
      if (event.records !== undefined) set('streamSourceLagRecords', labels, event.records);
      if (event.seconds !== undefined) set('streamSourceLagSeconds', labels, event.seconds);
    },
    streamWatermark(event) {
      set('streamWatermark', { pipeline: event.pipeline }, event.at / 1000);
    },
    streamCheckpoint(event) {
      const labels = { pipeline: event.pipeline };
      observe('checkpointDuration', labels, event.seconds);
      if (!event.ok) inc('checkpointFailures', labels, 1);
      else if (event.bytes !== undefined) set('checkpointSize', labels, event.bytes);
    },
    streamSinkCommit(event) {
      observe('sinkCommitDuration', { pipeline: event.pipeline, step: event.step }, event.seconds);
    },
    streamStateEntries(event) {
      set('stateEntries', { pipeline: event.pipeline, step: event.step }, event.entries);
    },
    lineageEventsDropped(event) {
      inc('lineageEventsDropped', {}, event.count);
    },
    async expose(accept) {
      const format = negotiateExposition(accept);
      return {
        contentType: EXPOSITION_CONTENT_TYPES[format],
        body: await registries[format].metrics(),
      };
    },
  };
}

interface FamilyPair {
  readonly family: MetricFamily;
  readonly prometheus: Counter | Gauge | Histogram;
  readonly openmetrics: Counter | Gauge | Histogram;
}

type PromClient = typeof PromClientModule;

function create(
  client: PromClient,
  family: MetricFamily,
  registry: AnyRegistry,
  openMetrics: boolean,
  collect: ((this: Gauge) => Promise<void>) | undefined,
): Counter | Gauge | Histogram {
  const common = {
    name: family.name,
    help: family.help,
    labelNames: [...family.labels],
    registers: [registry],
  };
  const exemplars = openMetrics && family.exemplars === true;
  switch (family.type) {
    case 'counter':
      return new client.Counter({ ...common, enableExemplars: exemplars });
    case 'gauge':
      return new client.Gauge({ ...common, ...(collect === undefined ? {} : { collect }) });
    case 'histogram':
      return new client.Histogram({
        ...common,
        buckets: [...(family.buckets ?? [])],
        enableExemplars: exemplars,
      });
  }
}

/** OpenMetrics bounds an exemplar's labels to 128 characters; a longer run id is left out. */
function exemplarValue(runId: string | undefined): string | undefined {
  return runId !== undefined && runId.length + 'run_id'.length <= 128 ? runId : undefined;
}

function packageVersion(): string {
  try {
    const manifest = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(manifest) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
