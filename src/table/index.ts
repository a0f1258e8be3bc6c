export * from './delta-actions.js';
export * from './delta-log.js';
export * from './delta-scan.js';
export * from './delta-schema.js';
