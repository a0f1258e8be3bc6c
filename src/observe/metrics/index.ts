export * from './catalog.js';
export * from './recorder.js';
export * from './exposition-format.js';
export * from './prometheus-metrics.js';
