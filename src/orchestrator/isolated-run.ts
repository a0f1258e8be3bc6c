import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic, SluiceErrorCode } from '../core/errors.js';
import { ConfigError, SluiceError, describeCause } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { RunEvent } from '../observe/lineage/openlineage-event.js';
import { OpenLineageRuns } from '../observe/lineage/open-runs.js';
import type { StepEvent } from '../engine/executor.js';
import type { ReportedError, RunReport, StepReport } from '../observe/run-report.js';
import { unpublishedMessage, writeRunReport } from '../observe/run-report.js';

/** What the child process of {@link runIsolated} runs. */
export interface IsolatedRunRequest {
  /** The pipeline file (its default export is the pipeline). */
  readonly file: string;
  /**
   * The pipeline's name, for the report of a run that had to be killed. Without it the child
   * names the pipeline once it has loaded the file (see {@link IsolationOptions.onLoaded}), so a
   * caller need not load the file itself; a run killed before that is named after the file.
   */
  readonly pipeline?: string;
  readonly runId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly stateDir: string;
  readonly baseDir?: string;
  /** The run store whose source state the run reads and saves (a path or postgres:// URL). */
  readonly store?: string;
  /** False: the new source state is left pending, for the orchestrator to promote. */
  readonly commitSourceState: boolean;
  /** Keep datasets' metric history in the run store rather than under the state folder. */
  readonly metricHistoryInStore?: boolean;
  readonly fullRefresh?: boolean;
  readonly cache?: { readonly codeHash: string };
  /** Who the run writes for, recorded with its commits (`user:alice`, `scheduler`). */
  readonly actor?: string;
  /**
   * Emit the run's OpenLineage events (to the parent, as `lineage` messages) in this namespace;
   * absent: none are made.
   */
  readonly lineage?: { readonly namespace: string };
  /** The run's data interval (ISO times), for the events' `nominalTime`. */
  readonly interval?: { readonly start: string; readonly end: string };
  /** The attempt number (1 for the first): each attempt is a run of its own in lineage. */
  readonly attempt?: number;
}

/** A message from the parent to the run's child process. */
export type ParentMessage =
  | { readonly type: 'start'; readonly request: IsolatedRunRequest }
  | { readonly type: 'abort'; readonly code: SluiceErrorCode; readonly message: string };

/** A message from the run's child process to its parent. */
export type HostMessage =
  | { readonly type: 'loaded'; readonly pipeline: LoadedPipeline }
  | { readonly type: 'event'; readonly event: StepEvent }
  | { readonly type: 'lineage'; readonly event: RunEvent }
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly bindings: Record<string, unknown>;
      readonly fields: object;
      readonly message: string | undefined;
    }
  | { readonly type: 'report'; readonly report: RunReport }
  | { readonly type: 'error'; readonly error: WireError }
  /** An exception nothing caught; the process ends after it. */
  | { readonly type: 'crashed'; readonly message: string };

/** What the child learned by loading the pipeline file, sent before the run starts. */
export interface LoadedPipeline {
  readonly name: string;
  /** The pipeline's `timeout` option, if it has one. */
  readonly timeout?: string | number;
}

/** An error as it crosses from the child to the parent. */
export interface WireError {
  readonly code: SluiceErrorCode;
  readonly message: string;
  readonly hint?: string;
  readonly retryable: boolean;
  readonly diagnostics?: readonly Diagnostic[];
}

/** Options of {@link runIsolated}. */
export interface IsolationOptions {
  /**
   * Stops the run. The abort reason should be a {@link SluiceError} with code `RUN_TIMEOUT` or
   * `RUN_CANCELED`: a timed-out run reports `failed` with that error, any other `canceled`.
   */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  readonly onEvent?: (event: StepEvent) => void;
  /**
   * Receives the run's OpenLineage events (when the request asks for them); a run whose process
   * was killed gets its missing terminal events (FAIL, or ABORT when canceled) made here.
   */
  readonly onLineageEvent?: (event: RunEvent) => void;
  /** Called once the child has loaded the pipeline file, before the run starts. */
  readonly onLoaded?: (pipeline: LoadedPipeline) => void;
  /**
   * How long a stopped run may take to wind down by itself (release its connections, discard
   * its staged outputs) before its process is killed (default 500 ms).
   */
  readonly graceMs?: number;
}

const DEFAULT_GRACE_MS = 500;

