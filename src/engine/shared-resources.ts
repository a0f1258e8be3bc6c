import type { OpenShared, SharedResource } from '../contracts/shared-resource.js';

export type { OpenShared, SharedResource } from '../contracts/shared-resource.js';
/**
 * The resources of one run, by key. Steps open them through {@link OpenShared}; the executor
 * closes them all when the run ends.
 *
 * @example
 * ```ts
 * const resources = new SharedResources();
 * const session = await resources.open('postgres:...', () => PostgresSession.open(url));
 * await resources.closeAll();
 * ```
 */
export class SharedResources {
  readonly #opened = new Map<string, Promise<SharedResource>>();

  readonly open: OpenShared = <T extends SharedResource>(
    key: string,
    open: () => Promise<T>,
  ): Promise<T> => {
    let resource = this.#opened.get(key);
    if (resource === undefined) {
      resource = open();
      this.#opened.set(key, resource);
      // A failed open is not kept: the next step (or a retry) opens again.
      resource.catch(() => this.#opened.delete(key));
    }
    return resource as Promise<T>;
  };

  async closeAll(): Promise<void> {
    const resources = [...this.#opened.values()];
    this.#opened.clear();
    await Promise.all(
      resources.map((resource) =>
        resource.then(
          (r) => r.close(),
          () => undefined,
        ),
      ),
    );
  }
}
