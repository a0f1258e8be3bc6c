import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { ConfigError, PipelineLoadError, describeCause } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { retryDiagnostics } from '../core/retry-policy.js';
import type { Diagnostic } from '../core/errors.js';
import type { Pipeline } from '../define/pipeline.js';
import type { AlertsConfig } from '../observe/alerts/alerts-config.js';
import { alertsConfigDiagnostics } from '../observe/alerts/alerts-config.js';
import type { LineageConfig } from '../observe/lineage/lineage-config-schema.js';
import { lineageConfigDiagnostics } from '../observe/lineage/lineage-config-schema.js';
import {
  loadPipelineFile,
  pipelineCodeHash,
  projectFileLoader,
} from '../plan/load-pipeline-file.js';

/** The default export of `sluice.config.ts`. */
export interface ProjectConfig {
  /**
   * Where the pipelines are: a folder (default `pipelines`) whose `<name>.ts` files each define
   * the pipeline `<name>`, or an explicit map from pipeline name to file.
   */
  readonly pipelines?: string | Readonly<Record<string, string>>;
  /** Run reports, quarantine files and the embedded store (default `.sluice`). */
  readonly stateDir?: string;
  /** Concurrency pools: how many runs of the pipelines in each pool run at once. */
  readonly pools?: Readonly<Record<string, number>>;
  /**
   * Alerting: channels, routes, project-wide rules and maintenance windows; `sluice serve`
   * evaluates the rules (see docs/observability.md#alerts).
   */
  readonly alerts?: AlertsConfig;
  /**
   * OpenLineage events of every run: the namespace and where events go (HTTP, file, console,
   * NATS); `OPENLINEAGE_URL` adds an HTTP transport (see docs/lineage.md).
   */
  readonly lineage?: LineageConfig;
}

/**
 * Declares a project's configuration (identity function, for types).
 *
 * @example
 * ```ts
 * // sluice.config.ts
 * export default defineProject({ pipelines: { orders_daily: './pipelines/orders.ts' } });
 * ```
 */
export function defineProject(config: ProjectConfig): ProjectConfig {
  return config;
}

/** What is wrong with the sections of `sluice.config.ts` that only some commands use. */
interface ConfigProblems {
  readonly alerts: readonly Diagnostic[];
  readonly lineage: readonly Diagnostic[];
}

/** A loaded pipeline with the hash of its file's code. */
export interface LoadedPipeline {
  readonly pipeline: Pipeline;
  readonly file: string;
  readonly codeHash: string;
}

/** How long a pipeline file's top level may take to load before its load fails. */
export const PIPELINE_LOAD_TIMEOUT_MS = 30_000;

/** Options of {@link Project.load}. */
export interface LoadOptions {
  /** Stops waiting (the call rejects with the signal's reason); the load itself goes on. */
  readonly signal?: AbortSignal;
  /** Fails the load after this long (default {@link PIPELINE_LOAD_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** A load in progress: later callers join it and wait no longer than its deadline. */
interface PendingLoad {
  readonly codeHash: string;
  readonly limitMs: number;
  readonly deadline: number;
  readonly loading: Promise<LoadedPipeline>;
}

export const CONFIG_FILES = ['sluice.config.ts', 'sluice.config.js', 'sluice.config.mjs'];
const PIPELINE_EXTENSIONS = new Set(['.ts', '.js', '.mjs', '.mts']);

/**
 * A project folder: its config and the pipelines it names. Finds a pipeline's file without
 * loading any other pipeline, and loads a file again only when its code changed.
 *
 * @example
 * ```ts
 * const project = await Project.open('examples/quickstart');
 * const { pipeline, codeHash } = await project.load('quickstart');
 * ```
 */
export class Project {
  readonly root: string;
  readonly config: ProjectConfig;
  readonly #loaded = new Map<string, LoadedPipeline>();
  readonly #pending = new Map<string, PendingLoad>();
  readonly #problems: ConfigProblems;

  private constructor(root: string, config: ProjectConfig, problems: ConfigProblems) {
    this.root = root;
    this.config = config;
    this.#problems = problems;
  }

