/** Module hooks of count-modules.js: note every module URL as it is loaded. */
import { appendFileSync } from 'node:fs';

let log = '';

/** Receives the file to append to. */
export function initialize(data) {
  log = data.log;
}

/** Notes the URL, then loads as usual. */
export async function load(url, context, nextLoad) {
  appendFileSync(log, `${url}\n`);
  return nextLoad(url, context);
}
