import { defineProject } from 'sluice';

/**
 * The quickstart as a project for the orchestrator:
 * `npx sluice serve --project examples/quickstart` runs it every hour with the embedded store.
 */
export default defineProject({ pipelines: { quickstart: './pipeline.ts' } });
