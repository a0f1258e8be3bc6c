import { z } from 'zod';
import { durationConfig } from './duration-config.js';

/**
 * A retry setting in a connector config, in the vocabulary of `RetryPolicy` (core/retry-policy):
 * a bare count of retries, or `{ retries, delay, maxDelay, jitter }` (fields left out take the
 * connector's defaults). NaN, Infinity and negative values are refused. Read it with
 * `retryPolicy(value, connectorDefaults)`.
 *
 * @example
 * ```ts
 * z.strictObject({ retries: retryPolicyConfig.default(5) });
 * ```
 */
export const retryPolicyConfig = z
  .union([
    z.int().min(0).describe('Retries after the first try (0 disables them).'),
    z.strictObject({
      retries: z.int().min(0).describe('Retries after the first try (0 disables them).'),
      delay: durationConfig
        .optional()
        .describe('Wait before the first retry; it doubles with each retry.'),
      maxDelay: durationConfig.optional().describe('Longest wait between two tries.'),
      jitter: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe('Random share of each wait added or taken away (0..1).'),
    }),
  ])
  .describe('A number of retries, or `{ retries, delay, maxDelay, jitter }`.');

/** A retry setting as a connector config holds it after parsing. */
export type RetryPolicyConfig = z.output<typeof retryPolicyConfig>;
