// The step graph of the pipeline view, loaded lazily with its layout code. Up to ELK_LIMIT steps
// are laid out by elkjs (layered, orthogonal edges); bigger graphs by a longest-path layering
// written here (elk takes seconds on thousands of nodes), and only the nodes and edges in view
// are drawn, so a 5,000-step graph scrolls like a small one.
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { stateClass } from '../components.js';
import type { ElkNode } from 'elkjs/lib/elk.bundled.js';
import { href } from '../router.js';

/** Props of {@link StepGraph}. */
export interface StepGraphProps {
  readonly steps: readonly { id: string; kind: string; inputs: readonly string[] }[];
  readonly stepStates: Readonly<Record<string, string>>;
  /** The run whose states colour the graph; nodes link to it. */
  readonly runId: string | null;
}

interface Placed {
  readonly id: string;
  readonly kind: string;
  readonly x: number;
  readonly y: number;
}

interface Layout {
  readonly nodes: readonly Placed[];
  readonly edges: readonly { from: string; to: string; points: readonly [number, number][] }[];
  readonly width: number;
  readonly height: number;
  readonly engine: 'elk' | 'layered';
}

const NODE_W = 168;
const NODE_H = 30;
const ELK_LIMIT = 300;

/**
 * Draws the steps as a left-to-right graph coloured by the latest run's step states; each node
 * links to that run focused on the step.
 *
 * @example
 * ```tsx
 * <StepGraph steps={pipeline.steps} stepStates={pipeline.stepStates} runId={pipeline.latestRun?.id ?? null} />
 * ```
 */
export function StepGraph(props: StepGraphProps): VNode {
  const [layout, setLayout] = useState<Layout | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const shape = props.steps.map((s) => `${s.id}<${s.inputs.join(',')}`).join(';');
  useEffect(() => {
    let alive = true;
    const steps = props.steps;
    (steps.length <= ELK_LIMIT ? elkLayout(steps) : Promise.resolve(layeredLayout(steps))).then(
      (result) => alive && setLayout(result),
      (failure: unknown) => {
        if (!alive) return;
        setError(failure instanceof Error ? failure.message : String(failure));
        setLayout(layeredLayout(steps));
      },
    );
    return () => {
      alive = false;
    };
  }, [shape]);

  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ left: 0, top: 0, width: 1200, height: 600 });
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    let frame = 0;
    const update = (): void => {
      frame = 0;
      setView({
        left: element.scrollLeft,
        top: element.scrollTop,
        width: element.clientWidth || 1200,
        height: element.clientHeight || 600,
      });
    };
    const onScroll = (): void => {
      if (frame === 0) frame = requestAnimationFrame(update);
    };
    update();
    element.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('resize', onScroll);
    return () => {
      element.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, [layout]);

  if (layout === undefined)
    return (
      <p class="muted" role="status">
        Laying out {props.steps.length} steps...
      </p>
    );
  const margin = 300;
  const inView = (x: number, y: number): boolean =>
    x + NODE_W >= view.left - margin &&
    x <= view.left + view.width + margin &&
    y + NODE_H >= view.top - margin &&
    y <= view.top + view.height + margin;
  const visible = layout.nodes.filter((n) => inView(n.x, n.y));
  // An edge is drawn when its bounding box meets the view (a long edge can cross it end to end).
  const edges = layout.edges.filter((e) => {
    const xs = e.points.map(([x]) => x);
    const ys = e.points.map(([, y]) => y);
    return (
      Math.max(...xs) >= view.left - margin &&
      Math.min(...xs) <= view.left + view.width + margin &&
      Math.max(...ys) >= view.top - margin &&
      Math.min(...ys) <= view.top + view.height + margin
    );
  });
  return (
    <>
      {error !== undefined && (
        <p class="muted small">elkjs failed ({error}); a layered layout is shown.</p>
      )}
      <p class="muted small">
        {layout.nodes.length} steps, laid out by{' '}
        {layout.engine === 'elk' ? 'elkjs' : 'longest-path layering'}; colours are the states of the
        latest run.
      </p>
      <div class="graph" ref={box} tabIndex={0} role="region" aria-label="Step graph">
        <svg
          width={layout.width}
          height={layout.height}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
          role="group"
          aria-label={`Graph of ${layout.nodes.length} steps`}
        >
          <g class="edges" aria-hidden="true">
            {edges.map((e) => (
              <polyline
                key={`${e.from}>${e.to}`}
                points={e.points.map((p) => p.join(',')).join(' ')}
              />
            ))}
          </g>
          {visible.map((n) => {
            const state = props.stepStates[n.id] ?? 'pending';
            const label = `${n.id} (${n.kind}): ${state}`;
            const body = (
              <>
                <rect
                  class={`node state-${stateClass(state)}`}
                  x={n.x}
                  y={n.y}
                  width={NODE_W}
                  height={NODE_H}
                  rx={4}
                />
                <text x={n.x + 8} y={n.y + 19} class="node-label">
                  {n.id.length > 20 ? `${n.id.slice(0, 19)}...` : n.id}
                </text>
              </>
            );
            return props.runId === null ? (
              <g key={n.id} role="img" aria-label={label}>
                <title>{label}</title>
                {body}
              </g>
            ) : (
              <a key={n.id} href={href(['runs', props.runId], { step: n.id })} aria-label={label}>
                <title>{label}</title>
                {body}
              </a>
            );
          })}
        </svg>
      </div>
    </>
  );
}

