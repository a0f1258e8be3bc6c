import { defineProject } from 'sluice';

/**
 * The batch layer of the lambda example for the orchestrator: `npx sluice serve --project .` in
 * this folder runs it every hour, beside the two streams.
 */
export default defineProject({ pipelines: { batch_sales: './pipelines/batch_sales.ts' } });
