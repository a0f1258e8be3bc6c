/**
 * Something several steps of one run use together, such as one warehouse connection holding
 * the run's transaction. `close` is called once when the run ends, after its outputs were
 * published or discarded; it must not fail.
 */
export interface SharedResource {
  close(): Promise<void>;
}

/**
 * Opens (once) the run's resource under `key`, or returns the one already open.
 *
 * @example
 * ```ts
 * const session = await context.shared(`postgres:${url}`, () => PostgresSession.open(url));
 * ```
 */
export type OpenShared = <T extends SharedResource>(
  key: string,
  open: () => Promise<T>,
) => Promise<T>;
