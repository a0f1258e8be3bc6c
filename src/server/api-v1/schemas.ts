import { z } from 'zod';
import { RUN_STATES, RUN_TRIGGERS } from '../../orchestrator/run-types.js';

const epochMs = z.number().int().describe('epoch milliseconds');
const optionalEpochMs = epochMs.nullable();

/** `{ error, code }`: the one body of every refusal and failure of `/api/v1`. */
export const ErrorBody = z
  .object({
    error: z.string().describe('what is wrong and what to do'),
    code: z
      .string()
      .describe('a stable code: bad_request, unauthorized, forbidden, not_found, ...'),
  })
  .describe('Error');

/** A run's or task's failure. */
export const RunErrorSchema = z
  .object({ code: z.string(), message: z.string() })
  .nullable()
  .describe('the error it failed with, or null');

/** A run as `/api/v1` answers it (times in epoch milliseconds). */
export const RunSummarySchema = z
  .object({
    id: z.string(),
    pipeline: z.string(),
    state: z.enum(RUN_STATES),
    trigger: z.enum(RUN_TRIGGERS),
    attempt: z.number().int().describe('attempts started so far (0 while first queued)'),
    maxAttempts: z.number().int(),
    queuedAt: epochMs,
    startedAt: optionalEpochMs,
    finishedAt: optionalEpochMs,
    durationMs: z.number().nullable().describe('finishedAt - startedAt, or null'),
    error: RunErrorSchema,
    params: z.record(z.string(), z.string()),
    interval: z
      .object({ start: epochMs, end: epochMs })
      .nullable()
      .describe('the data interval [start, end), or null for runs without one'),
    triggeredBy: z.string().nullable().describe('who queued the run (audit actor), if known'),
    backfillId: z.string().nullable(),
  })
  .describe('RunSummary');

/** The name of a pipeline in a path. */
export const PipelineNameParams = z.object({
  name: z.string().describe('the pipeline name'),
});

/** The id of a run in a path. */
export const RunIdParams = z.object({ id: z.string().describe('the run id') });

/**
 * `limit` of a page: a whole number within bounds, with a default when missing or empty;
 * anything else is a 400 naming the bounds.
 *
 * @example
 * ```ts
 * const query = z.object({ limit: limitQuery(200, 25) });
 * query.parse({ limit: '10' }); // { limit: 10 }
 * ```
 */
export function limitQuery(max: number, fallback: number): z.ZodType<number> {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text === '') return fallback;
      const value = Number(text);
      if (text.trim() === '' || !Number.isInteger(value) || value < 1 || value > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a whole number from 1 to ${max} (default ${fallback}), got "${text.slice(0, 40)}"`,
        });
        return z.NEVER;
      }
      return value;
    })
    .describe(`page size, 1 to ${max} (default ${fallback})`) as unknown as z.ZodType<number>;
}

/**
 * A query parameter that may be left empty (`?pipeline=&trigger=`, as forms send them): an
 * empty value counts as missing.
 *
 * @example
 * ```ts
 * const query = z.object({ pipeline: optionalQuery(z.string().max(256)) });
 * ```
 */
export function optionalQuery<T extends z.ZodType<unknown, string>>(
  schema: T,
): z.ZodType<z.output<T> | undefined> {
  return z
    .string()
    .optional()
    .transform((text) => (text === '' ? undefined : text))
    .pipe(schema.optional()) as unknown as z.ZodType<z.output<T> | undefined>;
}

/** An opaque page cursor: the `nextCursor` of the previous page. */
export const cursorQuery = optionalQuery(z.string().max(512)).describe(
  'the nextCursor of the previous page; omit (or leave empty) for the first page',
);
