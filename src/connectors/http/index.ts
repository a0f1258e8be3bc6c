export { restSource } from './rest-source.js';
export { webhookSource, webhookSourceConfig } from './webhook-source.js';
export type { WebhookSourceConfig } from './webhook-source.js';
export { WebhookInbox } from './webhook-inbox.js';
export { restSourceConfig } from './rest-config.js';
export type { RESTSourceConfig } from './rest-config.js';
