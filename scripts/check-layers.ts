/**
 * Checks the source layout of ../shared/DESIGN.md over the TypeScript import graph of `src/`:
 * every import between two rooms must follow an allowed arrow, and no files may import each
 * other in a circle. Prints each offending arrow with its file and import, and exits 1.
 *
 * Rooms are the folders under `src/` (each connector folder is a room of its own) and the
 * top-level files `registry.ts` and `index.ts`. Type-only imports count as arrows too (they are
 * what a reader follows), except where a rule allows them by name. Colocated tests are not
 * checked. Dynamic `import()` counts like a static import.
 *
 * Run: `npm run lint` (or `node --import jiti/register scripts/check-layers.ts`)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';

// Loaded by Node itself: through jiti the 9 MB compiler would be transformed first (30 s).
const ts = createRequire(import.meta.url)('typescript') as typeof TS;

/** One import of one file of `src/`. */
export interface ImportEdge {
  /** Both relative to the repository root, `/`-separated. */
  readonly from: string;
  readonly to: string;
  /** The module specifier as written. */
  readonly specifier: string;
  readonly typeOnly: boolean;
  readonly line: number;
}

/** What a room may import besides itself, at run time and in types. */
interface RoomRule {
  readonly imports: readonly string[];
  /** Rooms (or `connectors/*`) this room may import with `import type` only. */
  readonly typeImports?: readonly string[];
}

const CONNECTOR = 'connectors/*';
const BELOW_CONNECTORS = ['core', 'contracts', 'connectors/shared'];
/** The rooms of the library proper, up to the stream runtime. */
const LIBRARY = [
  'core',
  'contracts',
  'quality',
  'define',
  'plan',
  'observe',
  'table',
  'engine',
  'stream',
];
const REGISTRIES = ['registry', 'default-stream-registry'];

/**
 * The allowed arrows, from the bottom up. `connectors/*` stands for every connector folder other
 * than `connectors/shared`.
 */
export const ROOM_RULES: Readonly<Record<string, RoomRule>> = {
  core: { imports: [] },
  contracts: { imports: ['core'] },
  table: { imports: ['core', 'contracts'] },
  quality: { imports: ['core', 'contracts'] },
  'connectors/shared': { imports: ['core', 'contracts'] },
  'connectors/delta': { imports: [...BELOW_CONNECTORS, 'table'] },
  [CONNECTOR]: { imports: BELOW_CONNECTORS },
  // The typed factories (`source.postgres(config)`) name each connector's config type.
  define: {
    imports: ['core', 'contracts', 'quality'],
    typeImports: [CONNECTOR, 'connectors/shared'],
  },
  plan: { imports: ['core', 'contracts', 'quality', 'define'] },
  observe: { imports: ['core', 'contracts', 'quality', 'define', 'plan'] },
  engine: { imports: ['core', 'contracts', 'quality', 'define', 'plan', 'observe', 'table'] },
  stream: {
    imports: ['core', 'contracts', 'quality', 'define', 'plan', 'observe', 'table', 'engine'],
  },
  orchestrator: { imports: LIBRARY },
  registry: {
    imports: ['core', 'contracts', 'connectors/shared', CONNECTOR, 'engine', 'stream'],
  },
  // Apart from the batch registry, so commands without streams do not load the stream connectors.
  'default-stream-registry': {
    imports: ['core', 'contracts', 'connectors/shared', CONNECTOR, 'engine', 'stream', 'registry'],
  },
  index: { imports: [...LIBRARY, 'orchestrator', ...REGISTRIES] },
  server: { imports: [...LIBRARY, 'orchestrator', ...REGISTRIES, 'connectors/shared', CONNECTOR] },
  cli: {
    imports: [...LIBRARY, 'orchestrator', ...REGISTRIES, 'server', 'connectors/shared', CONNECTOR],
  },
};

/**
 * Arrows that break the rules on purpose, each with the reason it stays. A new one fails the
 * check; remove an entry when its reason is gone.
 */
export const KNOWN_EXCEPTIONS: Readonly<Record<string, string>> = {
  'src/engine/executor.ts -> src/registry.ts':
    'runPipeline falls back to the default registry when none is passed',
  'src/engine/published-runs.ts -> src/registry.ts':
    'publishedSinks falls back to the default registry when none is passed',
  'src/orchestrator/run-cache.ts -> src/registry.ts':
    'runCacheKey falls back to the default registry when none is passed',
  'src/engine/index.ts -> src/registry.ts':
    'deprecated re-export of defaultRegistry from sluice/engine',
  'src/stream/index.ts -> src/default-stream-registry.ts':
    'sluice/stream is the public home of defaultStreamRegistry and the lookup.* factories',
  'src/connectors/files/index.ts -> src/connectors/delta/index.ts':
    'deprecated re-export of the Delta connectors from sluice/connectors/files',
  'src/quality/validate-data-file.ts -> src/connectors/files/read-data-file.ts':
    'validateDataFile reads a file with the file sources its extension names',
  'src/quality/profile-file.ts -> src/connectors/files/read-data-file.ts':
    'profileFile reads a file with the file sources its extension names',
  'src/define/stream.ts -> src/stream/operator-spec.ts':
    'stream definitions hold operator specs (types only)',
};

