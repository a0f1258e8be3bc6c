import { SourceError } from '../../core/errors.js';
import type { HTTPClient } from './http-client.js';
import type { AuthConfig } from './rest-config.js';
import type { SecretRedactor } from '../../contracts/secrets.js';
import { resolveSecret } from '../../contracts/secrets.js';

/** Adds credentials to requests. */
export interface RequestAuth {
  /** Query parameters whose values are secret and must be masked in messages. */
  readonly secretQueryParams: readonly string[];
  /** Sets the credentials on a request about to be sent. */
  apply(url: URL, headers: Headers): Promise<void>;
  /**
   * Called after a 401: drops cached credentials and says whether new ones can be fetched, so
   * the request is worth sending once more.
   */
  renew(): boolean;
}

/** Refresh a token this long before it expires (at most a tenth of its lifetime). */
const TOKEN_REFRESH_MARGIN_MS = 30_000;

/**
 * The credentials of a `rest` source's `auth` config. Secrets are resolved once, when the
 * step runs; an OAuth2 token is fetched on first use and cached until shortly before it expires.
 * Every credential (and every access token obtained) is added to `secrets`, so that text an
 * API sends back can be cleared of it before it goes into a message.
 *
 * @example
 * ```ts
 * const auth = createRequestAuth({ type: 'bearer', token: { env: 'API_TOKEN' } }, 'orders', client, secrets);
 * await auth.apply(url, headers); // headers: Authorization: Bearer ...
 * ```
 */
export function createRequestAuth(
  config: AuthConfig | undefined,
  stepId: string,
  client: HTTPClient,
  secrets: SecretRedactor,
): RequestAuth {
  const none = { secretQueryParams: [], renew: () => false };
  switch (config?.type) {
    case undefined:
      return { ...none, apply: async () => {} };
    case 'bearer': {
      const token = resolveSecret(config.token, stepId, 'auth.token');
      secrets.add(token);
      return {
        ...none,
        apply: async (_url, headers) => headers.set('authorization', `Bearer ${token}`),
      };
    }
    case 'basic': {
      const password = resolveSecret(config.password, stepId, 'auth.password');
      secrets.add(password, config.username);
      const encoded = Buffer.from(`${config.username}:${password}`).toString('base64');
      return {
        ...none,
        apply: async (_url, headers) => headers.set('authorization', `Basic ${encoded}`),
      };
    }
    case 'api_key': {
      const value = resolveSecret(config.value, stepId, 'auth.value');
      secrets.add(value);
      const { name } = config;
      return config.in === 'query'
        ? {
            secretQueryParams: [name],
            renew: () => false,
            apply: async (url) => url.searchParams.set(name, value),
          }
        : { ...none, apply: async (_url, headers) => headers.set(name, value) };
    }
    case 'oauth2_client_credentials':
      return new ClientCredentialsAuth(config, stepId, client, secrets);
  }
}

type OAuth2Config = Extract<AuthConfig, { type: 'oauth2_client_credentials' }>;

/** OAuth 2.0 client credentials grant (RFC 6749 §4.4), client authenticated with HTTP Basic. */
class ClientCredentialsAuth implements RequestAuth {
  readonly secretQueryParams = [];
  readonly #config: OAuth2Config;
  readonly #stepId: string;
  readonly #client: HTTPClient;
  readonly #secret: string;
  readonly #secrets: SecretRedactor;
  #token: { readonly value: string; readonly refreshAt: number } | undefined;

  constructor(config: OAuth2Config, stepId: string, client: HTTPClient, secrets: SecretRedactor) {
    this.#config = config;
    this.#stepId = stepId;
    this.#client = client;
    this.#secret = resolveSecret(config.clientSecret, stepId, 'auth.clientSecret');
    this.#secrets = secrets.add(this.#secret, config.clientId);
  }

  async apply(_url: URL, headers: Headers): Promise<void> {
    if (this.#token === undefined || Date.now() >= this.#token.refreshAt) {
      this.#token = await this.#fetchToken();
    }
    headers.set('authorization', `Bearer ${this.#token.value}`);
  }

  renew(): boolean {
    this.#token = undefined;
    return true;
  }

  async #fetchToken(): Promise<{ value: string; refreshAt: number }> {
    const { tokenUrl, clientId, scope } = this.#config;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) form.set('scope', scope);
    const credentials = `${encodeURIComponent(clientId)}:${encodeURIComponent(this.#secret)}`;
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
    });
    const started = Date.now();
    const response = await this.#client.send(
      { method: 'POST', url: tokenUrl, headers, body: form.toString() },
      'OAuth2 token request',
    );
    const refused = (detail: string): SourceError =>
      new SourceError(
        this.#stepId,
        this.#secrets.redact(`OAuth2 token request to ${tokenUrl} failed: ${detail}`),
        { hint: 'check auth.tokenUrl, auth.clientId, auth.clientSecret and auth.scope' },
      );
    if (response.status < 200 || response.status >= 300) {
      throw refused(
        `HTTP ${response.status} ${oauthError(this.#secrets.redact(response.text))}`.trim(),
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      throw refused('the answer is not JSON');
    }
    const { access_token: token, expires_in: expiresIn } = (body ?? {}) as Record<string, unknown>;
    if (typeof token !== 'string' || token === '') throw refused('the answer has no access_token');
    this.#secrets.add(token);
    const lifetimeMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : Infinity;
    const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 10);
    return { value: token, refreshAt: started + lifetimeMs - margin };
  }
}

/** The `error` and `error_description` of an OAuth2 error answer, when it has them. */
function oauthError(text: string): string {
  try {
    const { error, error_description: description } = JSON.parse(text) as Record<string, unknown>;
    return [error, description].filter((part) => typeof part === 'string').join(': ');
  } catch {
    return '';
  }
}
