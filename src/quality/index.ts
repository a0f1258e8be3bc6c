export * from './expectation.js';
export * from './suite.js';
export * from './validate.js';
export { expectationTypes, expectationDefinition } from './catalog.js';
export * from './validate-data-file.js';
export * from './metric-history.js';
export * from './anomaly.js';
export * from './check-runner.js';
