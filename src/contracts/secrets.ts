import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * A secret in a connector's config: the value itself, or `{ env: 'NAME' }` to read it from the
 * environment when the step or stream runs (so it stays out of pipeline files).
 *
 * @example
 * ```ts
 * const config = z.strictObject({ password: secretValue.optional() });
 * ```
 */
export const secretValue = z
  .union([
    z.string().min(1),
    z.strictObject({
      env: z
        .string()
        .min(1)
        .describe('Name of the environment variable holding the secret, read when it runs.'),
    }),
  ])
  .describe('A secret: the value itself, or `{ env: "NAME" }` to read it from the environment.');

/** A secret as the config holds it. */
export type SecretValue = z.output<typeof secretValue>;

/**
 * The value of a secret: given inline, or read from the environment variable it names. A
 * missing or empty variable is a config error naming the variable (never the value).
 *
 * @example
 * ```ts
 * resolveSecret({ env: 'API_TOKEN' }, 'orders', 'auth.token'); // process.env.API_TOKEN
 * ```
 */
export function resolveSecret(
  secret: SecretValue,
  stepId: string,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (typeof secret === 'string') return secret;
  // Own variables only: `{ env: 'toString' }` must not find Object.prototype.toString.
  const value = Object.hasOwn(env, secret.env) ? env[secret.env] : undefined;
  if (value === undefined || value === '') {
    throw new ConfigError([
      {
        code: 'missing-secret',
        stepId,
        path,
        message: `environment variable ${secret.env} is not set`,
        hint: `export ${secret.env}=... before it runs`,
      },
    ]);
  }
  return value;
}

/** What a secret is replaced with in messages, logs, reports and the run store. */
export const REDACTED = '***';

/**
 * Secrets shorter than this are not searched for: a two-letter password would blank out every
 * occurrence of those letters in every message.
 */
const MIN_SECRET_LENGTH = 4;

/** Base64 runs shorter than this are not searched for inside longer base64 text. */
const MIN_BASE64_CORE_LENGTH = 8;

/**
 * Finds secrets in text and replaces them with `***`: each secret as given, percent-encoded
 * (as in URLs and forms, in either hex case, and twice), JSON-escaped (also with `\/`),
 * HTML-escaped and base64-encoded (alone, as `user:secret` the way HTTP
 * Basic auth sends it, and inside any longer base64 text), so an API that echoes a request's
 * `Authorization` header in its error body does not put the credential into a message.
 *
 * @example
 * ```ts
 * const redactor = new SecretRedactor();
 * redactor.add('s3cr3t-token');
 * redactor.redact('HTTP 400: {"authorization":"Bearer s3cr3t-token"}'); // ... "Bearer ***"
 * ```
 */
export class SecretRedactor {
  readonly #needles = new Set<string>();
  #pattern: RegExp | undefined;

  /** How many forms of secrets are searched for (0: {@link redact} returns text unchanged). */
  get size(): number {
    return this.#needles.size;
  }

  /**
   * Adds a secret, with `username` when it is a password sent with a user name (HTTP Basic
   * auth, `user:password@` in URLs). Empty and very short values (under 4 characters) are ignored.
   */
  add(secret: string, username?: string): this {
    if (secret.length < MIN_SECRET_LENGTH) return this;
    for (const form of secretForms(secret, username)) {
      if (form.length >= MIN_SECRET_LENGTH && !this.#needles.has(form)) {
        this.#needles.add(form);
        this.#pattern = undefined;
      }
    }
    return this;
  }

