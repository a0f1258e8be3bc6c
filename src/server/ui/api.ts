// The /api/v1 client of the web UI: types of the contract's shapes, one fetch wrapper that sends
// the session's token and turns error bodies into APIError, and the token's storage.

/** A run's state, as the run store names it. */
export type RunState =
  'queued' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'up_for_retry' | string;
/** A role of an API token; each one allows what the one before it does. */
export type Role = 'read' | 'trigger' | 'admin';

export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
}

export interface RunSummary {
  readonly id: string;
  readonly pipeline: string;
  readonly state: RunState;
  readonly trigger: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly queuedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
  readonly error: ErrorInfo | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly interval: { readonly start: number; readonly end: number } | null;
  readonly triggeredBy: string | null;
  readonly backfillId: string | null;
}

export interface Session {
  readonly name: string;
  readonly role: Role;
  readonly tokenRequired: boolean;
}

export interface Overview {
  readonly scheduler: { readonly lastHeartbeatAt: number | null; readonly healthy: boolean };
  readonly workers: readonly { id: string; lastSeenAt: number; running: number }[];
  readonly runs24h: Readonly<
    Record<'queued' | 'running' | 'success' | 'failed' | 'canceled', number>
  >;
  readonly failingPipelines: readonly {
    pipeline: string;
    runId: string;
    failedAt: number;
    error: ErrorInfo | null;
  }[];
  readonly firingAlerts: readonly {
    id: string;
    rule: string;
    severity: string;
    since: number;
    summary: string;
  }[];
  readonly recentRuns: readonly RunSummary[];
}

export interface PipelineListItem {
  readonly name: string;
  readonly description: string | null;
  readonly owners: readonly string[];
  readonly schedule: string | null;
  readonly paused: boolean;
  readonly nextRunAt: number | null;
  readonly lastRuns: readonly {
    id: string;
    state: RunState;
    startedAt: number | null;
    finishedAt: number | null;
  }[];
}

export interface PipelineDetail {
  readonly name: string;
  readonly description: string | null;
  readonly owners: readonly string[];
  readonly schedule: string | null;
  readonly paused: boolean;
  readonly nextRunAt: number | null;
  readonly steps: readonly { id: string; kind: string; inputs: readonly string[] }[];
  readonly latestRun: RunSummary | null;
  readonly stepStates: Readonly<Record<string, RunState>>;
}

export interface GridCell {
  readonly state: RunState;
  readonly rowsIn: number | null;
  readonly rowsOut: number | null;
  readonly durationMs: number | null;
  readonly cached: boolean;
}

export interface Grid {
  readonly steps: readonly string[];
  readonly runs: readonly (RunSummary & { cells: Readonly<Record<string, GridCell>> })[];
  readonly nextCursor: string | null;
}

export interface RunStep {
  readonly id: string;
  readonly kind: string;
  readonly inputs: readonly string[];
  readonly state: RunState;
  readonly attempt: number | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
  readonly rowsIn: number | null;
  readonly rowsOut: number | null;
  readonly cached: boolean;
  readonly error: ErrorInfo | null;
}

export interface RunDetail {
  readonly run: RunSummary;
  readonly steps: readonly RunStep[];
  readonly events: readonly { id: string; at: number; kind: string; data: unknown }[];
}

export interface LogLines {
  readonly lines: readonly { at: number; level: string; message: string; data: unknown }[];
}

export interface QualityResults {
  readonly results: readonly {
    step: string;
    suite: string;
    success: boolean;
    expectations: readonly {
      expectation: string;
      success: boolean;
      severity: string;
      unexpectedCount: number | null;
      unexpectedPercent: number | null;
    }[];
  }[];
}

export interface QuarantineSamples {
  readonly samples: readonly { step: string; reason: string; record: string }[];
  readonly total: number;
}

export interface BackfillPlan {
  readonly pipeline: string;
  readonly dryRun: boolean;
  readonly backfillId: string | null;
  readonly intervals: readonly {
    start: number;
    end: number;
    action: 'create' | 'rerun' | 'skip';
  }[];
  readonly create: number;
  readonly rerun: number;
  readonly skip: number;
}

/**
 * An error answer of the API: its HTTP status, stable code and the server's message.
 *
 * @example
 * ```ts
 * try { await api('/runs/x'); } catch (e) { if (e instanceof APIError && e.status === 404) show(e.message); }
 * ```
 */
