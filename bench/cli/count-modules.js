/**
 * `node --import ./bench/cli/count-modules.js <script>`: counts the module files the script
 * loads. ES modules are seen by a load hook (on the hooks thread, which appends each URL to a
 * file synchronously, before the module runs); CommonJS files loaded by `require` from other
 * CommonJS files bypass ES hooks on Node 20, so `require.cache` adds those at exit. Both are
 * merged by path. Writes `{ "modules": n, "native": n, "files": [...] }` to the file named by
 * SLUICE_BENCH_MODULES_OUT.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';

const out = process.env['SLUICE_BENCH_MODULES_OUT'];
if (out === undefined || out === '') throw new Error('set SLUICE_BENCH_MODULES_OUT');
const esmLog = `${out}.esm`;
writeFileSync(esmLog, '');
register('./count-modules-hooks.js', import.meta.url, { data: { log: esmLog } });
const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);

process.on('exit', () => {
  const files = new Set(Object.keys(require.cache));
  for (const url of readFileSync(esmLog, 'utf8').split('\n')) {
    if (url.startsWith('file:')) files.add(fileURLToPath(url));
  }
  files.delete(self);
  const sorted = [...files].sort();
  appendFileSync(
    out,
    `${JSON.stringify({
      modules: sorted.length,
      native: sorted.filter((file) => file.endsWith('.node')).length,
      files: sorted,
    })}\n`,
  );
});