  /** `text` with every known secret replaced by `***`. */
  redact(text: string): string {
    if (this.#needles.size === 0 || text.length === 0) return text;
    this.#pattern ??= new RegExp(
      [...this.#needles]
        .sort((a, b) => b.length - a.length)
        .map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, REDACTED);
  }

  /**
   * A copy of `value` with every string in it redacted (objects and arrays copied, errors
   * turned into `{ type, message, stack }`), for log fields. Depth is bounded.
   */
  redactValue(value: unknown, depth = 0): unknown {
    if (this.#needles.size === 0) return value;
    if (typeof value === 'string') return this.redact(value);
    if (typeof value !== 'object' || value === null || depth > 8) return value;
    if (value instanceof Error) {
      const code: unknown = (value as { code?: unknown }).code;
      return {
        type: value.name,
        message: this.redact(value.message),
        ...(value.stack === undefined ? {} : { stack: this.redact(value.stack) }),
        ...(typeof code === 'string' ? { code } : {}),
      };
    }
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item, depth + 1));
    if (value instanceof Date || ArrayBuffer.isView(value)) return value;
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function')
      return this.redactValue((toJSON as () => unknown).call(value), depth + 1);
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      Object.defineProperty(copy, key, {
        value: this.redactValue(item, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return copy;
  }

  /**
   * Redacts an error in place, and the errors it was caused by: message, stack, and a
   * {@link SluiceError}'s hint. Returns the same error, so its class and code stay as they were.
   */
  redactError<E>(error: E): E {
    if (this.#needles.size === 0) return error;
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 8; depth++) {
      this.#rewrite(current, 'message');
      this.#rewrite(current, 'stack');
      this.#rewrite(current, 'hint');
      current = current.cause;
    }
    return error;
  }

  #rewrite(target: Error, key: 'message' | 'stack' | 'hint'): void {
    const value = (target as unknown as Record<string, unknown>)[key];
    if (typeof value !== 'string') return;
    const redacted = this.redact(value);
    if (redacted === value) return;
    try {
      Object.defineProperty(target, key, {
        value: redacted,
        writable: true,
        configurable: true,
        enumerable: key === 'hint',
      });
    } catch {
      // A frozen error keeps its text; nothing else to do.
    }
  }
}

/** The forms in which `secret` may show up in text a remote system sends back. */
function secretForms(secret: string, username: string | undefined): string[] {
  const forms = new Set<string>([secret]);
  const percent = encodeURIComponent(secret);
  forms.add(percent);
  forms.add(percent.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
  forms.add(encodeURIComponent(percent));
  forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
  const json = JSON.stringify(secret).slice(1, -1);
  forms.add(json);
  // PHP's json_encode writes `/` as `\/`; HTML error pages escape markup characters.
  forms.add(json.replaceAll('/', '\\/'));
  forms.add(
    secret
      .replaceAll('&', '&amp;')
      .replaceAll('<', '&lt;')
      .replaceAll('>', '&gt;')
      .replaceAll('"', '&quot;')
      .replaceAll("'", '&#39;'),
  );
  const bytes = Buffer.from(secret);
  forms.add(bytes.toString('base64'));
  forms.add(bytes.toString('base64url'));
  if (username !== undefined) {
    forms.add(Buffer.from(`${username}:${secret}`).toString('base64'));
    forms.add(
      Buffer.from(`${encodeURIComponent(username)}:${encodeURIComponent(secret)}`).toString(
        'base64',
      ),
    );
  }
  // Inside longer base64 text the secret's encoding depends on where it starts (mod 3): keep,
  // for each start, the characters that depend on the secret's bytes alone.
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const firstGroup = shift === 0 ? 0 : 1;
    const fullGroups = Math.floor((shift + bytes.length) / 3);
    const core = encoded.slice(firstGroup * 4, fullGroups * 4);
    if (core.length >= MIN_BASE64_CORE_LENGTH) {
      forms.add(core);
      forms.add(core.replaceAll('+', '-').replaceAll('/', '_'));
    }
  }
  return [...forms];
}

/** Config keys whose string values are secrets (`password`, `clientSecret`, `X-API-Key`, ...). */
const SECRET_KEY =
  /(?:pass(?:word|wd|phrase)?|secret|token|api[-_]?key|credentials?|authorization|cookie|private[-_]?key|sas)$/i;

/** Header-like keys whose values carry a scheme before the credential (`Bearer x`, `Basic x`). */
const SCHEME_KEY = /^(?:proxy-)?authorization$/i;

/**
 * Every secret a config holds, added to `redactor`: values given as `{ env: 'NAME' }` (read from
 * `env`), strings under secret-like keys (`password`, `token`, `clientSecret`, `apiKey`,
 * `Authorization` and the credential after its scheme, ...), the `value` of an `api_key` auth,
 * and the password of every URL with `user:password@` or a secret-like query parameter.
 * Functions are skipped and cycles are followed once.
 *
 * @example
 * ```ts
 * const redactor = addConfigSecrets(new SecretRedactor(), { url: 'postgres://etl:pw-1234@db/shop' });
 * redactor.redact('cannot connect with pw-1234'); // 'cannot connect with ***'
 * ```
 */
export function addConfigSecrets(
  redactor: SecretRedactor,
  config: unknown,
  env: NodeJS.ProcessEnv = process.env,
): SecretRedactor {
  const seen = new WeakSet<object>();
  const visit = (value: unknown, key: string | undefined, depth: number): void => {
    if (typeof value === 'string') {
      if (key !== undefined && SECRET_KEY.test(key)) {
        redactor.add(value);
        if (SCHEME_KEY.test(key)) {
          const credential = /^\S+\s+(.+)$/.exec(value)?.[1];
          if (credential !== undefined) {
            redactor.add(credential);
            addBasicCredential(redactor, value);
          }
        }
      }
      addURLSecrets(redactor, value);
      return;
    }
    if (typeof value !== 'object' || value === null || depth > 16 || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const item of value) visit(item, key, depth + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === 'env' && typeof record['env'] === 'string') {
      const name = record['env'];
      const secret = Object.hasOwn(env, name) ? env[name] : undefined;
      if (secret !== undefined) redactor.add(secret);
      return;
    }
    const username = typeof record['username'] === 'string' ? record['username'] : undefined;
    if (username !== undefined && typeof record['password'] === 'string')
      redactor.add(record['password'], username);
    const password = record['password'];
    if (username !== undefined && isEnvSecret(password, env)) {
      const secret = env[password.env];
      if (secret !== undefined) redactor.add(secret, username);
    }
    if (record['type'] === 'api_key') visitSecret(record['value']);
    for (const name of keys) {
      let item: unknown;
      try {
        item = record[name];
      } catch {
        continue; // an accessor that throws holds nothing to find
      }
      visit(item, name, depth + 1);
    }
  };
  const visitSecret = (value: unknown): void => {
    if (typeof value === 'string') redactor.add(value);
    else visit(value, undefined, 0);
  };
  visit(config, undefined, 0);
  return redactor;
}

function isEnvSecret(value: unknown, env: NodeJS.ProcessEnv): value is { env: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { env?: unknown }).env === 'string' &&
    Object.hasOwn(env, (value as { env: string }).env)
  );
}

