import { ConfigError } from '../../core/errors.js';
import type { NATSSecret } from './nats-configs.js';

/**
 * The value of a secret: given inline, or read from the environment variable it names. A
 * missing or empty variable is a config error naming the variable (never the value).
 *
 * @example
 * ```ts
 * resolveSecret({ env: 'NATS_TOKEN' }, 'orders', 'token'); // process.env.NATS_TOKEN
 * ```
 */
export function resolveSecret(
  secret: NATSSecret,
  stepId: string,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (typeof secret === 'string') return secret;
  const value = env[secret.env];
  if (value === undefined || value === '') {
    throw new ConfigError([
      {
        code: 'missing-secret',
        stepId,
        path,
        message: `environment variable ${secret.env} is not set`,
        hint: `export ${secret.env}=... before running the pipeline`,
      },
    ]);
  }
  return value;
}
