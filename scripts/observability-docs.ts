/**
 * Generates the metrics catalog of `docs/observability.md` from the families the code defines
 * (`src/observe/metrics/catalog.ts`): one table per area with each family's name, type, labels,
 * unit and meaning. Only the part between the two markers is generated; the prose around it is
 * written by hand in the page. Output is deterministic, so a test compares it with the page.
 *
 * Run: `npm run docs:observability`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MetricArea, MetricFamily } from '../src/observe/metrics/catalog.js';
import { METRIC_FAMILIES } from '../src/observe/metrics/catalog.js';
import { isMainModule, renderTable } from './markdown.js';

/** The command that regenerates the catalog. */
export const REGENERATE_COMMAND = 'npm run docs:observability';

/** The page holding the catalog, from the repository's root. */
export const OBSERVABILITY_PAGE = 'docs/observability.md';

/** The markers around the generated catalog. */
export const CATALOG_START =
  '<!-- metrics-catalog:start (generated: npm run docs:observability) -->';
export const CATALOG_END = '<!-- metrics-catalog:end -->';

const AREAS: readonly { readonly area: MetricArea; readonly heading: string }[] = [
  { area: 'orchestrator', heading: '### Runs and the orchestrator' },
  { area: 'batch', heading: '### Steps, records and quality' },
  { area: 'stream', heading: '### Streams' },
  { area: 'process', heading: '### The process' },
];

/**
 * The generated catalog: a table per area, then what the closed labels' values are.
 *
 * @example
 * ```ts
 * const block = renderMetricsCatalog();
 * ```
 */
export function renderMetricsCatalog(): string {
  const families: readonly MetricFamily[] = Object.values(METRIC_FAMILIES);
  const out = [CATALOG_START, ''];
  for (const { area, heading } of AREAS) {
    const rows = families
      .filter((family) => family.area === area)
      .map((family) => [
        `\`${family.name}\``,
        family.type,
        family.labels.length === 0 ? '-' : family.labels.map((l) => `\`${l}\``).join(', '),
        family.unit,
        meaning(family),
      ]);
    if (rows.length === 0) continue;
    out.push(heading, '', renderTable(['name', 'type', 'labels', 'unit', 'meaning'], rows), '');
  }
  out.push('### Label values', '');
  for (const family of families)
    for (const [label, values] of Object.entries(family.labelValues ?? {}))
      out.push(
        `- \`${label}\` of \`${family.name}\`: ${(values ?? []).map((v) => `\`${v}\``).join(', ')}`,
      );
  out.push('', CATALOG_END);
  return out.join('\n');
}

/**
 * The page with its catalog replaced by the current one.
 *
 * @example
 * ```ts
 * writeFileSync(path, withCurrentCatalog(readFileSync(path, 'utf8')));
 * ```
 */
export function withCurrentCatalog(page: string): string {
  const start = page.indexOf(CATALOG_START);
  const end = page.indexOf(CATALOG_END);
  if (start < 0 || end < start)
    throw new Error(
      `${OBSERVABILITY_PAGE} has no catalog markers (${CATALOG_START} ... ${CATALOG_END})`,
    );
  return `${page.slice(0, start)}${renderMetricsCatalog()}${page.slice(end + CATALOG_END.length)}`;
}

function meaning(family: MetricFamily): string {
  const notes: string[] = [family.help.replace(/\|/g, '\\|')];
  if (family.type === 'histogram') notes.push(`Buckets: ${(family.buckets ?? []).join(', ')}.`);
  if (family.exemplars === true) notes.push('Exemplar: `run_id` (OpenMetrics).');
  return notes.join(' ');
}

if (isMainModule(import.meta.url)) {
  const target = fileURLToPath(new URL(`../${OBSERVABILITY_PAGE}`, import.meta.url));
  writeFileSync(target, withCurrentCatalog(readFileSync(target, 'utf8')));
  process.stdout.write(`wrote the metrics catalog of ${OBSERVABILITY_PAGE}\n`);
}