/** The user and password of a `Basic` credential, so both encodings are searched for. */
function addBasicCredential(redactor: SecretRedactor, header: string): void {
  const match = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (match === null) return;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon > 0) redactor.add(decoded.slice(colon + 1), decoded.slice(0, colon));
}

/** The password of a `scheme://user:password@host` URL and its secret-like query parameters. */
function addURLSecrets(redactor: SecretRedactor, text: string): void {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return;
  }
  if (url.password !== '') {
    const user = safeDecode(url.username);
    redactor.add(url.password, url.username);
    redactor.add(safeDecode(url.password), user);
  }
  for (const [name, value] of url.searchParams) if (SECRET_KEY.test(name)) redactor.add(value);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Environment variable names that hold credentials (`PGPASSWORD`, `AWS_SECRET_ACCESS_KEY`, ...). */
const SECRET_VARIABLE =
  /(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_KEY|CREDENTIALS?)(?:_|$)/i;

/** Values of such variables shorter than this are not taken for secrets (`TOKEN_TYPE=jwt`). */
const MIN_VARIABLE_SECRET_LENGTH = 8;

/**
 * Adds the values of environment variables whose names say they hold a credential
 * (`PGPASSWORD`, `MYSQL_PWD`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
 * `SLUICE_API_TOKEN`, `SLUICE_WEBHOOK_SECRET_<INBOX>`, ...): drivers read some of them without
 * the pipeline naming them, so they are secrets of the run too. Values under 8 characters are
 * left out.
 *
 * @example
 * ```ts
 * addEnvironmentSecrets(redactor, { PGPASSWORD: 'pw-123456' }).redact('pw-123456'); // '***'
 * ```
 */
export function addEnvironmentSecrets(
  redactor: SecretRedactor,
  env: NodeJS.ProcessEnv = process.env,
): SecretRedactor {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < MIN_VARIABLE_SECRET_LENGTH) continue;
    if (SECRET_VARIABLE.test(name) || name === 'MYSQL_PWD') redactor.add(value);
  }
  return redactor;
}

/**
 * A logger that redacts `redactor`'s secrets from every message, field and child binding before
 * they reach `logger`. Returns `logger` itself when there is nothing to redact.
 *
 * @example
 * ```ts
 * const logger = redactingLogger(pino(), redactor);
 * logger.warn({ err: 'HTTP 400: Bearer s3cr3t-token' }); // err: 'HTTP 400: Bearer ***'
 * ```
 */
export function redactingLogger(logger: Logger, redactor: SecretRedactor): Logger {
  if (redactor.size === 0) return logger;
  const fields = (value: object): object => redactor.redactValue(value) as object;
  const call =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (f: object, m?: string): void => {
      if (m === undefined) logger[method](fields(f));
      else logger[method](fields(f), redactor.redact(m));
    };
  return {
    debug: call('debug'),
    info: call('info'),
    warn: call('warn'),
    error: call('error'),
    child: (bindings) =>
      redactingLogger(logger.child(fields(bindings) as Record<string, unknown>), redactor),
  };
}
