import { z } from 'zod';

/**
 * Config fields of a sink's merge that applies a change stream: columns left out of the table,
 * the column that picks the latest of several rows with the same keys, and the rows that delete
 * their keys. Sinks that merge by key spread them into their config schema.
 *
 * @example
 * ```ts
 * const config = z.strictObject({ table: z.string(), ...changeMergeFields('the last in input order wins') });
 * ```
 */
export function changeMergeFields(withoutLatestBy: string) {
  return {
    exclude: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Input columns not written to the table (such as `_op` and `_lsn` of a CDC source); `latestBy` and `deleteWhen` can still use them.',
      ),
    latestBy: z
      .string()
      .min(1)
      .optional()
      .describe(
        `With \`merge\`: when several input rows have the same keys, the one with the highest value of this column wins (without it, ${withoutLatestBy}).`,
      ),
    deleteWhen: z
      .strictObject({
        column: z.string().min(1),
        equals: z.union([z.string(), z.number(), z.boolean()]),
      })
      .optional()
      .describe(
        "With `merge`: rows whose `column` equals the value delete the row with their keys instead of upserting it (`{ column: '_op', equals: 'delete' }` applies CDC deletes).",
      ),
  };
}

/**
 * Whether `latestBy` and `deleteWhen` are used only with `mode: 'merge'`; a refinement of sink
 * configs, with {@link CHANGE_MERGE_ONLY} as its error.
 *
 * @example
 * ```ts
 * schema.refine(usesChangeOptionsInMergeOnly, CHANGE_MERGE_ONLY);
 * ```
 */
export function usesChangeOptionsInMergeOnly(config: {
  readonly mode: string;
  readonly latestBy?: string | undefined;
  readonly deleteWhen?: unknown;
}): boolean {
  return (
    config.mode === 'merge' || (config.latestBy === undefined && config.deleteWhen === undefined)
  );
}

/** The error of {@link usesChangeOptionsInMergeOnly}. */
export const CHANGE_MERGE_ONLY = {
  message: "latestBy and deleteWhen go with mode: 'merge'",
  path: ['mode'],
};

/**
 * Whether a sink config that merges or deletes+inserts names the keys it needs; a refinement of
 * sink configs, with {@link KEYS_FOR_MERGE} as its error.
 *
 * @example
 * ```ts
 * schema.refine(hasKeysForMerge, KEYS_FOR_MERGE);
 * ```
 */
export function hasKeysForMerge(config: {
  readonly mode: string;
  readonly keys: readonly string[];
}): boolean {
  return (config.mode !== 'merge' && config.mode !== 'delete_insert') || config.keys.length > 0;
}

/** The error of {@link hasKeysForMerge}. */
export const KEYS_FOR_MERGE = {
  message: 'merge and delete_insert need keys: the columns that identify a row',
  path: ['keys'],
};
