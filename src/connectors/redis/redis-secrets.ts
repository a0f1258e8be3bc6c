import { ConfigError } from '../../core/errors.js';
import type { RedisSecret } from './redis-configs.js';

/**
 * The value of a secret: given inline, or read from the environment variable it names. A
 * missing or empty variable is a config error naming the variable (never the value).
 *
 * @example
 * ```ts
 * resolveRedisSecret({ env: 'REDIS_PASSWORD' }, 'events', 'password'); // process.env.REDIS_PASSWORD
 * ```
 */
export function resolveRedisSecret(
  secret: RedisSecret,
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
        hint: `export ${secret.env}=... before starting the stream`,
      },
    ]);
  }
  return value;
}
