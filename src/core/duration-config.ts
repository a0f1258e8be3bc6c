import { z } from 'zod';

const DURATION_TEXT = /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/;
const DESCRIPTION = 'A duration such as `500ms`, `30s` or `2m`, or a number of milliseconds.';

/**
 * A duration in a connector config: text such as `500ms`, `30s` or `2m`, or milliseconds (0
 * allowed). Read it with `parseDuration`.
 *
 * @example
 * ```ts
 * z.strictObject({ timeout: durationConfig.default('30s') });
 * ```
 */
export const durationConfig = z
  .union([z.string().regex(DURATION_TEXT), z.number().nonnegative()])
  .describe(DESCRIPTION);

/**
 * Like {@link durationConfig}, for durations that must be longer than zero.
 *
 * @example
 * ```ts
 * z.strictObject({ ackWait: positiveDurationConfig.default('30s') });
 * ```
 */
export const positiveDurationConfig = z
  .union([z.string().regex(DURATION_TEXT), z.number().positive()])
  .describe(DESCRIPTION);
