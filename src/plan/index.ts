export * from './planner.js';
export * from './load-pipeline-file.js';
