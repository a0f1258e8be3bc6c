// A hash router: "#/pipelines/orders?cursor=x" -> { parts: ['pipelines', 'orders'], query }.
// Hashes that do not start with "#/" (in-page anchors) are not routes and change nothing.
import { useEffect, useState } from 'preact/hooks';

/** The current view's address. */
export interface Route {
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
  /** The hash it came from, e.g. "#/runs/r1?step=load". */
  readonly hash: string;
}

/**
 * Parses a hash into a route.
 *
 * @example
 * ```ts
 * parseRoute('#/runs/r1?step=load').parts; // ['runs', 'r1']
 * ```
 */
export function parseRoute(hash: string): Route {
  const text = hash.startsWith('#/') ? hash.slice(2) : '';
  const at = text.indexOf('?');
  const path = at < 0 ? text : text.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : text.slice(at + 1));
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query, hash: `#/${text}` };
}

/**
 * The hash of a view: `href('runs', id)` with an optional query.
 *
 * @example
 * ```ts
 * href(['runs', 'r1'], { step: 'load' }); // "#/runs/r1?step=load"
 * ```
 */
export function href(
  parts: readonly string[],
  query: Record<string, string | undefined> = {},
): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') search.set(k, v);
  const q = search.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${q === '' ? '' : `?${q}`}`;
}

/**
 * Goes to a view (adds a history entry unless `replace`).
 *
 * @example
 * ```ts
 * navigate(href(['pipelines']));
 * ```
 */
export function navigate(hash: string, replace = false): void {
  if (replace) history.replaceState(null, '', hash);
  else history.pushState(null, '', hash);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/**
 * The current route, updated on every route change.
 *
 * @example
 * ```ts
 * const route = useRoute();
 * ```
 */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = (): void => {
      if (location.hash !== '' && !location.hash.startsWith('#/')) return;
      setRoute((old) =>
        old.hash === parseRoute(location.hash).hash ? old : parseRoute(location.hash),
      );
    };
    window.addEventListener('hashchange', changed);
    window.addEventListener('popstate', changed);
    return () => {
      window.removeEventListener('hashchange', changed);
      window.removeEventListener('popstate', changed);
    };
  }, []);
  return route;
}
