import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

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
