export * from './delta-actions.js';
export * from './delta-log.js';
export * from './delta-scan.js';
export * from './delta-schema.js';
export * from './delta-commit.js';
export * from './delta-writer.js';
export * from './delta-history.js';
export * from './delta-merge.js';
