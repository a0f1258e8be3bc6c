import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quoteIdentifier, quoteLiteral } from '../core/type-mappings.js';
import type { Plan, PlannedStep } from '../plan/planner.js';
import type { ConnectorRegistry } from '../contracts/batch-connector.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { StepOutcome } from './step-outcome.js';
import { dropDataset } from './datasets.js';

/** Options of task caching in {@link runPipeline}: `runPipeline(p, { cache: { codeHash } })`. */
export interface TaskCacheOptions {
  /**
   * The version of the pipeline's code (a hash of its file). Every task key includes it, so a
   * code change invalidates every cached output of the pipeline.
   */
  readonly codeHash: string;
  /** Where materialised outputs are kept (default: `<stateDir>/cache/tasks`). */
  readonly directory?: string;
}

/** What is kept beside a materialised dataset, enough to stand in for running its step. */
interface CachedOutcome {
  readonly fields: StepOutcome['fields'];
  readonly rowsIn: number | null;
  readonly rowsOut: number;
  readonly inputs: readonly string[];
  readonly outputs?: readonly string[];
  readonly quality?: StepOutcome['quality'];
  readonly watermark?: string;
}

/**
 * Task-level caching: every step gets a key made of the pipeline, the step, the code hash, the
 * run's params and the keys of its inputs (a source's input is its connector's fingerprint and,
 * when incremental, its last watermark). A source, SQL, transform or check step stores its
 * dataset as Parquet under its key; a later run with the same key reads that file instead of
 * running the step. A sink with a key that was published before is not written again. A step
 * whose inputs cannot be fingerprinted, and everything downstream of it, has no key and always
 * runs.
 *
 * @example
 * ```ts
 * const cache = new TaskCache('.sluice/cache/tasks', plan, { codeHash, params, baseDir, registry });
 * const key = await cache.keyOf(step, watermark);
 * ```
 */
export class TaskCache {
  readonly #keys = new Map<string, Promise<string | undefined>>();

  constructor(
    readonly directory: string,
    private readonly plan: Plan,
    private readonly context: {
      readonly codeHash: string;
      readonly params: Readonly<Record<string, string>>;
      readonly baseDir: string;
      readonly registry: ConnectorRegistry;
      readonly watermarks?: Readonly<Record<string, string>>;
    },
  ) {}

  /** The step's key, or undefined when one of its inputs cannot be fingerprinted. */
  keyOf(step: PlannedStep): Promise<string | undefined> {
    let key = this.#keys.get(step.id);
    if (key === undefined) {
      key = this.#computeKey(step);
      this.#keys.set(step.id, key);
    }
    return key;
  }