/** Runs a process executes before it is replaced, so that what user code leaks stays bounded. */
const RUNS_PER_PROCESS = 50;

/**
 * Runs a pipeline file in a child process of its own, so that a timeout or a cancel always
 * wins: when `signal` aborts, the child is asked to stop and, if it has not ended within
 * `graceMs`, killed. A killed run publishes nothing (outputs are staged until every step
 * succeeded), its spill folder is removed, and its report says which steps had finished.
 * Errors the child raises before it has a report (a file that does not load, an invalid plan)
 * are thrown here with their code, message and hint. Workers use a {@link RunProcessPool}.
 *
 * @example
 * ```ts
 * const report = await runIsolated(
 *   { file: '/srv/pipelines/orders.ts', pipeline: 'orders', runId, params: {}, stateDir: '.sluice', commitSourceState: true },
 *   { signal: AbortSignal.timeout(60_000) },
 * );
 * ```
 */
export async function runIsolated(
  request: IsolatedRunRequest,
  options: IsolationOptions = {},
): Promise<RunReport> {
  const pool = new RunProcessPool({ size: 0 });
  try {
    return await pool.run(request, options);
  } finally {
    await pool.close();
  }
}

/**
 * Processes that execute runs (see {@link runIsolated}), one run at a time each. A process whose
 * run ended by itself goes back to the pool for the next run, already started and with the
 * engine loaded; one whose run had to be stopped is killed and replaced.
 *
 * @example
 * ```ts
 * const pool = new RunProcessPool({ size: 2 });
 * pool.prewarm(2);
 * const report = await pool.run(request, { signal });
 * await pool.close();
 * ```
 */
export class RunProcessPool {
  readonly #size: number;
  readonly #idle: RunProcess[] = [];
  readonly #all = new Set<RunProcess>();
  #closed = false;

  /** `size`: processes kept idle between runs (0: each run gets a new one). */
  constructor(options: { readonly size: number }) {
    this.#size = options.size;
  }

