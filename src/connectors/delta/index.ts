export { deltaSink } from './delta-sink.js';
export { deltaSource } from './delta-source.js';
export { deltaStreamSink } from './delta-stream-sink.js';
export { deltaLookup } from './delta-lookup.js';
export * from './delta-configs.js';
export { deltaConnectors } from './delta-connectors.js';
