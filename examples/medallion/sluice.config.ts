import { defineProject } from 'sluice';

/**
 * The batch layers of the medallion example for the orchestrator: silver every 5 minutes, gold
 * after each successful silver run (`npx sluice serve --project .` in this folder, with the
 * bronze stream running beside it).
 */
export default defineProject({
  pipelines: {
    silver_orders: './pipelines/silver_orders.ts',
    gold_revenue: './pipelines/gold_revenue.ts',
  },
});
