import { ConfigError } from '../../../core/errors.js';
import type { SecretValue } from '../../../contracts/secrets.js';
import { SecretRedactor, addConfigSecrets, resolveSecret } from '../../../contracts/secrets.js';

/**
 * The credentials of one channel: each read through the secret resolver (inline, or
 * `{ env: 'NAME' }`) and remembered by a redactor, so the channel can mask them in every
 * message it builds from a receiver's answer or a driver's error.
 *
 * @example
 * ```ts
 * const secrets = new ChannelSecrets('ops-slack');
 * const url = secrets.url({ env: 'SLACK_WEBHOOK_URL' }, 'url');
 * secrets.redactor.redact(`posting to ${url} failed`); // 'posting to *** failed'
 * ```
 */
export class ChannelSecrets {
  readonly channel: string;
  readonly redactor = new SecretRedactor();
  readonly #env: NodeJS.ProcessEnv;

  constructor(channel: string, env: NodeJS.ProcessEnv = process.env) {
    this.channel = channel;
    this.#env = env;
  }

  /** The value of a secret at `field` of the channel's config; a missing variable is a config error. */
  value(secret: SecretValue, field: string): string {
    let value: string;
    try {
      value = resolveSecret(secret, this.channel, field, this.#env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(
        error.diagnostics.map(({ stepId: _stepId, ...d }) => ({
          ...d,
          path: `channels.${this.channel}.${field}`,
          message: `alert channel "${this.channel}": ${d.message}`,
        })),
      );
    }
    this.redactor.add(value);
    return value;
  }

  /**
   * The value of a header: masked whole and, when it is `<scheme> <credential>` (`Bearer x`,
   * `Basic x`), by its credential alone and, for Basic, by the decoded password.
   */
  header(secret: SecretValue, name: string): string {
    const value = this.value(secret, `headers.${name}`);
    const credential = /^[A-Za-z][\w-]*\s+(\S.*)$/.exec(value)?.[1];
    if (credential !== undefined) this.redactor.add(credential);
    addConfigSecrets(this.redactor, { authorization: value }, {});
    return value;
  }

  /**
   * A URL that is a secret (a Slack webhook's path is its token): checked to be http(s) without
   * quoting it, and masked whole, by each path segment that looks like a token and by each query value.
   */
  url(secret: SecretValue, field: string): string {
    const value = this.value(secret, field);
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new ConfigError([
        {
          code: 'invalid-config',
          path: `channels.${this.channel}.${field}`,
          message: `alert channel "${this.channel}": ${field} is not an http:// or https:// URL`,
          hint:
            typeof secret === 'string'
              ? 'give the full URL the receiver issued'
              : `set ${secret.env} to the full URL the receiver issued`,
        },
      ]);
    for (const segment of url.pathname.split('/'))
      if (looksLikeToken(segment)) this.redactor.add(segment);
    for (const [, query] of url.searchParams) this.redactor.add(query);
    if (url.password !== '') this.redactor.add(decodeURIComponent(url.password), url.username);
    return value;
  }
}

/** A path segment that may be a credential: long and random-looking, not a word like `alerts`. */
function looksLikeToken(segment: string): boolean {
  return (
    segment.length >= 16 || (segment.length >= 8 && /\d/.test(segment) && /[A-Za-z]/.test(segment))
  );
}
