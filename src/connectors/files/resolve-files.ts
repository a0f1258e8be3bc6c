import { access, constants, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { SourceError } from '../../core/errors.js';
import { quoteLiteral } from '../../core/type-mappings.js';
import type { SourceFingerprintContext, SourceReadContext } from '../../engine/connector.js';

const GLOB_CHARS = /[*?[{]/;

/**
 * Expands a source's path or globs (relative to the pipeline file) into the files to read, in
 * a stable order. Fails with a clear error when a path is missing, unreadable or matches nothing.
 *
 * @example
 * ```ts
 * const files = await resolveInputFiles(ctx, ['data/orders_*.csv']);
 * ```
 */
export async function resolveInputFiles(
  context: Pick<SourceReadContext, 'stepId' | 'baseDir' | 'connection'>,
  path: string | readonly string[],
): Promise<string[]> {
  const patterns = typeof path === 'string' ? [path] : path;
  const files: string[] = [];
  for (const pattern of patterns) {
    const absolute = isAbsolute(pattern) ? pattern : resolve(context.baseDir, pattern);
    if (!GLOB_CHARS.test(pattern)) {
      try {
        await access(absolute, constants.R_OK);
      } catch (cause) {
        const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
        throw new SourceError(
          context.stepId,
          missing ? `file not found: ${absolute}` : `cannot read ${absolute}: ${String(cause)}`,
          {
            cause,
            hint: missing
              ? 'check the path; in a pipeline, relative paths start at the folder of the pipeline file'
              : 'check the file permissions',
          },
        );
      }
      files.push(absolute);
      continue;
    }
    const rows = await context.connection.rows(
      `SELECT file FROM glob(${quoteLiteral(absolute)}) ORDER BY file`,
    );
    if (rows.length === 0) {
      throw new SourceError(context.stepId, `no file matches ${absolute}`, {
        hint: 'check the pattern; in a pipeline, relative paths start at the folder of the pipeline file, and ** matches sub-folders',
      });
    }
    for (const row of rows) files.push(String(row['file']));
  }
  return [...new Set(files)];
}

/**
 * The version of the files a path or globs match now: each file's path, size and modification
 * time. Used as a file source's fingerprint for caching.
 *
 * @example
 * ```ts
 * const version = await filesFingerprint({ path: 'data/*.csv' }, { baseDir });
 * ```
 */
export async function filesFingerprint(
  config: { readonly path: string | readonly string[] },
  context: SourceFingerprintContext,
): Promise<string> {
  const patterns = typeof config.path === 'string' ? [config.path] : config.path;
  const files = await glob([...patterns], {
    cwd: context.baseDir,
    absolute: true,
    onlyFiles: true,
  });
  const versions = await Promise.all(
    files.sort().map(async (file) => {
      const info = await stat(file);
      return `${file}:${info.size}:${info.mtimeMs}`;
    }),
  );
  return `files[${versions.join(',')}]`;
}

/**
 * A DuckDB list literal of file paths.
 *
 * @example
 * ```ts
 * fileList(['/a.csv', "/b's.csv"]); // "['/a.csv', '/b''s.csv']"
 * ```
 */
export function fileList(files: readonly string[]): string {
  return `[${files.map(quoteLiteral).join(', ')}]`;
}
