import { textTable } from '../core/text-table.js';
import type { ColumnProfile, DatasetProfile, ProfileValue } from './profile.js';
import type { FileProfile } from './profile-file.js';

const VALUE_WIDTH = 24;

/**
 * Renders a profile for people: a header, the records the reader set aside, one table row per
 * column (type, nulls, distinct, min, max, mean, stdev), then per-column details (quartiles,
 * string lengths, semantic kinds, top values).
 *
 * @example
 * ```ts
 * process.stdout.write(formatProfile(await profileFile('data/orders.csv')));
 * ```
 */
export function formatProfile(profile: DatasetProfile | FileProfile): string {
  const out: string[] = [];
  const source = 'source' in profile ? profile.source : undefined;
  const mode = profile.approximate ? 'approximate' : 'exact';
  const what = source === undefined ? 'Profile' : `Profile of ${source.path} (${source.format})`;
  out.push(
    `${what}: ${count(profile.rowCount)} rows, ${profile.columnCount} columns (${mode}, ${formatMs(profile.durationMs)})`,
  );
  if (source !== undefined && source.rowsQuarantined > 0) {
    out.push(
      '',
      `Quarantined ${count(source.rowsQuarantined)} of ${count(source.rowsRead)} record(s) the reader could not use; they are not profiled:`,
    );
    for (const record of source.quarantined) {
      const where = record.line === null ? '' : `line ${record.line}: `;
      out.push(`  ${where}${clip(record.reason, 160)}`);
      if (record.record !== null && record.record !== undefined) {
        const text =
          typeof record.record === 'string' ? record.record : JSON.stringify(record.record);
        out.push(`    record: ${clip(text, 150)}`);
      }
    }
    if (source.rowsQuarantined > source.quarantined.length) {
      out.push(`  ... and ${count(source.rowsQuarantined - source.quarantined.length)} more`);
    }
  }

  const header = ['column', 'type', 'nulls', 'distinct', 'min', 'max', 'mean', 'stdev'];
  const rows = profile.columns.map((c) => [
    c.name,
    c.type,
    c.nullCount === 0 ? '0' : `${count(c.nullCount)} (${percent(c.nullPercent / 100)})`,
    distinct(c),
    clip(show(c.min), VALUE_WIDTH),
    clip(show(c.max), VALUE_WIDTH),
    c.mean === null ? '' : number(c.mean),
    c.stdev === null ? '' : number(c.stdev),
  ]);
  out.push('', ...textTable(header, rows, new Set([2, 3, 6, 7])));

  const details = (title: string, lines: [string, string][]): void => {
    if (lines.length === 0) return;
    const width = Math.max(...lines.map(([name]) => name.length));
    out.push('', title, ...lines.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`));
  };
  details(
    `Quartiles (p25 / p50 / p75${profile.approximate ? ', estimated' : ''})`,
    profile.columns.flatMap((c) =>
      c.quantiles === null || c.quantiles.p50 === null
        ? []
        : [[c.name, [c.quantiles.p25, c.quantiles.p50, c.quantiles.p75].map(show).join(' / ')]],
    ),
  );
  details(
    'String lengths (min / mean / max), empty strings',
    profile.columns.flatMap((c) =>
      c.length === null
        ? []
        : [
            [
              c.name,
              `${c.length.min} / ${number(c.length.mean)} / ${c.length.max}${c.emptyCount ? `, ${count(c.emptyCount)} empty` : ''}`,
            ],
          ],
    ),
  );
  details(
    'Floats: NaN and infinite values',
    profile.columns.flatMap((c) =>
      (c.nanCount ?? 0) + (c.infiniteCount ?? 0) === 0
        ? []
        : [[c.name, `${count(c.nanCount ?? 0)} NaN, ${count(c.infiniteCount ?? 0)} infinite`]],
    ),
  );
  details(
    `Semantic kinds (at least ${percent(profile.semanticThreshold)} of non-null values)`,
    profile.columns.flatMap((c) =>
      c.semanticKinds.length === 0
        ? []
        : [
            [
              c.name,
              c.semanticKinds
                .map(
                  (k) =>
                    `${k.kind} ${percent(k.share)} (${count(k.matches)} of ${count(c.nonNullCount)})`,
                )
                .join(', '),
            ],
          ],
    ),
  );
  details(
    'Top values (count)',
    profile.columns.flatMap((c): [string, string][] => {
      if (c.nonNullCount === 0) return [[c.name, 'all null']];
      if (c.topValues === null) return [[c.name, 'skipped: too many distinct values to count']];
      if (c.topValues.length > 0 && c.topValues[0]?.count === 1) {
        return [[c.name, 'every value is distinct']];
      }
      return [
        [
          c.name,
          c.topValues
            .map((t) => `${clip(show(t.value), VALUE_WIDTH)} (${count(t.count)})`)
            .join(', '),
        ],
      ];
    }),
  );
  return `${out.join('\n')}\n`;
}

function distinct(c: ColumnProfile): string {
  const n = `${c.distinctApproximate ? '~' : ''}${count(c.distinctCount)}`;
  return !c.distinctApproximate && c.nonNullCount > 1 && c.distinctCount === c.nonNullCount
    ? `${n} (unique)`
    : n;
}

function show(value: ProfileValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return number(value);
  return String(value);
}

function number(value: number): string {
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e15) return String(value);
  if (abs !== 0 && (abs >= 1e15 || abs < 1e-4)) return value.toPrecision(6);
  return String(Number(value.toFixed(2)));
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A share as a percentage, rounded down so that 99.97% never shows as 100%. */
function percent(share: number): string {
  const value = share * 100;
  const digits = value >= 10 ? 1 : 2;
  const factor = 10 ** digits;
  return `${Number((Math.floor(value * factor + 1e-9) / factor).toFixed(digits))}%`;
}

function clip(text: string, width: number): string {
  const flat = text.replaceAll(/\s+/g, ' ');
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}