  /** Starts processes ahead of the first runs, up to the pool's size. */
  prewarm(count: number): void {
    while (!this.#closed && this.#idle.length < Math.min(count, this.#size))
      this.#idle.push(this.#spawn());
  }

  /** Executes one run in an idle process, or a new one. */
  async run(request: IsolatedRunRequest, options: IsolationOptions = {}): Promise<RunReport> {
    const host = this.#idle.shift() ?? this.#spawn();
    const outcome = await host.execute(request, options);
    if (
      outcome.reusable &&
      !this.#closed &&
      host.runs < RUNS_PER_PROCESS &&
      this.#idle.length < this.#size
    )
      this.#idle.push(host);
    else host.dispose();
    if ('error' in outcome) throw outcome.error;
    return outcome.report;
  }

  /** Ends the idle processes and waits for every process to exit. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const host of this.#idle.splice(0)) host.dispose();
    await Promise.all([...this.#all].map((host) => host.exited));
  }

  #spawn(): RunProcess {
    const host = new RunProcess();
    this.#all.add(host);
    void host.exited.then(() => {
      this.#all.delete(host);
      const at = this.#idle.indexOf(host);
      if (at >= 0) this.#idle.splice(at, 1);
    });
    return host;
  }
}

/** How a run in a {@link RunProcess} ended, and whether the process may take another. */
type RunOutcome = { readonly reusable: boolean } & (
  { readonly report: RunReport } | { readonly error: SluiceError }
);

/** One child process of a {@link RunProcessPool}. */
class RunProcess {
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  runs = 0;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor() {
    const { entry, execArgv } = hostEntry();
    this.#child = fork(entry, [], {
      execArgv,
      // The leader of a process group of its own, so that a stop kills whatever processes the
      // run's code started along with it (and a terminal's Ctrl-C reaches only the parent).
      detached: true,
      // User code's console output goes to stderr, so stdout stays the command's own (--json).
      stdio: ['ignore', 2, 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    // A message to a child that has just exited fails with EPIPE; its exit tells the story.
    this.#child.on('error', () => undefined);
    this.exited = new Promise((resolveExit) =>
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolveExit(this.#exit);
      }),
    );
  }

  /** Ends the process: at once when it is idle (it exits when its channel closes). */
  dispose(): void {
    if (this.#child.connected) this.#child.disconnect();
    else if (this.#exit === undefined) this.kill();
  }

  /** Kills the process and the processes its run started (its process group). */
  kill(): void {
    const pid = this.#child.pid;
    try {
      if (pid === undefined) throw new Error('not started');
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.#child.kill('SIGKILL');
    }
  }

  async execute(request: IsolatedRunRequest, options: IsolationOptions): Promise<RunOutcome> {
    this.runs += 1;
    const logger = options.logger ?? silentLogger;
    const startedAt = new Date();
    const child = this.#child;
    const finished = new Map<string, StepReport>();
    const started = new Map<string, string>();
    const published = new Set<string>();
    const lineageRuns = new OpenLineageRuns();
    let crashed: string | undefined;
    let pipelineName = request.pipeline;
    let settle: (message: 'ended' | HostMessage) => void = () => undefined;
    const settled = new Promise<'ended' | HostMessage>(
      (resolveSettled) => (settle = resolveSettled),
    );
    const onMessage = (message: HostMessage): void => {
      if (message.type === 'loaded') {
        pipelineName = message.pipeline.name;
        options.onLoaded?.(message.pipeline);
      } else if (message.type === 'event') {
        if (message.event.type === 'step-started')
          started.set(message.event.stepId, message.event.kind);
        if (message.event.type === 'step-finished')
          finished.set(message.event.step.id, message.event.step);
        if (message.event.type === 'step-published') published.add(message.event.stepId);
        options.onEvent?.(message.event);
      } else if (message.type === 'lineage') {
        lineageRuns.observe(message.event);
        options.onLineageEvent?.(message.event);
      } else if (message.type === 'log') {
        const target =
          Object.keys(message.bindings).length === 0 ? logger : logger.child(message.bindings);
        target[message.level](message.fields, message.message);
      } else if (message.type === 'crashed') crashed = message.message;
      else settle(message);
    };
    child.on('message', onMessage);
    void this.exited.then(() => settle('ended'));
    let stopReason: SluiceError | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      stopReason = stopError(options.signal?.reason);
      if (child.connected)
        child.send({ type: 'abort', code: stopReason.code, message: stopReason.message });
      killTimer = setTimeout(() => this.kill(), options.graceMs ?? DEFAULT_GRACE_MS);
    };
    if (options.signal?.aborted === true) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
    if (child.connected) child.send({ type: 'start', request } satisfies ParentMessage);
    const end = await settled;
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', stop);
    child.off('message', onMessage);

    // A process whose run was stopped may still hold the code that would not stop: not reused.
    const reusable = stopReason === undefined && this.#exit === undefined;
    if (end !== 'ended' && end.type === 'report')
      return {
        reusable,
        report: stopReason === undefined ? end.report : stoppedReport(end.report, stopReason),
      };
    if (end !== 'ended' && end.type === 'error' && stopReason === undefined)
      return { reusable, error: errorFromWire(end.error) };
    // Killed, or ended without a word: the report is made here from what the child said.
    if (end !== 'ended') this.kill();
    const exit = await this.exited;
    // What the run started dies with it, also when its process ended by itself.
    if (exit.signal !== 'SIGKILL') this.kill();
    // Messages sent just before the exit (what was thrown) may still be on their way.
    if (child.connected)
      await new Promise((resolveClosed) => {
        const timer = setTimeout(resolveClosed, 1_000);
        child.once('disconnect', () => resolveClosed(clearTimeout(timer)));
      });
    const running = [...started.keys()].filter((id) => !finished.has(id));
    const during =
      running.length === 0
        ? ''
        : ` while step${running.length === 1 ? '' : 's'} ${running.map((id) => `"${id}"`).join(', ')} ran`;
    await rm(join(resolve(request.stateDir), 'tmp', request.runId), {
      recursive: true,
      force: true,
    });
    const error: ReportedError =
      stopReason !== undefined
        ? { code: stopReason.code, message: stopReason.message }
        : {
            code: 'INTERNAL',
            message: `the run's process ended unexpectedly (${exit.signal ?? `exit code ${String(exit.code)}`})${during}${crashed === undefined ? '' : `: ${crashed}`}`,
            retryable: true,
          };
    const endedAt = new Date();
    const ended = stopReason === undefined ? 'failed' : 'canceled';
    const steps: StepReport[] = [
      ...[...finished.values()].map((step) =>
        step.status === 'success' &&
        step.cached !== true &&
        step.outputs.length > 0 &&
        !published.has(step.id)
          ? {
              ...step,
              status: 'canceled' as const,
              error: { code: error.code, message: unpublishedMessage(error.message) },
            }
          : step,
      ),
      ...[...started]
        .filter(([id]) => !finished.has(id))
        .map(([id, kind]) => unfinishedStep(id, kind, ended, error)),
    ];
    if (options.onLineageEvent !== undefined)
      for (const event of lineageRuns.endAll(
        stopReason?.code === 'RUN_CANCELED' ? 'ABORT' : 'FAIL',
        `[${error.code}] ${error.message}`,
        endedAt,
      ))
        options.onLineageEvent(event);
    // Those who followed the run's steps learn how each ended.
    for (const step of steps)
      if (finished.get(step.id) !== step) options.onEvent?.({ type: 'step-finished', step });
    const report: RunReport = {
      pipeline: pipelineName ?? basename(request.file).replace(/\.[^.]*$/, ''),
      runId: request.runId,
      status: stopReason?.code === 'RUN_CANCELED' ? 'canceled' : 'failed',
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - startedAt.getTime(),
      params: request.params,
      steps,
      rowsQuarantined: steps.reduce((sum, step) => sum + step.rowsQuarantined, 0),
      quarantineDir: join(resolve(request.stateDir), 'runs', request.runId, 'quarantine'),
      error,
    };
    await writeRunReport(report, resolve(request.stateDir)).catch((cause: unknown) =>
      logger.warn({ err: describeCause(cause) }, 'cannot write the run report'),
    );
    return { reusable: false, report };
  }
}

/**
 * The child's entry: the built module beside this one; from source (tests), the built one of
 * the package when there is one, else the source under a TypeScript loader.
 */
function hostEntry(): { entry: string; execArgv: string[] } {
  for (const built of ['./run-host.js', '../../dist/orchestrator/run-host.js']) {
    const path = fileURLToPath(new URL(built, import.meta.url));
    if (existsSync(path)) return { entry: path, execArgv: [] };
  }
  return {
    entry: fileURLToPath(new URL('./run-host.ts', import.meta.url)),
    execArgv: ['--import', import.meta.resolve('jiti/register')],
  };
}

function stopError(reason: unknown): SluiceError {
  if (
    reason instanceof SluiceError &&
    (reason.code === 'RUN_TIMEOUT' || reason.code === 'RUN_CANCELED')
  )
    return reason;
  return new SluiceError(
    'RUN_CANCELED',
    reason instanceof Error ? reason.message : 'the run was canceled',
  );
}

/** A report the child finished after being asked to stop: a timeout is a failure. */
function stoppedReport(report: RunReport, reason: SluiceError): RunReport {
  if (report.status === 'success') return report;
  const error = { code: reason.code, message: reason.message };
  return reason.code === 'RUN_TIMEOUT'
    ? { ...report, status: 'failed', error }
    : { ...report, status: 'canceled', error };
}

function unfinishedStep(
  id: string,
  kind: string,
  status: 'failed' | 'canceled',
  error: ReportedError,
): StepReport {
  return {
    id,
    kind: kind as StepReport['kind'],
    status,
    rowsIn: null,
    rowsOut: null,
    rowsQuarantined: 0,
    durationMs: 0,
    inputs: [],
    outputs: [],
    error,
  };
}

/**
 * An error as the child sends it: code, message, hint, retry meaning and a config error's
 * diagnostics.
 *
 * @example
 * ```ts
 * process.send?.({ type: 'error', error: errorToWire(error) });
 * ```
 */
export function errorToWire(error: unknown): WireError {
  if (!(error instanceof SluiceError))
    return { code: 'INTERNAL', message: describeCause(error), retryable: false };
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error instanceof ConfigError ? { diagnostics: error.diagnostics } : {}),
  };
}

/** A {@link SluiceError} raised in a run's child process, with its code, hint and retry meaning. */
class CarriedError extends SluiceError {
  readonly #retryable: boolean;

  constructor(wire: WireError) {
    super(wire.code, wire.message, wire.hint === undefined ? {} : { hint: wire.hint });
    this.#retryable = wire.retryable;
  }

  override get retryable(): boolean {
    return this.#retryable;
  }
}

function errorFromWire(wire: WireError): SluiceError {
  return wire.diagnostics === undefined
    ? new CarriedError(wire)
    : new ConfigError(wire.diagnostics, wire.hint === undefined ? {} : { hint: wire.hint });
}
