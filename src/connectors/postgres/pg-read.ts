import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline as pipe } from 'node:stream/promises';
import type { Client } from 'pg';
import type { Field } from '../../core/types.js';
import { columnDefinitions, quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext } from '../../contracts/batch-connector.js';
import { postgresError } from './pg-connection.js';
import type { PostgresRole } from './pg-connection.js';
import type { PostgresColumn } from './pg-types.js';
import { restoreExpression } from './pg-types.js';

/**
 * The columns of a table or query with their catalog types, from a zero-row run of it.
 *
 * @example
 * ```ts
 * const columns = await describeColumns(client, '"public"."orders"', { role: 'source', stepId: 'orders' });
 * ```
 */
export async function describeColumns(
  client: Client,
  relation: string,
  where: PostgresRole,
): Promise<PostgresColumn[]> {
  const shape = await client
    .query(`SELECT * FROM ${relation} AS source LIMIT 0`)
    .catch((cause: unknown) => {
      throw postgresError(where, 'cannot read the table or query', cause);
    });
  const oids = [...new Set(shape.fields.map((f) => f.dataTypeID))];
  const types = await client.query<{
    oid: number;
    typname: string;
    typcategory: string;
    element: string | null;
  }>(
    `SELECT t.oid, t.typname, t.typcategory, e.typname AS element
       FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
      WHERE t.oid = ANY($1)`,
    [oids],
  );
  const byOid = new Map(types.rows.map((t) => [Number(t.oid), t]));
  return shape.fields.map((f) => {
    const type = byOid.get(f.dataTypeID);
    return {
      name: f.name,
      typeOid: f.dataTypeID,
      typeName: type?.typname ?? 'text',
      category: type?.typcategory ?? 'S',
      elementTypeName: type?.element ?? undefined,
      typeModifier: f.dataTypeModifier,
    };
  });
}

/**
 * Streams the output of a `COPY ... TO STDOUT` into `file`.
 *
 * @example
 * ```ts
 * await copyOut(client, 'COPY (SELECT * FROM orders) TO STDOUT (FORMAT csv)', '/tmp/rows.csv', signal);
 * ```
 */
export async function copyOut(
  client: Client,
  sql: string,
  file: string,
  signal: AbortSignal,
): Promise<void> {
  const { to } = await import('pg-copy-streams');
  const stream = client.query(to(sql));
  await pipe(stream, createWriteStream(file), { signal });
}

/**
 * Loads headerless CSV files of text values into the table `name`, every column converted to its
 * logical type (see {@link restoreExpression}). Returns how many rows it loaded.
 *
 * @example
 * ```ts
 * await loadCSV(context.connection, '/tmp/rows.csv', fields, context.stepId);
 * ```
 */
export async function loadCSV(
  connection: SourceReadContext['connection'],
  files: string | readonly string[],
  fields: readonly Field[],
  name: string,
): Promise<number> {
  const csvColumns = fields.map((_, i) => `${quoteLiteral(`c${i}`)}: 'VARCHAR'`).join(', ');
  const select = fields
    .map(
      (field, i) => `${restoreExpression(`c${i}`, field.type)} AS ${quoteIdentifier(field.name)}`,
    )
    .join(', ');
  const sizes = await Promise.all(
    [files].flat().map(async (file) => ({ file, size: (await stat(file)).size })),
  );
  const nonEmpty = sizes.filter((s) => s.size > 0).map((s) => quoteLiteral(s.file));
  if (nonEmpty.length === 0) {
    // An empty file has nothing to sniff; the table gets its columns from the types alone.
    await connection.run(`CREATE TABLE ${quoteIdentifier(name)} (${columnDefinitions(fields)})`);
    return 0;
  }
  return connection.run(
    `CREATE TABLE ${quoteIdentifier(name)} AS SELECT ${select} FROM read_csv([${nonEmpty.join(', ')}], columns = {${csvColumns}}, header = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, max_line_size = 33554432, buffer_size = 67108864, parallel = true)`,
  );
}
