export * from './logger.js';
export * from './run-report.js';
export * from './data-docs.js';
export * from './metrics/index.js';
export * from './lineage/index.js';
