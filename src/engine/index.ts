export * from './connector.js';
export * from './default-registry.js';
export * from './duckdb-session.js';
export * from './duckdb-types.js';
export * from './executor.js';
export * from './quarantine-store.js';
export * from './schema-enforcement.js';
export * from './shared-resources.js';
