import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { LINEAGE_CORPUS } from './lineage-corpus/index.js';

/** A column type from the corpus's naming habits, enough for every statement to bind. */
function columnType(column: string): string {
  if (column === 'tags') return 'VARCHAR[]';
  if (/date|time|_at$|^ts$|^day$|month|week/.test(column)) return 'TIMESTAMP';
  if (
    /name|email|status|kind|type|method|country|region|category|plan|url|payload|sku|segment|ssn|first|last/.test(
      column,
    )
  ) {
    return 'VARCHAR';
  }
  return 'INTEGER';
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

describe('column lineage corpus against DuckDB itself', () => {
  it('every derivable DuckDB statement binds in DuckDB, with the expected output columns in order', async () => {
    const cases = LINEAGE_CORPUS.filter(
      (entry) => entry.dialect === 'duckdb' && entry.unresolved === undefined,
    );
    expect(cases.length).toBeGreaterThan(40);
    const instance = await DuckDBInstance.create(':memory:');
    try {
      for (const entry of cases) {
        const connection = await instance.connect();
        try {
          for (const [relation, columns] of Object.entries(entry.inputs)) {
            const parts = relation.split('.');
            if (parts.length > 1)
              await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quote(parts[0] as string)}`);
            await connection.run(
              `CREATE OR REPLACE TABLE ${parts.map(quote).join('.')} (${columns.map((c) => `${quote(c)} ${columnType(c)}`).join(', ')})`,
            );
          }
          const reader = await connection.runAndReadAll(`SELECT * FROM (${entry.sql}) LIMIT 0`);
          expect(reader.columnNames(), entry.name).toEqual(Object.keys(entry.fields ?? {}));
        } finally {
          for (const relation of Object.keys(entry.inputs)) {
            await connection.run(
              `DROP TABLE IF EXISTS ${relation.split('.').map(quote).join('.')}`,
            );
          }
          connection.closeSync();
        }
      }
    } finally {
      instance.closeSync();
    }
  });
});
