// Data loading for the views: one request set per view, refetched when a live update concerns
// the view, at most once per second, never two at once.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LiveUpdate } from './live.js';
import { subscribe } from './live.js';

/** What a view's loader has: its data, the last error, and whether it is loading. */
export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
  /** Loads again now (after an action of the user). */
  reload(): void;
}

const MIN_INTERVAL_MS = 1_000;

/**
 * Loads `load()` when `key` changes, and again when a live update passes `concerns` (throttled
 * to one load a second, trailing: the last update is never lost).
 *
 * @example
 * ```ts
 * const runs = useResource(`run:${id}`, (signal) => api(`/runs/${id}`, { signal }), (u) => u.runId === id);
 * ```
 */
export function useResource<T>(
  key: string,
  load: (signal: AbortSignal) => Promise<T>,
  concerns: (update: LiveUpdate) => boolean = () => true,
): Resource<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: Error; loading: boolean }>({
    key,
    loading: true,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const concernsRef = useRef(concerns);
  concernsRef.current = concerns;
  const control = useRef<{ reload: () => void }>({ reload: () => {} });

  useEffect(() => {
    let alive = true;
    let inFlight: AbortController | undefined;
    let lastStart = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pending = false;
    setState((s) => (s.key === key ? { ...s, loading: true } : { key, loading: true }));

    const run = (): void => {
      if (!alive) return;
      if (inFlight !== undefined) {
        pending = true; // one more load once this one ends
        return;
      }
      lastStart = Date.now();
      const current = new AbortController();
      inFlight = current;
      loadRef
        .current(current.signal)
        .then(
          (data) => {
            if (alive) setState({ key, data, loading: false });
          },
          (error: unknown) => {
            if (!alive || current.signal.aborted) return;
            setState((s) => ({
              ...s,
              key,
              error: error instanceof Error ? error : new Error(String(error)),
              loading: false,
            }));
          },
        )
        .finally(() => {
          if (inFlight === current) inFlight = undefined;
          if (pending && alive) {
            pending = false;
            schedule();
          }
        });
    };
    const schedule = (): void => {
      if (timer !== undefined) return;
      const wait = Math.max(0, lastStart + MIN_INTERVAL_MS - Date.now());
      timer = setTimeout(() => {
        timer = undefined;
        run();
      }, wait);
    };
    control.current.reload = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      run();
    };
    run();
    const unsubscribe = subscribe((update) => {
      if (concernsRef.current(update)) schedule();
    });
    return () => {
      alive = false;
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
      inFlight?.abort();
    };
  }, [key]);

  const current = state.key === key ? state : { key, loading: true };
  return {
    data: current.data,
    error: current.error,
    loading: current.loading,
    reload: () => control.current.reload(),
  };
}
