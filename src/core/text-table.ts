/**
 * Lines of a plain-text table: the header, a rule of dashes, then the rows; columns two spaces
 * apart, the `numeric` ones right-aligned.
 *
 * @example
 * ```ts
 * textTable(['step', 'rows'], [['orders', '12']], new Set([1])).join('\n');
 * // step    rows
 * // ------  ----
 * // orders    12
 * ```
 */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number> = new Set(),
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