/** The room a file of `src/` belongs to: its folder, a connector folder, or a top-level file. */
export function roomOf(file: string): string {
  const parts = file.split('/').slice(1);
  if (parts.length === 1) return (parts[0] ?? '').replace(/\.ts$/, '');
  if (parts[0] === 'connectors') return `connectors/${parts[1]}`;
  return parts[0] ?? '';
}

function ruleOf(room: string): RoomRule | undefined {
  if (ROOM_RULES[room] !== undefined) return ROOM_RULES[room];
  return room.startsWith('connectors/') ? ROOM_RULES[CONNECTOR] : undefined;
}

function allows(list: readonly string[] | undefined, room: string): boolean {
  if (list === undefined) return false;
  if (list.includes(room)) return true;
  return room.startsWith('connectors/') && room !== 'connectors/shared' && list.includes(CONNECTOR);
}

/** Why `edge` breaks the rules, or undefined when it follows them. */
export function arrowProblem(edge: ImportEdge): string | undefined {
  const from = roomOf(edge.from);
  const to = roomOf(edge.to);
  if (from === to) return undefined;
  const rule = ruleOf(from);
  if (rule === undefined) return `${from} is not a room of DESIGN.md's layout`;
  if (allows(rule.imports, to)) return undefined;
  if (edge.typeOnly && allows(rule.typeImports, to)) return undefined;
  if (KNOWN_EXCEPTIONS[`${edge.from} -> ${edge.to}`] !== undefined) return undefined;
  return `${from} may not import ${to}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') && !path.endsWith('.test.ts')
      ? [path]
      : [];
  });
}

/** Every relative import of the non-test files under `root/src`. */
export function importGraph(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const toPosix = (path: string): string => relative(root, path).split(sep).join('/');
  for (const path of sourceFiles(join(root, 'src'))) {
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
    const add = (specifier: string, typeOnly: boolean, node: TS.Node): void => {
      if (!specifier.startsWith('.')) return;
      const target = resolve(dirname(path), specifier).replace(/\.js$/, '.ts');
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      edges.push({ from: toPosix(path), to: toPosix(target), specifier, typeOnly, line: line + 1 });
    };
    const visit = (node: TS.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        add(node.moduleSpecifier.text, node.importClause?.isTypeOnly === true, node);
      } else if (
        ts.isExportDeclaration(node) &&
        node.moduleSpecifier !== undefined &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        add(node.moduleSpecifier.text, node.isTypeOnly, node);
      } else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] !== undefined &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        add(node.arguments[0].text, false, node);
      } else if (
        ts.isImportTypeNode(node) &&
        ts.isLiteralTypeNode(node.argument) &&
        ts.isStringLiteral(node.argument.literal)
      ) {
        add(node.argument.literal.text, true, node);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return edges;
}

/** The groups of files that import each other in a circle (strongly connected, two or more). */
export function fileCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const edge of edges) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file) ?? 0);
    stack.push(file);
    onStack.add(file);
    for (const target of next.get(file) ?? []) {
      if (!index.has(target)) {
        connect(target);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1) cycles.push(group.sort());
  };
  for (const file of next.keys()) if (!index.has(file)) connect(file);
  return cycles;
}

/** Checks `root` and returns the problems found, one line each. */
export function checkLayers(root: string): string[] {
  const edges = importGraph(root);
  const problems = edges.flatMap((edge) => {
    const problem = arrowProblem(edge);
    return problem === undefined
      ? []
      : [`${edge.from}:${edge.line}: ${problem} (import '${edge.specifier}')`];
  });
  for (const cycle of fileCycles(edges)) {
    const arrows = edges.filter((e) => cycle.includes(e.from) && cycle.includes(e.to));
    problems.push(
      `file cycle: ${cycle.join(', ')}\n` +
        arrows.map((e) => `  ${e.from}:${e.line} imports '${e.specifier}'`).join('\n'),
    );
  }
  return problems;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = checkLayers(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(
      `\n${problems.length} layering problem(s); the allowed arrows are in scripts/check-layers.ts ` +
        '(ROOM_RULES) and docs/extending.md.',
    );
    process.exit(1);
  }
  console.log('layers: every import follows an allowed arrow; no file cycles');
}
