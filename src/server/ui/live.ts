// One server-sent-events stream of /api/v1/updates per tab, read with fetch() (EventSource
// cannot send the Authorization header). Views subscribe to it; each subscriber decides whether
// an event concerns it, and refetches at most once per second (see useResource in hooks.ts).
import { authHeaders } from './api.js';

/** What an update says: the run and pipeline it concerns and the store event's kind. */
export interface LiveUpdate {
  readonly id: string;
  readonly kind: string;
  readonly runId: string | null;
  readonly pipeline: string | null;
}

type Listener = (update: LiveUpdate) => void;

const listeners = new Set<Listener>();
let controller: AbortController | undefined;
let lastEventId: string | undefined;
let retryMs = 1_000;

/**
 * Calls `listener` with every update until the returned function is called.
 *
 * @example
 * ```ts
 * const stop = subscribe((u) => { if (u.runId === runId) refetch(); });
 * ```
 */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Opens the tab's stream (again, e.g. after a login); the previous one is closed. It reconnects
 * on its own after an error, from the last event it saw, backing off up to 30 s.
 *
 * @example
 * ```ts
 * startLiveUpdates();
 * ```
 */
export function startLiveUpdates(): void {
  stopLiveUpdates();
  const current = new AbortController();
  controller = current;
  void readStream(current.signal);
}

/**
 * Closes the tab's stream (at logout).
 *
 * @example
 * ```ts
 * stopLiveUpdates();
 * ```
 */
export function stopLiveUpdates(): void {
  controller?.abort();
  controller = undefined;
}

async function readStream(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch('/api/v1/updates', {
        headers: {
          accept: 'text/event-stream',
          ...authHeaders(),
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal,
        cache: 'no-store',
        credentials: 'omit',
      });
      // 401/403: the views show the error and the login; no point retrying with the same token.
      if (response.status === 401 || response.status === 403) return;
      if (!response.ok || response.body === null) throw new Error(`updates: ${response.status}`);
      retryMs = 1_000;
      await readEvents(response.body, signal);
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((done) => setTimeout(done, retryMs));
    retryMs = Math.min(retryMs * 2, 30_000);
  }
}

async function readEvents(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        dispatch(block);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function dispatch(block: string): void {
  let id: string | undefined;
  let kind = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') kind = value;
    else if (field === 'data') data.push(value);
  }
  if (id !== undefined) lastEventId = id;
  if (data.length === 0) return;
  let parsed: { runId?: unknown; pipeline?: unknown; kind?: unknown } = {};
  try {
    parsed = JSON.parse(data.join('\n')) as typeof parsed;
  } catch {
    return;
  }
  const update: LiveUpdate = {
    id: id ?? '',
    kind: typeof parsed.kind === 'string' ? parsed.kind : kind,
    runId: typeof parsed.runId === 'string' ? parsed.runId : null,
    pipeline: typeof parsed.pipeline === 'string' ? parsed.pipeline : null,
  };
  for (const listener of listeners) listener(update);
}
