export * from './logger.js';
export * from './run-report.js';
