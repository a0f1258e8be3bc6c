export * from '../contracts/batch-connector.js';
/** @deprecated Import `defaultRegistry` from `sluice`; the registries moved to src/registry.ts. */
export { defaultRegistry } from '../registry.js';
export * from '../contracts/duckdb-session.js';
export * from '../contracts/duckdb-types.js';
export * from './executor.js';
export * from '../contracts/quarantine-store.js';
export * from '../contracts/schema-enforcement.js';
export * from './shared-resources.js';
export * from '../contracts/warehouse.js';
export * from '../contracts/secrets.js';
