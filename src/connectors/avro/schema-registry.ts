import type { SluiceError } from '../../core/errors.js';
import { PermanentError, RetryableError } from '../../core/errors.js';

/**
 * Options of {@link SchemaRegistryClient}.
 *
 * @example
 * ```ts
 * const options: SchemaRegistryOptions = { url: 'http://127.0.0.1:8081', timeoutMs: 5000 };
 * ```
 */
export interface SchemaRegistryOptions {
  /** Base URL, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  /** HTTP basic auth (Confluent Cloud: API key and secret). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Per-request timeout in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
}

/**
 * A registered schema version of a subject.
 *
 * @example
 * ```ts
 * const { id, version } = await registry.latest('orders-value');
 * ```
 */
export interface SubjectVersion {
  readonly subject: string;
  readonly id: number;
  readonly version: number;
  readonly schema: string;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * A Confluent Schema Registry client over `fetch`: schemas by id (cached, ids are immutable),
 * registering a schema under a subject, a subject's latest version and compatibility checks.
 * Errors: an unreachable registry or a timeout is a {@link RetryableError}; 401/403 (bad
 * credentials), 404 (unknown subject or id) and 409 (incompatible schema) are
 * {@link PermanentError}s whose messages say which.
 *
 * @example
 * ```ts
 * const registry = new SchemaRegistryClient({ url: 'http://127.0.0.1:8081' });
 * const id = await registry.register('orders-value', JSON.stringify(schema));
 * const text = await registry.schemaById(id);
 * ```
 */
export class SchemaRegistryClient {
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #byId = new Map<number, Promise<string>>();

  constructor(options: SchemaRegistryOptions) {
    this.#url = options.url.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#headers = { accept: CONTENT_TYPE };
    if (options.auth !== undefined) {
      const token = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString(
        'base64',
      );
      this.#headers['authorization'] = `Basic ${token}`;
    }
  }

  /** The schema text registered under `id` (fetched once, then cached). */
  schemaById(id: number, signal?: AbortSignal): Promise<string> {
    let cached = this.#byId.get(id);
    if (cached === undefined) {
      cached = this.#request<{ schema: string }>(
        'GET',
        `/schemas/ids/${id}`,
        undefined,
        signal,
        `schema id ${id}`,
      ).then((body) => body.schema);
      cached.catch(() => this.#byId.delete(id));
      this.#byId.set(id, cached);
    }
    return cached;
  }

  /** Registers `schema` (Avro schema JSON text) under `subject`; returns its id. */
  async register(subject: string, schema: string, signal?: AbortSignal): Promise<number> {
    const body = await this.#request<{ id: number }>(
      'POST',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      { schema },
      signal,
      `subject "${subject}"`,
    );
    this.#byId.set(body.id, Promise.resolve(schema));
    return body.id;
  }

  /** The latest version registered under `subject`. */
  async latest(subject: string, signal?: AbortSignal): Promise<SubjectVersion> {
    return this.#request<SubjectVersion>(
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions/latest`,
      undefined,
      signal,
      `subject "${subject}"`,
    );
  }

  /** Whether `schema` is compatible with the latest version of `subject`. */
  async isCompatible(subject: string, schema: string, signal?: AbortSignal): Promise<boolean> {
    const body = await this.#request<{ is_compatible: boolean }>(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
      { schema },
      signal,
      `subject "${subject}"`,
    );
    return body.is_compatible;
  }

  async #request<T>(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<T> {
    const url = `${this.#url}${path}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers:
          body === undefined ? this.#headers : { ...this.#headers, 'content-type': CONTENT_TYPE },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (cause) {
      if (signal?.aborted === true) throw cause;
      const timedOut = timeout.aborted;
      throw new RetryableError(
        timedOut
          ? `schema registry ${this.#url} did not answer ${method} ${path} within ${this.#timeoutMs} ms`
          : `schema registry ${this.#url} is unreachable: ${describe(cause)}`,
        {
          cause,
          hint: 'check the registry URL and that the registry is running and reachable from here',
        },
      );
    }
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as T;
    throw this.#error(response.status, text, what, `${method} ${path}`);
  }

  #error(status: number, text: string, what: string, request: string): SluiceError {
    let detail = text;
    let code: number | undefined;
    try {
      const parsed = JSON.parse(text) as { error_code?: number; message?: string };
      detail = parsed.message ?? text;
      code = parsed.error_code;
    } catch {
      // Not a registry error body; keep the text.
    }
    if (status === 401 || status === 403)
      return new PermanentError(
        `schema registry ${this.#url} refused the credentials (HTTP ${status}): ${detail}`,
        {
          hint: 'check the username and password (API key and secret) given to the registry client',
        },
      );
    if (status === 404)
      return new PermanentError(
        `schema registry ${this.#url}: ${what} not found (HTTP 404${code === undefined ? '' : `, error ${code}`}): ${detail}`,
        { hint: 'check the subject name (usually <topic>-value or <topic>-key) or the schema id' },
      );
    if (status === 409)
      return new PermanentError(
        `schema registry ${this.#url}: the schema is incompatible with ${what} (HTTP 409): ${detail}`,
        {
          hint: "make the change compatible under the subject's compatibility level (e.g. add fields with defaults), or change the level",
        },
      );
    if (status === 422)
      return new PermanentError(
        `schema registry ${this.#url}: invalid schema for ${what} (HTTP 422): ${detail}`,
        {
          hint: 'check that the schema is valid Avro schema JSON',
        },
      );
    if (status >= 500)
      return new RetryableError(
        `schema registry ${this.#url} failed ${request} (HTTP ${status}): ${detail}`,
      );
    return new PermanentError(
      `schema registry ${this.#url} answered ${request} with HTTP ${status}: ${detail}`,
    );
  }
}

function describe(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ?? inner?.message ?? (cause instanceof Error ? cause.message : String(cause));
}
