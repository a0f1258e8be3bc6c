import { JAFFLE_DBT_CASES } from './cases-jaffle-dbt.js';
import { JOIN_SUBQUERY_CASES } from './cases-joins-subqueries.js';
import { POSTGRES_CLICKHOUSE_CASES } from './cases-postgres-clickhouse.js';
import { REFUSED_CASES } from './cases-refused.js';
import { WINDOW_SET_CASES } from './cases-windows-sets.js';
import type { CorpusCase } from './corpus-case.js';

export type { CorpusCase } from './corpus-case.js';

/** Every labelled statement of the column lineage corpus. */
export const LINEAGE_CORPUS: readonly CorpusCase[] = [
  ...JAFFLE_DBT_CASES,
  ...WINDOW_SET_CASES,
  ...JOIN_SUBQUERY_CASES,
  ...POSTGRES_CLICKHOUSE_CASES,
  ...REFUSED_CASES,
];
