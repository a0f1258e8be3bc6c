import { describe, expect, it } from 'vitest';
import type { LineageGraph } from '../orchestrator/lineage-graph.js';
import { dotString, formatLineageGraph, mermaidText } from './lineage-format.js';

const HOSTILE = [
  'plain',
  'q"uote',
  "single'quote",
  'back\\slash"',
  'new\nline',
  'cr\rreturn',
  '[brackets](parens){braces}<angle>',
  'semi;colon#hash`tick|pipe&amp',
  'ünïcödé 数据 🚰',
  '-->',
  '"]; evil --> x["',
  '}\ndigraph x {',
  '',
];

function graphOf(names: readonly string[]): LineageGraph {
  return {
    graph: names.map((name, i) => ({
      id: `dataset:ns:${name}`,
      type: 'DATASET' as const,
      data: { namespace: 'ns', name },
      inEdges:
        i === 0
          ? []
          : [{ origin: `dataset:ns:${names[i - 1]}`, destination: `dataset:ns:${name}` }],
      outEdges: [],
    })),
  };
}

/** Reads a DOT double-quoted string back the way Graphviz does (\\ \" \n \r). */
function unDot(quoted: string): string {
  expect(quoted.startsWith('"') && quoted.endsWith('"')).toBe(true);
  return quoted
    .slice(1, -1)
    .replace(/\\(.)/gs, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

describe('lineage output formats', () => {
  it('DOT strings hold any name, and read back to it', () => {
    for (const name of HOSTILE) {
      const quoted = dotString(name);
      expect(quoted).not.toMatch(/[\n\r]/);
      // no unescaped quote inside
      expect(quoted.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/);
      expect(unDot(quoted)).toBe(name);
    }
  });

  it('Mermaid labels keep only safe characters and encode the rest as entity codes', () => {
    for (const name of HOSTILE) {
      const text = mermaidText(name);
      expect(text).toMatch(/^[\p{L}\p{N} ._:/\-#;]*$/u);
      const decoded = text.replace(/#(\d+);/g, (_, code: string) =>
        String.fromCodePoint(Number(code)),
      );
      expect(decoded).toBe(name);
    }
    expect(mermaidText('a"[b]')).toBe('a#34;#91;b#93;');
  });

  it('DOT and Mermaid outputs of hostile names are one statement a line, nodes by generated keys', () => {
    const graph = graphOf(HOSTILE);
    const dot = formatLineageGraph(graph, 'dot');
    const dotLines = dot.trimEnd().split('\n');
    expect(dotLines[0]).toBe('digraph lineage {');
    expect(dotLines.at(-1)).toBe('}');
    expect(
      dotLines.filter((l) => /^ {2}n\d+ \[label=".*", shape=ellipse\];$/.test(l)),
    ).toHaveLength(HOSTILE.length);
    expect(dotLines.filter((l) => /^ {2}n\d+ -> n\d+;$/.test(l))).toHaveLength(HOSTILE.length - 1);
    expect(dotLines).toHaveLength(3 + HOSTILE.length + HOSTILE.length - 1);
    const mermaid = formatLineageGraph(graph, 'mermaid');
    const lines = mermaid.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(lines.filter((l) => /^ {2}n\d+\["[\p{L}\p{N} ._:/\-#;]*"\]$/u.test(l))).toHaveLength(
      HOSTILE.length,
    );
    expect(lines.filter((l) => /^ {2}n\d+ --> n\d+$/.test(l))).toHaveLength(HOSTILE.length - 1);
    expect(lines).toHaveLength(1 + 2 * HOSTILE.length - 1);
  });

  it('text output quotes names, so line breaks and escapes in them cannot forge lines', () => {
    const text = formatLineageGraph(graphOf(['new\nline', '\u001b[31mred']), 'text');
    expect(text.split('\n').filter((l) => l !== '')).toEqual([
      '2 datasets, 0 jobs, 1 edges',
      '  dataset "ns:new\\nline" -> dataset "ns:\\u001b[31mred"',
    ]);
  });
});