  async #computeKey(step: PlannedStep): Promise<string | undefined> {
    // A warehouse step's output lives in the warehouse, which can change behind the cache's back.
    if (step.definition.kind === 'sql' && step.definition.warehouse !== undefined) return undefined;
    const inputs: string[] = [];
    if (step.definition.kind === 'source') {
      const fingerprint = await this.context.registry
        .source(step.definition.connector)
        ?.fingerprint?.(step.config as never, { baseDir: this.context.baseDir })
        // The step itself reports a missing input clearly; uncached is all this needs to say.
        .catch(() => undefined);
      if (fingerprint === undefined) return undefined;
      inputs.push(fingerprint, this.context.watermarks?.[step.id] ?? '');
    }
    for (const inputId of step.inputs) {
      const input = this.plan.steps.find((s) => s.id === inputId);
      const key = input === undefined ? undefined : await this.keyOf(input);
      if (key === undefined) return undefined;
      inputs.push(key);
    }
    const params = Object.entries(this.context.params).sort(([a], [b]) => a.localeCompare(b));
    return createHash('sha256')
      .update(
        JSON.stringify({
          pipeline: this.plan.pipeline.name,
          step: step.id,
          codeHash: this.context.codeHash,
          params,
          inputs,
        }),
      )
      .digest('hex');
  }

  /**
   * Recreates the step's dataset from its materialised output, as a view over the Parquet file,
   * and returns the outcome it had; undefined when nothing is cached under `key`.
   */
  async restore(
    connection: EngineConnection,
    stepId: string,
    key: string,
  ): Promise<StepOutcome | undefined> {
    const cached = await readCachedOutcome(this.#metaPath(key));
    if (cached === undefined) return undefined;
    try {
      await connection.run(
        `CREATE VIEW ${quoteIdentifier(stepId)} AS SELECT * FROM read_parquet(${quoteLiteral(this.#dataPath(key))})`,
      );
    } catch {
      return undefined; // the Parquet file was deleted: run the step again
    }
    return fromCached(cached);
  }

  /**
   * Writes the step's dataset to Parquet under `key` (temp file, then rename) and replaces the
   * dataset with a view over that file, so consumers read it once rather than recomputing a
   * view. Returns the outcome with its row count filled in.
   */
  async save(
    connection: EngineConnection,
    stepId: string,
    key: string,
    outcome: StepOutcome,
  ): Promise<StepOutcome> {
    await mkdir(this.directory, { recursive: true });
    const data = this.#dataPath(key);
    const staging = `${data}.${process.pid}.${Date.now()}.tmp`;
    let rowsOut: number;
    try {
      rowsOut = await connection.run(
        `COPY (SELECT * FROM ${quoteIdentifier(stepId)}) TO ${quoteLiteral(staging)} (FORMAT parquet)`,
      );
      await rename(staging, data);
    } finally {
      await rm(staging, { force: true });
    }
    await dropDataset(connection, stepId);
    await connection.run(
      `CREATE VIEW ${quoteIdentifier(stepId)} AS SELECT * FROM read_parquet(${quoteLiteral(data)})`,
    );
    const saved = { ...outcome, rowsOut };
    await writeAtomically(this.#metaPath(key), JSON.stringify(toCached(saved)));
    return saved;
  }

  /** The outcome of a sink published before under this key, or undefined. */
  async published(key: string): Promise<StepOutcome | undefined> {
    const cached = await readCachedOutcome(this.#publishedPath(key));
    return cached === undefined ? undefined : fromCached(cached);
  }

  /** Records that a sink with this key was published. */
  async markPublished(key: string, outcome: StepOutcome): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    await writeAtomically(this.#publishedPath(key), JSON.stringify(toCached(outcome)));
  }

  #dataPath(key: string): string {
    return join(this.directory, `${key}.parquet`);
  }

  #metaPath(key: string): string {
    return join(this.directory, `${key}.json`);
  }

  #publishedPath(key: string): string {
    return join(this.directory, `${key}.published.json`);
  }
}

function toCached(outcome: StepOutcome): CachedOutcome {
  return {
    fields: outcome.fields,
    rowsIn: outcome.rowsIn ?? null,
    rowsOut: outcome.rowsOut ?? 0,
    inputs: outcome.inputs,
    outputs: outcome.outputs,
    ...(outcome.quality === undefined ? {} : { quality: outcome.quality }),
    ...(outcome.watermark === undefined ? {} : { watermark: outcome.watermark }),
  };
}

/** A step's outcome rebuilt from the cache; nothing was quarantined this time. */
function fromCached(cached: CachedOutcome): StepOutcome {
  return {
    fields: cached.fields,
    rowsIn: cached.rowsIn ?? undefined,
    rowsOut: cached.rowsOut,
    rowsQuarantined: 0,
    inputs: cached.inputs,
    outputs: cached.outputs ?? [],
    ...(cached.quality === undefined ? {} : { quality: cached.quality }),
    ...(cached.watermark === undefined ? {} : { watermark: cached.watermark }),
  };
}

async function readCachedOutcome(path: string): Promise<CachedOutcome | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CachedOutcome;
  } catch {
    // Missing, or torn by a crash before the rename: either way, not cached.
    return undefined;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const staging = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(staging, text);
  await rename(staging, path);
}
