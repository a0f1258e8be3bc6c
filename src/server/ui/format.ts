// Formatting of times, durations and counts for the views (the browser's locale and zone).

/**
 * A point in time for people: "2026-03-01 14:05:09" in the browser's zone, or "-" for null.
 *
 * @example
 * ```ts
 * formatTime(Date.now());
 * ```
 */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * A duration for people: "850 ms", "12.3 s", "4 min 5 s", "2 h 3 min", or "-".
 *
 * @example
 * ```ts
 * formatDuration(12_300); // "12.3 s"
 * ```
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000)
    return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/**
 * A count with thousands separators, or "-" for null.
 *
 * @example
 * ```ts
 * formatCount(12345); // "12,345"
 * ```
 */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : n.toLocaleString('en');
}

/**
 * "in 5 min" / "3 min ago" relative to now.
 *
 * @example
 * ```ts
 * formatRelative(Date.now() + 300_000); // "in 5 min 0 s"
 * ```
 */
export function formatRelative(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return '-';
  const delta = ms - now;
  return delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}