async function elkLayout(steps: StepGraphProps['steps']): Promise<Layout> {
  const { default: ELK } = await import('elkjs/lib/elk.bundled.js');
  const elk = new ELK();
  const known = new Set(steps.map((s) => s.id));
  const input: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.layered.spacing.nodeNodeBetweenLayers': '40',
      'elk.spacing.nodeNode': '16',
      'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    },
    children: steps.map((s) => ({ id: s.id, width: NODE_W, height: NODE_H })),
    edges: steps.flatMap((s) =>
      s.inputs
        .filter((input) => known.has(input))
        .map((input) => ({ id: `${input}>${s.id}`, sources: [input], targets: [s.id] })),
    ),
  };
  const graph = await elk.layout(input);
  const kinds = new Map(steps.map((s) => [s.id, s.kind]));
  return {
    engine: 'elk',
    width: Math.ceil((graph.width ?? 0) + 8),
    height: Math.ceil((graph.height ?? 0) + 8),
    nodes: (graph.children ?? []).map((c) => ({
      id: c.id,
      kind: kinds.get(c.id) ?? '',
      x: c.x ?? 0,
      y: c.y ?? 0,
    })),
    edges: (graph.edges ?? []).map((e) => {
      const [from = '', to = ''] = e.id.split('>');
      const points: [number, number][] = [];
      for (const section of e.sections ?? []) {
        points.push([section.startPoint.x, section.startPoint.y]);
        for (const bend of section.bendPoints ?? []) points.push([bend.x, bend.y]);
        points.push([section.endPoint.x, section.endPoint.y]);
      }
      return { from, to, points };
    }),
  };
}

/**
 * A layered layout in linear time: a step's column is its longest path from a source; within a
 * column steps keep their topological order.
 */
function layeredLayout(steps: StepGraphProps['steps']): Layout {
  const column = new Map<string, number>();
  for (const s of steps) {
    let c = 0;
    for (const input of s.inputs) c = Math.max(c, (column.get(input) ?? -1) + 1);
    column.set(s.id, c);
  }
  const rows = new Map<number, number>();
  const GAP_X = 56;
  const GAP_Y = 12;
  const nodes: Placed[] = steps.map((s) => {
    const c = column.get(s.id) ?? 0;
    const r = rows.get(c) ?? 0;
    rows.set(c, r + 1);
    return { id: s.id, kind: s.kind, x: 8 + c * (NODE_W + GAP_X), y: 8 + r * (NODE_H + GAP_Y) };
  });
  const at = new Map(nodes.map((n) => [n.id, n]));
  const edges = steps.flatMap((s) =>
    s.inputs.flatMap((input) => {
      const a = at.get(input);
      const b = at.get(s.id);
      if (a === undefined || b === undefined) return [];
      const midX = a.x + NODE_W + GAP_X / 2;
      return [
        {
          from: input,
          to: s.id,
          points: [
            [a.x + NODE_W, a.y + NODE_H / 2],
            [midX, a.y + NODE_H / 2],
            [midX, b.y + NODE_H / 2],
            [b.x, b.y + NODE_H / 2],
          ] as [number, number][],
        },
      ];
    }),
  );
  const columns = Math.max(0, ...column.values()) + 1;
  const tallest = Math.max(0, ...rows.values());
  return {
    engine: 'layered',
    nodes,
    edges,
    width: 16 + columns * (NODE_W + GAP_X),
    height: 16 + tallest * (NODE_H + GAP_Y),
  };
}
