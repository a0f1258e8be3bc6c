import type { z } from 'zod';

/**
 * What the planner needs to know about a connector: its name, role and config schema.
 * The runtime half (how it reads or writes) lives with the engine; keeping this half pure
 * lets `sluice check` validate every step without opening a database.
 *
 * @example
 * ```ts
 * const spec: ConnectorSpec = { name: 'csv', role: 'source', summary: 'CSV files', config: csvConfig };
 * ```
 */
export interface ConnectorSpec<Config = unknown> {
  /** The name steps use: `source.csv(...)` has connector `csv`. */
  readonly name: string;
  readonly role: 'source' | 'sink';
  /** One line for docs and `--help`. */
  readonly summary: string;
  /** Validates and defaults the step's config. Unknown keys are errors. */
  readonly config: z.ZodType<Config>;
}
