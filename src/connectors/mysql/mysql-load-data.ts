import { Readable } from 'node:stream';
import type { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { SinkError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SinkWriteContext } from '../../contracts/batch-connector.js';
import { quoteMySQLIdentifier, quoteMySQLName } from './mysql-client.js';

/** Server error numbers meaning "LOAD DATA LOCAL is disabled here" (MySQL and MariaDB). */
const LOCAL_INFILE_REFUSED = new Set([
  1148, // ER_NOT_ALLOWED_COMMAND
  3948, // ER_CLIENT_LOCAL_FILES_DISABLED
  4166, // MariaDB ER_LOAD_INFILE_CAPABILITY_DISABLED
]);

/** How many of the server's warnings a failed load quotes. */
const QUOTED_WARNINGS = 3;

/** Largest piece of the file sent at once, well under the server's `max_allowed_packet`. */
const PIECE_BYTES = 1 << 20;

/**
 * Whether the server lets this session run `LOAD DATA LOCAL INFILE` (`@@local_infile` is ON).
 *
 * @example
 * ```ts
 * if (await localInfileEnabled(connection)) await loadDataIntoTable(connection, stage, context);
 * ```
 */
export async function localInfileEnabled(connection: Connection): Promise<boolean> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT @@local_infile AS enabled');
  return Number(rows[0]?.['enabled']) === 1;
}

/**
 * Whether a driver error says the server (or client) refuses `LOAD DATA LOCAL INFILE`, rather
 * than that the load itself failed.
 *
 * @example
 * ```ts
 * if (isLocalInfileRefused(error)) await insertRows(connection, stage, config, context);
 * ```
 */
export function isLocalInfileRefused(error: unknown): boolean {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' && LOCAL_INFILE_REFUSED.has(errno);
}

// MySQL's text form escapes these with a backslash (ESCAPED BY '\'); the backslash goes first.
const ESCAPES: readonly (readonly [string, string])[] = [
  ['chr(92)', String.raw`'\\'`],
  ['chr(9)', String.raw`'\t'`],
  ['chr(10)', String.raw`'\n'`],
  ['chr(13)', String.raw`'\r'`],
  ['chr(0)', String.raw`'\0'`],
];

function escaped(text: string): string {
  return ESCAPES.reduce((sql, [from, to]) => `replace(${sql}, ${from}, ${to})`, text);
}

/**
 * A DuckDB expression giving a column's value in the text form `LOAD DATA` reads with MySQL's
 * default escaping: NULL as `\N`; backslash, tab, newline, carriage return and NUL escaped;
 * booleans as 1/0; 64-bit integers and decimals exact; timestamps in UTC with microseconds;
 * nested values as JSON; bytes as hex (decoded by `UNHEX` in the load). Never NULL itself.
 *
 * @example
 * ```ts
 * loadDataText({ name: 'ok', type: { kind: 'bool' }, nullable: true });
 * // `coalesce(CAST(CAST("ok" AS INTEGER) AS VARCHAR), '\N')`
 * ```
 */
export function loadDataText(field: Field): string {
  const name = quoteIdentifier(field.name);
  let text: string;
  switch (field.type.kind) {
    case 'bool':
      text = `CAST(CAST(${name} AS INTEGER) AS VARCHAR)`;
      break;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'decimal':
    case 'date':
      text = `CAST(${name} AS VARCHAR)`;
      break;
    case 'float32':
    case 'float64': {
      const problem = `column ${JSON.stringify(field.name)} holds NaN or an infinite number, which MySQL cannot store`;
      text = `CASE WHEN isnan(${name}) OR isinf(${name}) THEN error(${quoteLiteral(problem)}) ELSE CAST(${name} AS VARCHAR) END`;
      break;
    }
    case 'timestamp':
      text = field.type.tz
        ? `strftime(timezone('UTC', ${name}), '%Y-%m-%d %H:%M:%S.%f')`
        : `strftime(${name}, '%Y-%m-%d %H:%M:%S.%f')`;
      break;
    case 'binary':
      text = `hex(${name})`;
      break;
    case 'string':
    case 'json':
      text = escaped(`CAST(${name} AS VARCHAR)`);
      break;
    case 'list':
    case 'struct':
    case 'map':
      text = escaped(`CAST(to_json(${name}) AS VARCHAR)`);
      break;
  }
  return `coalesce(${text}, ${String.raw`'\N'`})`;
}

