// Builds the web UI (src/server/ui, Preact + TSX) into dist/ui/ with esbuild: index.html,
// app.[hash].js, app.[hash].css, lazily loaded chunks (the pipeline view's graph layout) and
// source maps. Prints each file's gzipped size and fails when the first view passes its budget.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist', 'ui');
/** Gzipped bytes the first view (index.html, the entry script and its stylesheet) may take. */
const FIRST_VIEW_BUDGET = 300 * 1024;

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const result = await build({
  entryPoints: { app: join(root, 'src', 'server', 'ui', 'main.tsx') },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome109', 'firefox115', 'safari16'],
  outdir,
  entryNames: '[name].[hash]',
  chunkNames: 'chunk.[hash]',
  assetNames: '[name].[hash]',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.entries(result.metafile.outputs);
const entry =
  outputs.find(([, meta]) => meta.entryPoint !== undefined && meta.cssBundle !== undefined) ??
  outputs.find(([, meta]) => meta.entryPoint !== undefined);
if (entry === undefined) throw new Error('esbuild produced no entry script');
const script = basename(entry[0]);
const stylesheet = entry[1].cssBundle === undefined ? undefined : basename(entry[1].cssBundle);
const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <title>Sluice</title>
    <link rel="icon" href="data:," />
${stylesheet === undefined ? '' : `    <link rel="stylesheet" href="./${stylesheet}" />\n`}    <script type="module" src="./${script}"></script>
  </head>
  <body>
    <div id="app"></div>
    <noscript>The Sluice UI needs JavaScript; the same data is at /api/v1 (see docs/ui.md).</noscript>
  </body>
</html>
`;
await writeFile(join(outdir, 'index.html'), html);

const gz = async (name) => gzipSync(await readFile(join(outdir, name)), { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const files = (await readdir(outdir)).filter((name) => !name.endsWith('.map')).sort();
const sizes = await Promise.all(files.map(async (name) => [name, await gz(name)]));
const first = ['index.html', script, ...(stylesheet === undefined ? [] : [stylesheet])];
// Static imports of the entry load with it; dynamic ones (the graph layout) do not.
const staticChunks = entry[1].imports
  .filter((i) => i.kind === 'import-statement')
  .map((i) => basename(i.path));
first.push(...staticChunks);
const firstView = sizes
  .filter(([name]) => first.includes(name))
  .reduce((n, [, size]) => n + size, 0);
for (const [name, size] of sizes) process.stdout.write(`  dist/ui/${name}  ${kb(size)} gzipped\n`);
process.stdout.write(
  `web UI first view: ${kb(firstView)} gzipped (budget ${kb(FIRST_VIEW_BUDGET)})\n`,
);
if (firstView > FIRST_VIEW_BUDGET) {
  process.stderr.write(
    'the first view of the web UI is over its budget: split the bundle further\n',
  );
  process.exit(1);
}
