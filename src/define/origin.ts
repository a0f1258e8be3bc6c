/** Where a step or pipeline was declared, for diagnostics that point at the user's code. */
export interface DeclarationSite {
  readonly file?: string;
  readonly line?: number;
}

const PACKAGE_ROOT = new URL('../../', import.meta.url).href;
// Frames of the compiled build may be reported at their source-mapped `src/` location.
const OWN_CODE = [`${PACKAGE_ROOT}src/`, `${PACKAGE_ROOT}dist/`];
const FRAME_LOCATION = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):\d+\)?$/;

/**
 * The first stack frame outside Sluice's own code: the user's line that called a factory.
 *
 * @example
 * ```ts
 * const site = captureDeclarationSite(); // { file: '/repo/pipelines/orders.ts', line: 12 }
 * ```
 */
export function captureDeclarationSite(): DeclarationSite {
  const stack = new Error().stack;
  if (stack === undefined) return {};
  for (const frame of stack.split('\n').slice(1)) {
    const match = FRAME_LOCATION.exec(frame.trim());
    if (match === null) continue;
    const [, location, line] = match;
    if (location === undefined || line === undefined) continue;
    const href = location.startsWith('file://') ? location : `file://${location}`;
    const ownCode = OWN_CODE.some((root) => href.startsWith(root)) && !href.includes('.test.');
    if (ownCode || location.includes('/node_modules/')) continue;
    return { file: location.replace(/^file:\/\//, ''), line: Number(line) };
  }
  return {};
}
