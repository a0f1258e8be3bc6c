export * from './factories.js';
export * from './pipeline.js';
export * from './ref.js';
export * from './steps.js';
export type { DeclarationSite } from './origin.js';