/**
 * The `LOAD DATA LOCAL INFILE` statement that reads {@link loadDataText} lines into `table`:
 * tab-separated fields, newline-terminated lines, backslash escapes, UTF-8; binary columns pass
 * through a variable and `UNHEX`. Separators are hex literals, so `NO_BACKSLASH_ESCAPES` does
 * not change them.
 *
 * @example
 * ```ts
 * loadDataStatement('orders__sluice_stage_r1', fields);
 * // "LOAD DATA LOCAL INFILE 'sluice-rows.tsv' INTO TABLE `orders__sluice_stage_r1` ..."
 * ```
 */
export function loadDataStatement(table: string, fields: readonly Field[]): string {
  const targets = fields.map((f, i) =>
    f.type.kind === 'binary' ? `@__sluice_${i}` : quoteMySQLIdentifier(f.name),
  );
  const decoded = fields.flatMap((f, i) =>
    f.type.kind === 'binary' ? [`${quoteMySQLIdentifier(f.name)} = UNHEX(@__sluice_${i})`] : [],
  );
  return [
    `LOAD DATA LOCAL INFILE 'sluice-rows.tsv' INTO TABLE ${quoteMySQLName(table)}`,
    `CHARACTER SET utf8mb4 FIELDS TERMINATED BY X'09' ENCLOSED BY '' ESCAPED BY X'5C'`,
    `LINES TERMINATED BY X'0A' (${targets.join(', ')})`,
    decoded.length === 0 ? '' : `SET ${decoded.join(', ')}`,
  ]
    .join(' ')
    .trim();
}

/**
 * Streams the step's input into `table` with `LOAD DATA LOCAL INFILE`: the engine renders each
 * row as one line of MySQL text, the lines flow to the server as they are read (with
 * back-pressure), and the row count the server took is returned. The server turns bad values
 * into warnings during a LOCAL load (it cannot stop the file mid-way), so any warning, or a
 * count that differs from the rows sent, fails the load instead of keeping altered rows.
 * Errors the server raises before reading (LOAD DATA LOCAL disabled) are thrown as they are, so
 * the caller can tell them apart with {@link isLocalInfileRefused}.
 *
 * @example
 * ```ts
 * const rows = await loadDataIntoTable(connection, 'orders__sluice_stage_r1', context);
 * ```
 */
export async function loadDataIntoTable(
  connection: Connection,
  table: string,
  context: SinkWriteContext,
): Promise<number> {
  const fields = context.inputFields;
  const line = fields.map(loadDataText).join(` || chr(9) || `);
  let sent = 0;
  const lines = async function* (): AsyncGenerator<Buffer> {
    const result = await context.connection.stream(`SELECT ${line} FROM ${context.input}`);
    for await (const chunk of result) {
      context.signal.throwIfAborted();
      const column = chunk.getColumnValues(0) as string[];
      sent += column.length;
      if (column.length === 0) continue;
      const text = Buffer.from(`${column.join('\n')}\n`, 'utf8');
      for (let at = 0; at < text.length; at += PIECE_BYTES)
        yield text.subarray(at, at + PIECE_BYTES);
    }
  };
  let stream: Readable | undefined;
  let result: ResultSetHeader;
  try {
    [result] = await connection.query<ResultSetHeader>({
      sql: loadDataStatement(table, fields),
      infileStreamFactory: () => (stream = Readable.from(lines(), { objectMode: false })),
    });
  } finally {
    // Ends the engine's streaming result too when the load stopped half-way.
    stream?.destroy();
  }
  if (result.warningStatus > 0) {
    const [warnings] = await connection.query<RowDataPacket[]>(
      `SHOW WARNINGS LIMIT ${QUOTED_WARNINGS}`,
    );
    throw new SinkError(
      context.stepId,
      `the server changed or dropped values while loading the rows (${result.warningStatus} warning${result.warningStatus === 1 ? '' : 's'}): ${warnings.map((w) => String(w['Message'])).join('; ')}`,
      {
        hint: 'the input holds values MySQL cannot store as they are (such as dates past 9999): fix or filter them in an earlier step',
      },
    );
  }
  if (result.affectedRows !== sent) {
    throw new SinkError(
      context.stepId,
      `the server took ${result.affectedRows} of the ${sent} rows sent with LOAD DATA`,
      { hint: "retry the step, or set load: 'insert'" },
    );
  }
  return sent;
}
