export { restSource } from './rest-source.js';
export { webhookSource, webhookSourceConfig } from './webhook-source.js';
export type { WebhookSourceConfig } from './webhook-source.js';
export { WebhookInbox } from './webhook-inbox.js';
export { restSourceConfig } from './rest-config.js';
export type { RESTSourceConfig } from './rest-config.js';
export {
  batchPosition,
  compareBatchPositions,
  parseBatchPosition,
  webhookStreamSource,
  webhookStreamSourceConfig,
} from './webhook-stream-source.js';
export type { WebhookStreamSourceInput } from './webhook-stream-source.js';
export {
  isRetryableStatus,
  webhookIdempotencyKey,
  webhookStreamSink,
  webhookStreamSinkConfig,
} from './webhook-stream-sink.js';
export type { WebhookStreamSinkInput } from './webhook-stream-sink.js';
export { httpConnectors } from './http-connectors.js';
