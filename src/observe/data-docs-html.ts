/**
 * Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"` and `'`
 * become entities. Every piece of data the data docs put into a page goes through it.
 *
 * @example
 * ```ts
 * escapeHTML('<script>alert("x")</script>'); // "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
 * ```
 */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Any value as short display text: strings as they are, everything else as JSON, cut to `max`
 * characters with an ellipsis. Not escaped: pass the result to {@link escapeHTML}.
 *
 * @example
 * ```ts
 * displayValue('C 011'); // "C 011"
 * displayValue({ min: 0 }); // '{"min":0}'
 * ```
 */
export function displayValue(value: unknown, max = 160): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'bigint') text = value.toString();
  else if (value === undefined) text = '';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A count with thousands separators, or `-` when unknown.
 *
 * @example
 * ```ts
 * formatCount(12345); // "12,345"
 * ```
 */
export function formatCount(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : '-';
}

/**
 * A 0..100 share with at most two decimals (one for quality scores), or `-` when unknown.
 *
 * @example
 * ```ts
 * formatPercent(2.3255813953488373); // "2.33%"
 * ```
 */
export function formatPercent(n: number | null | undefined, decimals = 2): string {
  return typeof n === 'number' && Number.isFinite(n) ? `${Number(n.toFixed(decimals))}%` : '-';
}

/**
 * A quality score (0..100) with one decimal, or `-` when the suite evaluated nothing.
 *
 * @example
 * ```ts
 * formatScore(66.66666666666666); // "66.7"
 * ```
 */
export function formatScore(score: number | null | undefined): string {
  return typeof score === 'number' && Number.isFinite(score) ? score.toFixed(1) : '-';
}

/** The stylesheet of every page: inline, no web fonts, readable in light and dark schemes. */
const CSS = `
:root{color-scheme:light dark;--fg:#1d232a;--muted:#5b6672;--bg:#fff;--panel:#f5f7f9;--line:#d9dee3;--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--accent:#1f6feb}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9aa7b3;--bg:#0d1117;--panel:#161b22;--line:#30363d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--accent:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 20px}
header{padding-top:16px}
nav{font-size:13px;color:var(--muted)}
a{color:var(--accent)}
h1{font-size:22px;margin:6px 0 4px;word-break:break-all}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
p.note,.muted{color:var(--muted)}
.summary{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:20px}
.card span{color:var(--muted);font-size:12px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.time{white-space:nowrap}
code,.mono{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.bar{display:inline-block;width:70px;height:8px;background:var(--line);border-radius:4px;vertical-align:middle;margin-left:6px;overflow:hidden}
.bar i{display:block;height:100%;background:var(--ok)}
.bar i.low{background:var(--bad)}.bar i.mid{background:var(--warn)}
ul.samples{margin:0;padding-left:16px}
ul.samples li{margin:0}
figure{margin:8px 0 16px}
figcaption{font-size:12px;color:var(--muted)}
svg.chart{max-width:100%;height:auto;background:var(--panel);border:1px solid var(--line);border-radius:4px}
svg.chart.spark{border:none;background:none;vertical-align:middle}
svg .grid{stroke:var(--line);stroke-width:1}
svg .tick,svg .empty{fill:var(--muted);font-size:11px}
svg .line{fill:none;stroke:var(--accent);stroke-width:1.6;stroke-linejoin:round}
svg .dot{fill:var(--accent)}svg .dot.bad{fill:var(--bad)}
footer{margin:32px auto 24px;font-size:12px;color:var(--muted)}
`
  .trim()
  .replace(/\n/g, '');

/**
 * Options of {@link pageHTML}.
 *
 * @example
 * ```ts
 * const options: PageOptions = { title: 'orders', body: '<p>hi</p>', generatedAt: new Date() };
 * ```
 */
export interface PageOptions {
  /** Plain text; escaped here. */
  readonly title: string;
  /** Trusted HTML built by the page renderers (data already escaped). */
  readonly body: string;
  /** Trusted HTML for the breadcrumb line above the title. */
  readonly nav?: string;
  readonly generatedAt: Date;
}

/**
 * Wraps a page body in a complete HTML document with the inline stylesheet and a
 * Content-Security-Policy that allows no script and no external resource at all, so a value that
 * slipped through escaping still could not run code or phone home.
 *
 * @example
 * ```ts
 * await writeFile('index.html', pageHTML({ title: 'Data docs', body, generatedAt: new Date() }));
 * ```
 */
export function pageHTML(options: PageOptions): string {
  const title = escapeHTML(options.title);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="sluice docs">',
    `<title>${title} · Sluice data docs</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<header>${options.nav === undefined ? '' : `<nav>${options.nav}</nav>`}<h1>${title}</h1></header>`,
    `<main>${options.body}</main>`,
    `<footer>Generated by <code>sluice docs</code> at ${escapeHTML(options.generatedAt.toISOString())}. Static page: no script, no network.</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
