/**
 * A child process that executes runs for a `RunProcessPool` (isolated-run.ts), one at a time: for each it
 * loads the pipeline file, runs it with the run store's source state, and reports events, log
 * lines and the report to its parent over IPC. The parent stops a run (politely, then by
 * SIGKILL of this process) when it times out or is canceled, so user code that never yields
 * cannot hold a run past its limit.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SluiceError, describeCause } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { runPipeline } from '../engine/executor.js';
import type { Pipeline } from '../define/pipeline.js';
import { loadPipelineFile, pipelineCodeHash } from '../plan/load-pipeline-file.js';
import { MetricHistoryStore } from '../quality/metric-history.js';
import { LineageEmitter } from '../observe/lineage/lineage-emitter.js';
import type { HostMessage, IsolatedRunRequest, ParentMessage } from './isolated-run.js';
import { errorToWire } from './isolated-run.js';
import { RunStore } from './run-store.js';
import { readSourceState, resolvePendingState, sourceStateHooks } from './source-state.js';

/** The run in progress, if any. */
let current: AbortController | undefined;

function send(message: HostMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** A logger whose lines are written by the parent's logger, with this child's bindings. */
function parentLogger(bindings: Record<string, unknown>): Logger {
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (fields: object, message?: string): void =>
      void send({ type: 'log', level, bindings, fields: { ...fields }, message });
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: (more) => parentLogger({ ...bindings, ...more }),
  };
}

/** Pipelines loaded by an earlier run of this process, by file and code hash. */
const pipelines = new Map<string, Pipeline>();
/** Stores opened by an earlier run of this process, kept open for the next. */
const stores = new Map<string, Promise<RunStore>>();

async function pipelineOf(file: string): Promise<Pipeline> {
  const hash = await pipelineCodeHash(file).catch(() => undefined);
  // A file that cannot be read: loading it says why (PIPELINE_LOAD_FAILED with a hint).
  if (hash === undefined) return loadPipelineFile(file);
  const key = `${file}\0${hash}`;
  let pipeline = pipelines.get(key);
  if (pipeline === undefined) {
    pipeline = await loadPipelineFile(file);
    pipelines.set(key, pipeline);
  }
  return pipeline;
}

function storeAt(location: string): Promise<RunStore> {
  let store = stores.get(location);
  if (store === undefined) {
    store = RunStore.open(location);
    stores.set(location, store);
    store.catch(() => stores.delete(location));
  }
  return store;
}

async function execute(request: IsolatedRunRequest, abort: AbortController): Promise<void> {
  const logger = parentLogger({});
  const pipeline = await pipelineOf(request.file);
  const { timeout } = pipeline.orchestration;
  await send({
    type: 'loaded',
    pipeline: { name: pipeline.name, ...(timeout === undefined ? {} : { timeout }) },
  });
  const store = request.store === undefined ? undefined : await storeAt(request.store);
  let watermarks: Readonly<Record<string, string>> = {};
  if (store !== undefined && request.fullRefresh !== true) {
    await resolvePendingState(store, pipeline, {
      logger,
      ...(request.baseDir === undefined ? {} : { baseDir: request.baseDir }),
    });
    watermarks = await readSourceState(store, pipeline);
  }
  // Events go to the parent, which holds the transports (and ends the runs of a killed child).
  const lineage =
    request.lineage === undefined
      ? undefined
      : LineageEmitter.create({
          namespace: request.lineage.namespace,
          logger,
          // The parent derives SQL steps' column lineage: its parser loads once, off the run.
          columnLineage: 'forward',
          // Not waiting for each message's callback: a run whose code then blocks the event
          // loop has still handed its events to the channel, in order, before the report.
          transports: [
            { name: 'parent', send: async (event) => void send({ type: 'lineage', event }) },
          ],
        });
  const report = await runPipeline(pipeline, {
    params: request.params,
    watermarks,
    runId: request.runId,
    stateDir: request.stateDir,
    logger,
    signal: abort.signal,
    onEvent: (event) => void send({ type: 'event', event }),
    ...(request.baseDir === undefined ? {} : { baseDir: request.baseDir }),
    ...(request.fullRefresh === true ? { fullRefresh: true } : {}),
    ...(request.actor === undefined ? {} : { actor: request.actor }),
    ...(request.cache === undefined ? {} : { cache: request.cache }),
    ...(lineage === undefined ? {} : { lineage }),
    ...(request.interval === undefined ? {} : { interval: request.interval }),
    ...(request.attempt === undefined ? {} : { attempt: request.attempt }),
    ...(store === undefined
      ? {}
      : {
          sourceState: sourceStateHooks(store, pipeline.name, {
            commit: request.commitSourceState,
          }),
          ...(request.metricHistoryInStore === true
            ? {
                metricHistory: MetricHistoryStore.onLog(store.metricHistoryLog(), { logger }),
              }
            : {}),
        }),
  });
  // The parent stops listening at the report: every event goes before it.
  await lineage?.flush(10_000);
  await send({ type: 'report', report });
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'abort') {
    current?.abort(new SluiceError(message.code, message.message));
    return;
  }
  const abort = new AbortController();
  current = abort;
  execute(message.request, abort)
    .catch((error: unknown) => send({ type: 'error', error: errorToWire(error) }))
    .finally(() => {
      if (current === abort) current = undefined;
      // This process may take the next run: what this run's code started and left goes now.
      killOthersInGroup();
    });
});

/**
 * Kills the processes of this process's group other than itself (processes the run's code
 * started and left running), read from /proc; where there is no /proc, nothing.
 */
function killOthersInGroup(): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return;
  }
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === process.pid) process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours to see
    }
  }
}
/**
 * Kills this process and every process its user code started (the parent starts it as the
 * leader of a process group of its own), so that nothing the run started outlives it.
 */
function killRunGroup(): void {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Calls `then` once what user code wrote to stdout and stderr (pipes, often) has been written. */
function afterOutput(then: () => void): void {
  // A parent's pipe is non-blocking, so console output may still be queued here.
  setTimeout(then, 5_000);
  process.stdout.write('', () => process.stderr.write('', then));
}

// The run dies with its parent (killed, or crashed): as when both were one process, it stops
// where it is, and what it staged is never published. Idle, it ends once its output is out,
// and so does any process an earlier run's code started and left running.
process.on('disconnect', () => {
  if (current === undefined) afterOutput(killRunGroup);
  else killRunGroup();
});
// A parent killed while user code spins never reaches the 'disconnect' above (the event loop
// does not turn): a thread of its own notices that the parent is gone and ends the run.
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
  setInterval(() => {
    if (process.ppid === workerData) return;
    try { process.kill(-process.pid, 'SIGKILL'); } catch { process.kill(process.pid, 'SIGKILL'); }
  }, 250);`,
  { eval: true, workerData: process.ppid, resourceLimits: { maxOldGenerationSizeMb: 8 } },
);
watchdog.unref();
// An exception nothing caught (a throw in a user's timer, a rejection nobody awaited): the
// process is in an unknown state and ends, but its parent learns what was thrown.
process.on('uncaughtException', (error) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  // Soon: the run's other code goes on meanwhile, so this waits for the message alone.
  setTimeout(() => process.exit(1), 200);
  void send({ type: 'crashed', message: describeCause(error) }).finally(() => process.exit(1));
});
