import { access, constants, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { glob } from 'tinyglobby';
import { SourceError } from '../../core/errors.js';
import { quoteLiteral } from '../../core/type-mappings.js';
import type {
  SourceFingerprintContext,
  SourceReadContext,
} from '../../contracts/batch-connector.js';

const GLOB_CHARS = /[*?[{]/;

/**
 * Expands a source's path or globs (relative to the pipeline file) into the files to read, in
 * a stable order. Fails with a clear error when a path is missing, unreadable or matches nothing.
 * A glob does not match hidden names (see {@link isHiddenMatch}): staging of unfinished writes,
 * `_temporary` folders, editor and OS files.
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
    const rows = (
      await context.connection.rows(
        `SELECT file FROM glob(${quoteLiteral(absolute)}) ORDER BY file`,
      )
    ).filter((row) => !isHiddenMatch(absolute, String(row['file'])));
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
  const found = await Promise.all(
    patterns.map(async (pattern) => {
      const absolute = isAbsolute(pattern) ? pattern : resolve(context.baseDir, pattern);
      const files = await glob([pattern], {
        cwd: context.baseDir,
        absolute: true,
        onlyFiles: true,
        dot: true,
      });
      return files.filter((file) => !isHiddenMatch(absolute, file));
    }),
  );
  const files = [...new Set(found.flat())];
  const versions = await Promise.all(
    files.sort().map(async (file) => {
      const info = await stat(file);
      return `${file}:${info.size}:${info.mtimeMs}`;
    }),
  );
  return `files[${versions.join(',')}]`;
}

/**
 * Whether `file`, matched by the glob `pattern` (both absolute), is hidden: a part of its path
 * that a wildcard matched starts with `.`, or with `_` and holds no `=` (so hive folders such as
 * `_p=1` count), as Spark and Hadoop treat them. A pattern asks for such names by spelling them
 * before its first wildcard (`in/.cache/*.csv`) or by a part starting with that character
 * (`in/_*.csv`).
 *
 * @example
 * ```ts
 * isHiddenMatch('/d/in/*.csv', '/d/in/.orders.csv.sluice-staging-r1'); // true
 * isHiddenMatch('/d/in/*.csv', '/d/in/orders.csv'); // false
 * ```
 */
export function isHiddenMatch(pattern: string, file: string): boolean {
  const parts = pattern.split(/[/\\]/);
  const firstGlob = parts.findIndex((part) => GLOB_CHARS.test(part));
  if (firstGlob < 0) return false;
  const base = parts.slice(0, firstGlob).join('/');
  const asked = parts.slice(firstGlob).map((part) => part[0]);
  return relative(base === '' ? '/' : base, file)
    .split(sep)
    .some(
      (name) =>
        (name.startsWith('.') && !asked.includes('.')) ||
        (name.startsWith('_') && !name.includes('=') && !asked.includes('_')),
    );
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
