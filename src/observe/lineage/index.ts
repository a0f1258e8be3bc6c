export * from './column-lineage-types.js';
export * from './derive-column-lineage.js';
export * from './column-lineage-facet.js';
export * from './declared-schema-lineage.js';
