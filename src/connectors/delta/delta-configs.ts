import { z } from 'zod';
import {
  CHANGE_MERGE_ONLY,
  changeMergeFields,
  usesChangeOptionsInMergeOnly,
} from '../../core/merge-options.js';
import { sinkPath } from '../shared/file-configs.js';

/** Config of the `delta` source. */
export const deltaSourceConfig = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .describe(
        'The Delta table: a folder relative to the pipeline file, a `file://` URL, or `s3://bucket/prefix` for an S3-compatible store.',
      ),
    version: z.int().nonnegative().optional().describe('Read this version of the table.'),
    timestamp: z
      .string()
      .min(1)
      .optional()
      .describe('Read the latest version committed at or before this time (ISO 8601).'),
    where: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A SQL predicate rows must meet; files that cannot hold a match (by partition values and stats) are not read.',
      ),
    columns: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('The columns to read (all when omitted).'),
  })
  .refine((config) => config.version === undefined || config.timestamp === undefined, {
    message: 'give version or timestamp, not both',
    path: ['timestamp'],
  })
  .describe('Reads a Delta Lake table at its latest version, a version, or a point in time.');

export type DeltaSourceConfig = z.input<typeof deltaSourceConfig>;

/** Config of the `delta` sink. */
export const deltaSinkConfig = z
  .strictObject({
    path: sinkPath.describe(
      'The Delta table: a folder relative to the pipeline file, a `file://` URL, or `s3://bucket/prefix` for an S3-compatible store; created on first write.',
    ),
    mode: z
      .enum(['append', 'overwrite', 'merge'])
      .default('append')
      .describe(
        '`append` adds the rows; `overwrite` replaces the table contents in one commit; `merge` upserts by `keys`, rewriting only the files holding matched keys.',
      ),
    keys: z.array(z.string().min(1)).default([]).describe('Key columns of a merge.'),
    partitionBy: z
      .array(z.string().min(1))
      .default([])
      .describe('Partition columns of a new table (an existing table keeps its own).'),
    mergeSchema: z
      .boolean()
      .default(false)
      .describe(
        'Add columns of the data the table lacks to its schema (rows written before read them as NULL); other schema differences are still refused.',
      ),
    replaceWhere: z
      .string()
      .min(1)
      .optional()
      .describe(
        "With `overwrite`: replace only the rows matching this SQL predicate (e.g. `order_date = DATE '2026-03-01'`); every written row must match it.",
      ),
    ...changeMergeFields('repeated keys fail the merge'),
  })
  .refine((config) => config.mode !== 'merge' || config.keys.length > 0, {
    message: 'a merge needs keys: the columns that identify a row',
    path: ['keys'],
  })
  .refine(
    (config) =>
      !config.mergeSchema || (config.mode !== 'merge' && config.replaceWhere === undefined),
    {
      message: 'mergeSchema works with append and overwrite (not with merge or replaceWhere yet)',
      path: ['mergeSchema'],
    },
  )
  .refine((config) => config.replaceWhere === undefined || config.mode === 'overwrite', {
    message: "replaceWhere goes with mode: 'overwrite'",
    path: ['replaceWhere'],
  })
  .refine(usesChangeOptionsInMergeOnly, CHANGE_MERGE_ONLY)
  .describe(
    'Writes a Delta Lake table: data files are written by the step and committed when the run succeeds.',
  );

export type DeltaSinkConfig = z.input<typeof deltaSinkConfig>;
