// Small shared pieces of the views: state badges, error boxes, the virtualised list.
import type { ComponentChildren, VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { APIError } from './api.js';

/**
 * A run or step state as a labelled badge (its colour comes from the stylesheet).
 *
 * @example
 * ```tsx
 * <StateBadge state="failed" />
 * ```
 */
export function StateBadge({ state }: { state: string }): VNode {
  return <span class={`badge state-${stateClass(state)}`}>{state}</span>;
}

/**
 * The CSS class suffix of a state (unknown states share one).
 *
 * @example
 * ```ts
 * stateClass('success'); // "success"
 * ```
 */
export function stateClass(state: string | undefined): string {
  return state !== undefined && KNOWN.has(state) ? state : 'other';
}

const KNOWN = new Set([
  'queued',
  'running',
  'success',
  'failed',
  'canceled',
  'skipped',
  'pending',
  'up_for_retry',
  'upstream_failed',
]);

/**
 * An error for people: the API's message and code, in an alert region.
 *
 * @example
 * ```tsx
 * <ErrorBox error={resource.error} />
 * ```
 */
export function ErrorBox({ error }: { error: Error | undefined }): VNode | null {
  if (error === undefined) return null;
  const code = error instanceof APIError ? ` (${error.code})` : '';
  return (
    <p class="error" role="alert">
      {error.message}
      {code}
    </p>
  );
}

/**
 * A loading line that screen readers announce.
 *
 * @example
 * ```tsx
 * {resource.loading && <Loading />}
 * ```
 */
export function Loading({ what = 'data' }: { what?: string }): VNode {
  return (
    <p class="muted" role="status">
      Loading {what}...
    </p>
  );
}

/**
 * A scrolling list that renders only the rows in view (plus a margin), so 5,000 rows cost what
 * 50 do. Rows have a fixed height.
 *
 * @example
 * ```tsx
 * <VirtualList count={steps.length} rowHeight={24} maxHeight={480} label="Steps" renderRow={(i) => <div>{steps[i]}</div>} />
 * ```
 */
export function VirtualList(props: {
  count: number;
  rowHeight: number;
  maxHeight: number;
  label: string;
  renderRow: (index: number) => ComponentChildren;
  class?: string;
}): VNode {
  const { count, rowHeight, maxHeight } = props;
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const height = Math.min(maxHeight, count * rowHeight);
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    let frame = 0;
    const onScroll = (): void => {
      if (frame !== 0) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setTop(element.scrollTop);
      });
    };
    element.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      element.removeEventListener('scroll', onScroll);
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, []);
  const overscan = 10;
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + height) / rowHeight) + overscan);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) rows.push(props.renderRow(i));
  return (
    <div
      ref={box}
      class={`virtual ${props.class ?? ''}`}
      style={{ maxHeight: `${maxHeight}px` }}
      tabIndex={0}
      role="region"
      aria-label={props.label}
    >
      <div class="virtual-space" style={{ height: `${count * rowHeight}px` }}>
        <div class="virtual-window" style={{ transform: `translateY(${first * rowHeight}px)` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
