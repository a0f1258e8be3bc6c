#!/usr/bin/env node
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(
    `sluice needs Node.js 20 or later (24 recommended); this is Node.js ${process.versions.node}.\n` +
      'Install a current Node.js LTS from https://nodejs.org or your package manager.\n',
  );
  process.exit(2);
}

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'sluice is not built: run `npm install` (or `npm run build`) in its folder first.\n',
  );
  process.exit(2);
}
process.setSourceMapsEnabled(true);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
