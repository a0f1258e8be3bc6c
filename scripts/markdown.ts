/**
 * Helpers of the scripts that generate documentation pages.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A Markdown table padded the way Prettier formats it, so formatting leaves the page as is.
 *
 * @example
 * ```ts
 * renderTable(['name', 'type'], [['sluice_runs_total', 'counter']]);
 * ```
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Whether the module at `moduleUrl` is the script node was asked to run (not an import).
 *
 * @example
 * ```ts
 * if (isMainModule(import.meta.url)) writePages();
 * ```
 */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(moduleUrl);
}