  /**
   * The project's alerting config, checked: a bad `alerts` section fails what alerts (`serve`,
   * `sluice check sluice.config.ts`) with every problem at once, and leaves the commands that do
   * not alert (run, trigger, cancel, runs, ...) working.
   *
   * @example
   * ```ts
   * new AlertEngine({ store, config: project.alerts(), pipelines });
   * ```
   */
  alerts(): AlertsConfig {
    if (this.#problems.alerts.length > 0) throw new ConfigError([...this.#problems.alerts]);
    return this.config.alerts ?? {};
  }

  /**
   * The project's lineage config, checked like {@link Project.alerts}: a bad `lineage` section
   * fails what emits lineage from the project (`serve`, `worker`, `sluice check`), not the rest.
   *
   * @example
   * ```ts
   * const emitter = createLineageEmitter(project.lineage(), { baseDir: project.root, env: process.env });
   * ```
   */
  lineage(): LineageConfig | undefined {
    if (this.#problems.lineage.length > 0) throw new ConfigError([...this.#problems.lineage]);
    return this.config.lineage;
  }

  /** Opens the project at `dir`, reading `sluice.config.ts` when there is one. */
  static async open(dir: string): Promise<Project> {
    const root = resolve(dir);
    const configFile = CONFIG_FILES.map((name) => join(root, name)).find((f) => existsSync(f));
    if (configFile === undefined) return new Project(root, {}, { alerts: [], lineage: [] });
    let loaded: unknown;
    try {
      loaded = await projectFileLoader().import(configFile);
    } catch (cause) {
      throw new PipelineLoadError(configFile, `it threw while loading: ${describeCause(cause)}`, {
        cause,
      });
    }
    const config = ((loaded as { default?: unknown } | null)?.default ?? loaded) as ProjectConfig;
    if (typeof config !== 'object' || config === null)
      throw new ConfigError([
        {
          code: 'invalid-config',
          message: `${configFile} must export an object`,
          file: configFile,
          hint: "export default defineProject({ pipelines: 'pipelines' })",
        },
      ]);
    return new Project(root, config, {
      alerts: alertsConfigDiagnostics(config.alerts, configFile),
      lineage: lineageConfigDiagnostics(config.lineage, configFile),
    });
  }

  get stateDir(): string {
    return resolve(this.root, this.config.stateDir ?? '.sluice');
  }

  /** Every pipeline name of the project and its file, without loading any of them. */
  async pipelineFiles(): Promise<Map<string, string>> {
    const pipelines = this.config.pipelines ?? 'pipelines';
    if (typeof pipelines !== 'string')
      return new Map(
        Object.entries(pipelines).map(([name, file]) => [name, resolve(this.root, file)]),
      );
    const folder = resolve(this.root, pipelines);
    const entries = await readdir(folder).catch(() => [] as string[]);
    return new Map(
      entries
        .filter((entry) => PIPELINE_EXTENSIONS.has(extname(entry)) && !entry.endsWith('.d.ts'))
        .sort()
        .map((entry) => [basename(entry, extname(entry)), join(folder, entry)]),
    );
  }

  /** The file of one pipeline. */
  async pipelineFile(name: string): Promise<string> {
    const files = await this.pipelineFiles();
    const file = files.get(name);
    if (file === undefined)
      throw new ConfigError([
        {
          code: 'unknown-pipeline',
          message: `the project at ${this.root} has no pipeline "${name}"`,
          hint: `pipelines: ${[...files.keys()].join(', ') || '(none)'}`,
        },
      ]);
    return file;
  }

  /**
   * Loads one pipeline (again only when its file changed) and checks its name. A file whose
   * top level does not finish within `timeoutMs` fails to load, and goes on failing at once
   * while that load is still pending, so a stuck file never holds up its caller for long.
   */
  async load(name: string, options: LoadOptions = {}): Promise<LoadedPipeline> {
    const file = await this.pipelineFile(name);
    const codeHash = await pipelineCodeHash(file);
    const cached = this.#loaded.get(name);
    if (cached?.codeHash === codeHash) return cached;
    let pending = this.#pending.get(name);
    if (pending?.codeHash !== codeHash) {
      const limitMs = options.timeoutMs ?? PIPELINE_LOAD_TIMEOUT_MS;
      const loading = this.#loadFile(name, file, codeHash);
      pending = { codeHash, limitMs, deadline: Date.now() + limitMs, loading };
      const settled = pending;
      this.#pending.set(name, settled);
      const forget = (): void => {
        if (this.#pending.get(name) === settled) this.#pending.delete(name);
      };
      loading.then(forget, forget);
    }
    return waitForLoad(pending, file, options.signal);
  }

  async #loadFile(name: string, file: string, codeHash: string): Promise<LoadedPipeline> {
    const pipeline = await loadPipelineFile(file);
    if (pipeline.name !== name)
      throw new PipelineLoadError(
        file,
        `it defines pipeline "${pipeline.name}", expected "${name}"`,
        {
          hint: 'name the file after the pipeline, or map the name to the file in sluice.config.ts',
        },
      );
    // Runs are created with the pipeline's retries: a bad one fails this pipeline's load alone.
    const retryProblems = retryDiagnostics(pipeline.orchestration.retries, 'retries');
    if (retryProblems.length > 0) throw new ConfigError(retryProblems.map((d) => ({ ...d, file })));
    const loaded = { pipeline, file, codeHash };
    this.#loaded.set(name, loaded);
    return loaded;
  }
}

/** The pending load's result, or its deadline's or the signal's error, whichever comes first. */
async function waitForLoad(
  pending: PendingLoad,
  file: string,
  signal: AbortSignal | undefined,
): Promise<LoadedPipeline> {
  const late = (): PipelineLoadError =>
    new PipelineLoadError(
      file,
      `its top level did not finish within ${formatDuration(pending.limitMs)}`,
      {
        hint: 'a pipeline file should only define the pipeline: move waiting and network calls into its steps',
      },
    );
  if (signal?.aborted === true) throw signal.reason;
  const left = pending.deadline - Date.now();
  if (left <= 0) throw late();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      pending.loading,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(late()), left);
        onAbort = () => reject(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