export class APIError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.code = code;
  }
}

const TOKEN_KEY = 'sluice.token';

/**
 * The token of this tab's session (sessionStorage: gone when the tab closes), or null.
 *
 * @example
 * ```ts
 * const token = readToken();
 * ```
 */
export function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/**
 * Keeps (or, given null, forgets) the session's token.
 *
 * @example
 * ```ts
 * writeToken('s3cr3t'); writeToken(null);
 * ```
 */
export function writeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: the token lives as long as the page
  }
}

/**
 * Headers every request of the session carries.
 *
 * @example
 * ```ts
 * fetch(url, { headers: authHeaders() });
 * ```
 */
export function authHeaders(token: string | null = readToken()): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

let onUnauthorized: () => void = () => {};

/**
 * Sets what happens when the API answers 401 (the app goes to the login view).
 *
 * @example
 * ```ts
 * setUnauthorizedHandler(() => navigate('#/login'));
 * ```
 */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/**
 * Calls `/api/v1<path>` with the session's token and returns the parsed JSON; an error answer
 * throws {@link APIError} (a 401 also calls the unauthorized handler).
 *
 * @example
 * ```ts
 * const { pipelines } = await api<{ pipelines: PipelineListItem[] }>('/pipelines');
 * const run = await api<RunSummary>('/pipelines/orders/runs', { method: 'POST', body: {} });
 * ```
 */
export async function api<T>(
  path: string,
  options: { method?: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal; token?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...authHeaders(options.token ?? readToken()),
  };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new APIError(
      0,
      'network',
      'the server did not answer; check that sluice serve --http is running',
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON (a proxy's error page): the status says what happened
  }
  if (!response.ok) {
    const { error, code } = (body ?? {}) as { error?: unknown; code?: unknown };
    const failure = new APIError(
      response.status,
      typeof code === 'string' ? code : `http_${response.status}`,
      typeof error === 'string' ? error : `the server answered ${response.status}`,
    );
    if (response.status === 401 && options.token === undefined) onUnauthorized();
    throw failure;
  }
  return body as T;
}

const RANK: Readonly<Record<Role, number>> = { read: 0, trigger: 1, admin: 2 };

/**
 * Whether a session's role allows what `needed` allows (the server checks it again).
 *
 * @example
 * ```ts
 * if (allows(session.role, 'admin')) showCancelButton();
 * ```
 */
export function allows(role: Role, needed: Role): boolean {
  return (RANK[role] ?? -1) >= RANK[needed];
}

/** An alert incident (firing or resolved), as GET /api/v1/alerts answers it. */
export interface Incident {
  readonly id: string;
  readonly rule: string;
  readonly severity: string;
  readonly state: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly since: number;
  readonly resolvedAt: number | null;
  readonly lastNotifiedAt: number | null;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
}

/** One label matcher of a silence. */
export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly comment: string | null;
  readonly createdBy: string | null;
}

export interface Alerts {
  readonly firing: readonly Incident[];
  readonly history: readonly Incident[];
  readonly nextCursor: string | null;
  readonly silences: readonly Silence[];
}

export interface StreamInfo {
  readonly name: string;
  readonly pipeline: string | null;
  readonly partitions: readonly {
    partition: string;
    owner: string | null;
    leaseExpiresAt: number | null;
    checkpoint: {
      id: number;
      at: number;
      position: string | null;
      watermark: number | null;
    } | null;
  }[];
  readonly lastCheckpointAt: number | null;
  readonly watermark: number | null;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly stateSize: number;
  readonly lag: number | null;
  readonly recordsPerSecond: number | null;
}

export interface Dataset {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly fields: readonly { name: string; type: string | null }[];
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly producers: readonly string[];
  readonly consumers: readonly string[];
}

export interface DatasetDetail {
  readonly dataset: Dataset;
  readonly lastRuns: readonly {
    runId: string;
    jobName: string;
    eventType: string | null;
    eventTime: number;
  }[];
  readonly quality: readonly { runId: string; at: number; success: boolean }[];
}

/** A node of GET /api/v1/lineage (the Marquez shape, the parts the UI reads). */
export interface LineageNode {
  readonly id: string;
  readonly type: 'DATASET' | 'JOB' | string;
  readonly data: { readonly namespace: string; readonly name: string };
  readonly inEdges: readonly { origin: string; destination: string }[];
  readonly outEdges: readonly { origin: string; destination: string }[];
}
