/**
 * What a sink's publish committed, when its format has versions.
 *
 * @example
 * ```ts
 * const published: PublishedOutput = { version: 7 };
 * ```
 */
export interface PublishedOutput {
  /** The table version the commit created (a Delta version). */
  readonly version?: number;
}

/**
 * Output a sink has written but not yet made visible. The executor publishes every staged
 * output only when the whole run succeeded, and discards them otherwise, so a failed run leaves
 * previous outputs as they were.
 */
export interface StagedOutput {
  readonly rowsWritten: number;
  /** Where the output will be visible once published. */
  readonly outputs: readonly string[];
  /**
   * How the sink changes its target (`append`, `overwrite`, `merge`, `replace-where`, ...), for
   * the audit log.
   */
  readonly writeMode?: string;
  /**
   * Makes the output visible atomically (a rename or a commit). A table format may resolve to
   * what it committed (the table version), which the run report and the audit log record.
   */
  publish(): Promise<void | PublishedOutput>;
  /** Removes what was staged. Must not fail when called after a partial write. */
  discard(): Promise<void>;
  /**
   * For a warehouse sink whose staged rows are not yet in its table: a SQL expression in the
   * warehouse's dialect that reads the table as it will be once published (a staging table, or
   * the table and the staged rows together). `sql` steps in that warehouse read this instead
   * of the table during the run.
   */
  readonly warehouseRelation?: string;
  /**
   * Values the sink had to change because its format cannot hold them (NaN and infinities in
   * JSON, written as null); reported in the step's `valuesDiscarded`.
   */
  readonly valuesDiscarded?: number;
}
