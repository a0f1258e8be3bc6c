/**
 * The `lineage` group: column lineage derivation over the labelled corpus of
 * test/lineage-corpus (parse + resolve, median per statement), and the parsers that were
 * candidates for it, each timed and counted on the same statements: `@polyglot-sql/sdk` (the one
 * used), DuckDB's own `json_serialize_sql` and `node-sql-parser` (measured only when installed).
 */
import { createRequire } from 'node:module';
import { DuckDBInstance } from '@duckdb/node-api';
import { deriveColumnLineage } from '../src/observe/lineage/index.js';
import { LINEAGE_CORPUS } from '../test/lineage-corpus/index.js';
import type { BenchResult } from './common.js';
import { assert, envInteger, log } from './common.js';

const RESOLVABLE = LINEAGE_CORPUS.filter((entry) => entry.unresolved === undefined);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Per statement, the median over `rounds` of one call. */
async function perStatement(
  rounds: number,
  run: (index: number) => Promise<unknown> | unknown,
): Promise<number[]> {
  const times: number[][] = RESOLVABLE.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < RESOLVABLE.length; index++) {
      const began = performance.now();
      await run(index);
      (times[index] as number[]).push(performance.now() - began);
    }
  }
  return times.map(median);
}

export async function runLineageDeriveBench(): Promise<BenchResult[]> {
  const rounds = envInteger('BENCH_LINEAGE_ROUNDS', 20);
  const first = performance.now();
  await deriveColumnLineage('SELECT 1 AS one', {}, { dialect: 'duckdb' });
  const loadMs = performance.now() - first;
  let derived = 0;
  for (const entry of RESOLVABLE) {
    const result = await deriveColumnLineage(entry.sql, entry.inputs, { dialect: entry.dialect });
    if (result.status === 'derived') derived += 1;
  }
  assert(
    derived === RESOLVABLE.length,
    `only ${derived}/${RESOLVABLE.length} corpus statements derived`,
  );
  const deriveTimes = await perStatement(rounds, (index) => {
    const entry = RESOLVABLE[index] as (typeof RESOLVABLE)[number];
    return deriveColumnLineage(entry.sql, entry.inputs, { dialect: entry.dialect });
  });
  const deriveMedian = median(deriveTimes);
  log(
    `  derive: median ${deriveMedian.toFixed(3)} ms, max ${Math.max(...deriveTimes).toFixed(3)} ms per statement; first call (loads the parser) ${loadMs.toFixed(0)} ms`,
  );

  const results: BenchResult[] = [
    {
      id: 'lineage.derive_median_ms',
      value: deriveMedian,
      unit: 'ms',
      note: `median per SQL statement over ${RESOLVABLE.length} corpus statements (parse + resolve), ${rounds} rounds; slowest ${Math.max(...deriveTimes).toFixed(2)} ms; loading the parser on first use ${loadMs.toFixed(0)} ms`,
    },
  ];
  results.push(...(await compareParsers(rounds)));
  return results;
}

async function compareParsers(rounds: number): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const polyglot = await import('@polyglot-sql/sdk');
  const polyglotOk = RESOLVABLE.filter(
    (entry) => polyglot.parse(entry.sql, entry.dialect as never).success,
  ).length;
  const polyglotTimes = await perStatement(rounds, (index) => {
    const entry = RESOLVABLE[index] as (typeof RESOLVABLE)[number];
    return polyglot.parse(entry.sql, entry.dialect as never);
  });
  results.push(
    parserResult(
      'polyglot',
      polyglotTimes,
      polyglotOk,
      'parses all three dialects; identifiers keep their quoting',
    ),
  );

  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const serialize = async (sql: string): Promise<boolean> => {
      const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [
        sql,
      ]);
      const json = JSON.parse(String(reader.getRows()[0]?.[0])) as { error?: boolean };
      return json.error !== true;
    };
    let duckdbOk = 0;
    for (const entry of RESOLVABLE) if (await serialize(entry.sql)) duckdbOk += 1;
    const duckdbTimes = await perStatement(rounds, (index) =>
      serialize((RESOLVABLE[index] as (typeof RESOLVABLE)[number]).sql),
    );
    results.push(
      parserResult(
        'duckdb',
        duckdbTimes,
        duckdbOk,
        'one grammar (DuckDB) for every dialect; the AST does not say which identifiers were quoted',
      ),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }

  let NodeSQLParser:
    (new () => { astify(sql: string, options: { database: string }): unknown }) | undefined;
  try {
    NodeSQLParser = (
      createRequire(import.meta.url)('node-sql-parser') as { Parser: typeof NodeSQLParser }
    ).Parser;
  } catch {
    log('  node-sql-parser is not installed: not measured');
  }
  if (NodeSQLParser !== undefined) {
    const parser = new NodeSQLParser();
    const database = (dialect: string): string =>
      dialect === 'clickhouse' ? 'mysql' : 'postgresql';
    const tryParse = (index: number): boolean => {
      const entry = RESOLVABLE[index] as (typeof RESOLVABLE)[number];
      try {
        parser.astify(entry.sql, { database: database(entry.dialect) });
        return true;
      } catch {
        return false;
      }
    };
    const ok = RESOLVABLE.filter((_, index) => tryParse(index)).length;
    const times = await perStatement(rounds, tryParse);
    results.push(
      parserResult(
        'node_sql_parser',
        times,
        ok,
        'no DuckDB or ClickHouse grammar: PostgreSQL grammar for DuckDB, MySQL grammar for ClickHouse',
      ),
    );
  }
  return results;
}

function parserResult(name: string, times: number[], parsed: number, why: string): BenchResult {
  const value = median(times);
  log(
    `  parser ${name}: ${parsed}/${RESOLVABLE.length} statements parsed, median ${value.toFixed(3)} ms`,
  );
  return {
    id: `lineage.parse_${name}_median_ms`,
    value,
    unit: 'ms',
    note: `${parsed}/${RESOLVABLE.length} corpus statements parsed; ${why}`,
  };
}
