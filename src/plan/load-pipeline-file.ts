import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import { PipelineLoadError, describeCause } from '../core/errors.js';
import type { Pipeline } from '../define/pipeline.js';
import { isPipeline } from '../define/pipeline.js';
import type { StreamDefinition } from '../define/stream.js';
import { isStream } from '../define/stream.js';

const OWN_ENTRY = ownModule('../index.js');
const OWN_STREAM_ENTRY = ownModule('../stream/index.js');

/** A module of this copy of Sluice: compiled when built, else its TypeScript source. */
function ownModule(relative: string): string {
  const compiled = fileURLToPath(new URL(relative, import.meta.url));
  return existsSync(compiled) ? compiled : compiled.replace(/\.js$/, '.ts');
}

/**
 * Loads a pipeline file (TypeScript or JavaScript) and returns its default export. Only that
 * file and what it imports are loaded; `import ... from 'sluice'` resolves to this copy of
 * Sluice so definitions and runner agree.
 *
 * @example
 * ```ts
 * const pipeline = await loadPipelineFile('examples/quickstart/pipeline.ts');
 * ```
 */
export async function loadPipelineFile(file: string): Promise<Pipeline> {
  const value = await loadDefaultExport(file);
  if (!isPipeline(value)) {
    throw new PipelineLoadError(file, 'its default export is not a pipeline', {
      hint: "end the file with: export default pipeline('name', { steps: { ... } })",
    });
  }
  return value;
}

/**
 * Loads a stream file and returns its default export, a stream declared with `stream()`.
 *
 * @example
 * ```ts
 * const definition = await loadStreamFile('streams/page_views.ts');
 * ```
 */
export async function loadStreamFile(file: string): Promise<StreamDefinition> {
  const value = await loadDefaultExport(file);
  if (!isStream(value)) {
    throw new PipelineLoadError(file, 'its default export is not a stream', {
      hint: "end the file with: export default stream('name', { source, eventTime, steps, sink })",
    });
  }
  return value;
}

async function loadDefaultExport(file: string): Promise<unknown> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new PipelineLoadError(file, 'the file does not exist', {
      hint: `looked for ${path}`,
    });
  }
  const jiti = projectFileLoader();
  let loaded: unknown;
  try {
    loaded = await jiti.import(path);
  } catch (cause) {
    const where = userFrame(cause, path);
    throw new PipelineLoadError(file, `it threw while loading: ${describeCause(cause)}`, {
      cause,
      hint:
        where === undefined
          ? 'fix the error in the pipeline file or a module it imports'
          : `at ${where}`,
    });
  }
  return (loaded as { default?: unknown } | null)?.default ?? loaded;
}

/**
 * The loader for a project's TypeScript files (pipelines, `sluice.config.ts`): `import ... from
 * 'sluice'` resolves to this copy of Sluice, and a file is read again on every load.
 *
 * @example
 * ```ts
 * const config = await projectFileLoader().import('/srv/project/sluice.config.ts');
 * ```
 */
export function projectFileLoader(): ReturnType<typeof createJiti> {
  return createJiti(import.meta.url, {
    alias: { 'sluice/stream': OWN_STREAM_ENTRY, sluice: OWN_ENTRY },
    interopDefault: true,
    moduleCache: false,
    sourceMaps: true,
  });
}

function userFrame(cause: unknown, path: string): string | undefined {
  const stack = cause instanceof Error ? cause.stack : undefined;
  const frame = stack?.split('\n').find((line) => line.includes(path));
  const match = frame === undefined ? null : /((?:\/|[A-Za-z]:\\)[^():]+:\d+:\d+)/.exec(frame);
  return match?.[1];
}

/**
 * The version of a pipeline file's code: a hash of its contents. Runs record it, and cache keys
 * include it, so editing the file invalidates cached outputs. (Modules the file imports are not
 * part of it.)
 *
 * @example
 * ```ts
 * const codeHash = await pipelineCodeHash('pipelines/orders.ts'); // '3f2a…' (16 hex digits)
 * ```
 */
export async function pipelineCodeHash(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex')
    .slice(0, 16);
}
