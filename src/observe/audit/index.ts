export * from './audit-chain.js';
export * from './canonical-json.js';
