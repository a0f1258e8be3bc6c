export * from './errors.js';
export * from './types.js';
export * from './schema.js';
export * from './type-mappings.js';
export * from './duration.js';
export * from './ids.js';
export * from './connector-spec.js';
export * from './logger.js';
