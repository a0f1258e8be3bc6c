export { postgresCdcSource } from './postgres-cdc-source.js';
export { postgresSink } from './postgres-sink.js';
export { postgresSource } from './postgres-source.js';
export { postgresWarehouse } from './postgres-warehouse.js';
export * from './postgres-configs.js';
export { postgresConnectors } from './postgres-connectors.js';
