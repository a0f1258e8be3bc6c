import { defineProject } from 'sluice';

/**
 * PostgreSQL into a Delta lake, every 15 minutes:
 * `npx sluice serve --project examples/postgres-to-lake` (after `psql -f setup.sql`).
 */
export default defineProject({
  pipelines: { postgres_to_lake: './pipelines/postgres_to_lake.ts' },
});
