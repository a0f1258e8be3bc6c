import { defineProject } from 'sluice';

/**
 * A REST API loaded into PostgreSQL and modelled there, every hour:
 * `npx sluice serve --project examples/api-to-warehouse` (with the demo API running).
 */
export default defineProject({
  pipelines: { api_to_warehouse: './pipelines/api_to_warehouse.ts' },
});
