export * from './aggregates.js';
// The stream connectors' default registry and the lookup factories are assembled at the top
// (src/default-stream-registry.ts); sluice/stream stays their public home.
export { defaultStreamRegistry, lookup } from '../default-stream-registry.js';
export * from './hyperloglog.js';
export * from './operators.js';
export * from './operator-spec.js';
export * from './plan-stream.js';
export * from './runtime.js';
export * from '../contracts/stream-connector.js';
export * from './stream-registry.js';
export * from './watermarks.js';
export * from './windows.js';
export * from '../define/stream.js';
export * from './enrich.js';
export * from '../contracts/row-template.js';
export * from '../contracts/payload.js';
export * from './interval-join.js';
export * from './union-source.js';
export * from './event-time.js';
export * from './batch-sink-adapter.js';
export * from '../define/batch-sink-endpoint.js';
export * from './scale-out.js';
export * from './expect-operator.js';
export * from './key-by.js';
