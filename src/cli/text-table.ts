/**
 * Rows as aligned columns for a terminal: every column but the last padded to its widest cell,
 * two spaces apart, one line per row.
 *
 * @example
 * ```ts
 * formatColumns([['NAME', 'ROLE'], ['deploy-bot', 'trigger']]);
 * // "NAME        ROLE\ndeploy-bot  trigger\n"
 * ```
 */
export function formatColumns(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns - 1 }, (_, i) =>
    Math.max(...rows.map((r) => (r[i] ?? '').length)),
  );
  return `${rows
    .map((r) =>
      r.map((cell, i) => (i < columns - 1 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '),
    )
    .join('\n')}\n`;
}
