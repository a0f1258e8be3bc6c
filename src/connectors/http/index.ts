export { restSource } from './rest-source.js';
export { restSourceConfig } from './rest-config.js';
export type { RESTSourceConfig } from './rest-config.js';
