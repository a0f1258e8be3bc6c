/**
 * A connector is a spec (name, summary, config schema, the synchronous hooks the planner calls)
 * and an implementation (`read`, `write`, `open`, `run`, ...) in a module of its own. The spec
 * names each asynchronous method with {@link lazy}, so looking a connector up (`sluice check`,
 * planning) never loads its implementation, its drivers or DuckDB; the first call does.
 */

// Each method's own parameters are checked where it is named; here any async function fits.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AsyncFunction = (...args: any[]) => Promise<unknown>;

/** The names of a module's exports that are async functions. */
export type AsyncExportName<Module> = {
  [Name in keyof Module]: Module[Name] extends AsyncFunction ? Name : never;
}[keyof Module];

/**
 * A function that loads `load()`'s module on its first call (Node caches it after that) and
 * calls the module's export `name` with the same arguments. Loading errors reject the call, as
 * the method itself would.
 *
 * @example
 * ```ts
 * const implementation = () => import('./csv-reader.js');
 * export const csvSource = defineSource({
 *   name: 'csv', summary: 'CSV files', config: csvSourceConfig,
 *   read: lazy(implementation, 'readCSV'),
 *   fingerprint: lazy(implementation, 'fingerprintFiles'),
 * });
 * ```
 */
export function lazy<Module, Name extends AsyncExportName<Module>>(
  load: () => Promise<Module>,
  name: Name,
): Module[Name] {
  const call = async (...args: unknown[]): Promise<unknown> => {
    const implementation = (await load())[name] as AsyncFunction;
    return implementation(...args);
  };
  return call as Module[Name];
}
