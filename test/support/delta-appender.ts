// Appends `count` one-row commits to a Delta table, each tagged with `writer`; used by the
// concurrency and kill tests, which run it in separate processes.
import { DuckDBSession } from '../../src/contracts/duckdb-session.js';
import { writeDelta } from '../../src/table/index.js';

const [table, writer, count, transactional] = process.argv.slice(2);
const session = await DuckDBSession.create();
const connection = await session.connect();
const fields = [
  { name: 'writer', type: { kind: 'string' }, nullable: false },
  { name: 'n', type: { kind: 'int64' }, nullable: false },
] as const;
for (let n = 0; n < Number(count); n++) {
  await writeDelta(
    connection,
    table as string,
    `(SELECT '${writer}' AS writer, CAST(${n} AS BIGINT) AS n)`,
    fields,
    {
      mode: 'append',
      ...(transactional === 'txn'
        ? { transaction: { appId: `writer-${writer}`, version: n } }
        : {}),
    },
  );
}
session.close();
