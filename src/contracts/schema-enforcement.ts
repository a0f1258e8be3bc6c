import type { Field } from '../core/types.js';
import { formatType } from '../core/types.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
import type { EngineConnection } from './engine-connection.js';
import type { QuarantineStore } from './quarantine-store.js';

/** How one declared column is computed from a raw scan. */
export interface EnforcedColumn {
  readonly field: Field;
  /** SQL expression of the typed value over the scan's columns. */
  readonly typed: string;
  /**
   * SQL expression of the raw value, when converting it can fail. A conversion failed when the
   * raw value is present and the typed one is null.
   */
  readonly raw?: string;
}

/** A column added to every row, such as `_run_id`. */
export interface MetadataColumn {
  readonly field: Field;
  readonly expression: string;
}

/** Inputs of {@link enforceSchema}. */
export interface EnforceSchemaOptions {
  readonly connection: EngineConnection;
  readonly stepId: string;
  readonly quarantine: QuarantineStore;
  /** A relation (table function call or parenthesised query) to read raw rows from. */
  readonly scan: string;
  readonly columns: readonly EnforcedColumn[];
  readonly metadata: readonly MetadataColumn[];
  /** Expression over the scan naming the file a row came from ('NULL' when none). */
  readonly sourceFile: string;
  /**
   * Scan column holding the original record as JSON text (e.g. the raw line). When omitted, the
   * quarantined record is built from the columns (raw value where conversion failed).
   */
  readonly originalJSON?: string;
  /** Predicate over the scan: false when the record as a whole is unusable. */
  readonly recordValid?: { readonly predicate: string; readonly reason: string };
  /** A query producing more quarantine rows (e.g. lines the reader rejected). */
  readonly extraQuarantine?: string;
  /**
   * What a value that does not convert does: `quarantine` (default) sends its row to the
   * quarantine; `null` keeps the row with a null there (a required column still quarantines).
   */
  readonly badValues?: 'quarantine' | 'null';
}

/** Row counts after enforcement. */
export interface EnforcementResult {
  readonly rowsRead: number;
  readonly rowsQuarantined: number;
  /** Quarantined records unusable as a whole: invalid records and rows of `extraQuarantine`. */
  readonly rowsMalformed: number;
  /** Values set to null under `badValues: 'null'`. */
  readonly valuesDiscarded: number;
  readonly fields: readonly Field[];
}

const TYPED_TABLE_PREFIX = '__sluice_typed_';

/**
 * Types and validates a raw scan in one pass: rows whose values convert and whose required
 * columns are present become the step's dataset (a view named after the step); the others go to
 * the quarantine store with the column and the reason. Nothing is dropped silently:
 * rows read = rows out + rows quarantined.
 *
 * @example
 * ```ts
 * await enforceSchema({ connection, stepId: 'orders', quarantine, scan: "read_csv('o.csv')",
 *   columns: [{ field, typed: '"id"' }], metadata: [], sourceFile: 'filename',
 *   });
 * ```
 */
export async function enforceSchema(options: EnforceSchemaOptions): Promise<EnforcementResult> {
  const { connection, stepId, columns } = options;
  const table = quoteIdentifier(`${TYPED_TABLE_PREFIX}${stepId}`);
  const names = columns.map((c) => quoteIdentifier(c.field.name));
  const metadataNames = options.metadata.map((m) => quoteIdentifier(m.field.name));
  const rawName = (i: number): string => quoteIdentifier(`__sluice_raw_${i}`);

  const inner = [
    ...columns.map((c, i) => {
      const typed = `${c.typed} AS ${names[i]}`;
      return c.raw === undefined ? typed : `${typed}, ${c.raw} AS ${rawName(i)}`;
    }),
    ...options.metadata.map((m, i) => `${m.expression} AS ${metadataNames[i]}`),
    `${options.sourceFile} AS __sluice_file`,
    ...(options.originalJSON === undefined ? [] : [`${options.originalJSON} AS __sluice_original`]),
    `${options.recordValid?.predicate ?? 'true'} AS __sluice_valid`,
  ].join(',\n      ');

  const failures: { readonly check: string; readonly column: string; readonly reason: string }[] =
    [];
  const discarded: string[] = [];
  columns.forEach((c, i) => {
    const label = quoteLiteral(c.field.name);
    if (c.raw !== undefined && options.badValues === 'null' && c.field.nullable) {
      discarded.push(
        `CASE WHEN ${rawName(i)} IS NOT NULL AND ${names[i]} IS NULL THEN 1 ELSE 0 END`,
      );
    } else if (c.raw !== undefined) {
      failures.push({
        check: `(${rawName(i)} IS NOT NULL AND ${names[i]} IS NULL)`,
        column: label,
        reason: `${quoteLiteral(`column "${c.field.name}": cannot convert `)} || left(CAST(${rawName(i)} AS VARCHAR), 200) || ${quoteLiteral(` to ${formatType(c.field.type)}`)}`,
      });
    }
    if (!c.field.nullable) {
      const presentButBad = c.raw === undefined ? 'false' : `${rawName(i)} IS NOT NULL`;
      failures.push({
        check: `(${names[i]} IS NULL AND NOT (${presentButBad}))`,
        column: label,
        reason: quoteLiteral(`column "${c.field.name}": required value is missing`),
      });
    }
  });
  const ok = ['__sluice_valid', ...failures.map((f) => `NOT ${f.check}`)].join(' AND ');
  const list = (pick: (f: (typeof failures)[number]) => string, separator: string): string =>
    failures.length === 0
      ? 'NULL'
      : `NULLIF(concat_ws(${quoteLiteral(separator)}, ${failures
          .map((f) => `CASE WHEN ${f.check} THEN ${pick(f)} END`)
          .join(', ')}), '')`;
  const invalid = options.recordValid;
  const reason =
    invalid === undefined
      ? list((f) => f.reason, '; ')
      : `CASE WHEN NOT __sluice_valid THEN ${quoteLiteral(invalid.reason)} ELSE ${list((f) => f.reason, '; ')} END`;
  const column =
    invalid === undefined
      ? list((f) => f.column, ',')
      : `CASE WHEN NOT __sluice_valid THEN NULL ELSE ${list((f) => f.column, ',')} END`;
  const original =
    options.originalJSON === undefined
      ? `to_json(struct_pack(${columns
          .map((c, i) => `${names[i]} := ${c.raw === undefined ? names[i] : rawName(i)}`)
          .join(', ')}))`
      : `CASE WHEN json_valid(__sluice_original) THEN CAST(__sluice_original AS JSON) ELSE to_json(__sluice_original) END`;

  // Only what the quarantine query needs is kept for failing rows; good rows store their values
  // and a flag, so typing costs about what a plain typed load costs.
  const keptForFailures = [
    ...columns.flatMap((c, i) => (c.raw === undefined ? [] : [rawName(i)])),
    '__sluice_file',
    '__sluice_valid',
    ...(options.originalJSON === undefined ? [] : ['__sluice_original']),
  ];
  const rowsRead = await connection.run(
    `CREATE TABLE ${table} AS
     SELECT ${[...names, ...metadataNames].join(', ')}, __sluice_ok,
       ${discarded.length === 0 ? '0' : discarded.join(' + ')} AS __sluice_discarded,
       ${keptForFailures.map((name) => `CASE WHEN NOT __sluice_ok THEN ${name} END AS ${name}`).join(',\n       ')}
     FROM (
       SELECT *, ${ok} AS __sluice_ok FROM (
         SELECT
      ${inner}
         FROM ${options.scan}
       )
     )`,
  );

  const quarantineQuery = [
    `SELECT __sluice_file AS source_file, CAST(NULL AS BIGINT) AS line,
            ${column} AS "column", ${reason} AS reason, ${original} AS record
     FROM ${table} WHERE NOT __sluice_ok`,
    ...(options.extraQuarantine === undefined ? [] : [options.extraQuarantine]),
  ].join('\nUNION ALL\n');
  const rowsQuarantined = await options.quarantine.writeQuery(connection, stepId, quarantineQuery);
  const typed = await countQuarantinedTyped(connection, table);
  const extraRows = rowsQuarantined - typed.quarantined;

  await connection.run(
    `CREATE VIEW ${quoteIdentifier(stepId)} AS
     SELECT ${[...names, ...metadataNames].join(', ')} FROM ${table} WHERE __sluice_ok`,
  );
  return {
    rowsRead: rowsRead + extraRows,
    rowsQuarantined,
    rowsMalformed: typed.invalid + extraRows,
    valuesDiscarded: typed.discarded,
    fields: [...columns.map((c) => c.field), ...options.metadata.map((m) => m.field)],
  };
}

async function countQuarantinedTyped(
  connection: EngineConnection,
  table: string,
): Promise<{ quarantined: number; invalid: number; discarded: number }> {
  const [row] = await connection.rows(
    `SELECT count(*) FILTER (WHERE NOT __sluice_ok) AS quarantined,
            count(*) FILTER (WHERE NOT __sluice_valid) AS invalid,
            coalesce(sum(__sluice_discarded), 0) AS discarded
     FROM ${table}`,
  );
  return {
    quarantined: Number(row?.['quarantined'] ?? 0),
    invalid: Number(row?.['invalid'] ?? 0),
    discarded: Number(row?.['discarded'] ?? 0),
  };
}

/**
 * How to read a column typed from the JSON values list `__sluice_values` (one JSON value per
 * declared column, by position): JSON stays JSON, strings are unquoted, other types are cast,
 * with the raw value kept so a value that does not convert can be quarantined (a fraction
 * does not convert to an integer or to a decimal of fewer digits: it is never rounded).
 *
 * @example
 * ```ts
 * typedFromJSON({ name: 'x', type: { kind: 'float64' }, nullable: false }, 1).typed;
 * // "TRY_CAST(NULLIF(__sluice_values[1], CAST('null' AS JSON)) AS DOUBLE)"
 * ```
 */
export function typedFromJSON(field: Field, position: number): EnforcedColumn {
  const value = `__sluice_values[${position}]`;
  const raw = `NULLIF(${value}, CAST('null' AS JSON))`;
  switch (field.type.kind) {
    case 'json':
      return { field, typed: raw };
    case 'string':
      return { field, typed: `${raw} ->> '$'` };
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'decimal': {
      // DuckDB rounds a fraction cast to an integer (or to fewer decimals): such a value does
      // not fit and is not converted, so it is quarantined instead of changed.
      const typed = `TRY_CAST(${raw} AS ${toDuckDBType(field.type)})`;
      const asDouble = `TRY_CAST(${raw} ->> '$' AS DOUBLE)`;
      return {
        field,
        typed: `CASE WHEN ${asDouble} IS DISTINCT FROM CAST(${typed} AS DOUBLE) THEN NULL ELSE ${typed} END`,
        raw,
      };
    }
    default:
      return { field, typed: `TRY_CAST(${raw} AS ${toDuckDBType(field.type)})`, raw };
  }
}

/**
 * How many runs of line breaks (`\n`, or `\r` in files without `\n`, with any `\r` next to
 * them) the text values of a step's typed rows hold: each makes a quoted value span one more
 * non-blank line of its file. Reads the table {@link enforceSchema} left for `stepId`.
 *
 * @example
 * ```ts
 * await lineBreakRunsInValues(connection, 'orders', columns, 'lf'); // 3
 * ```
 */
export async function lineBreakRunsInValues(
  connection: EngineConnection,
  stepId: string,
  columns: readonly EnforcedColumn[],
  terminator: 'lf' | 'cr',
): Promise<number> {
  const pattern = quoteLiteral(
    terminator === 'lf' ? '[\\r\\n]*\\n[\\r\\n]*' : '[\\r\\n]*\\r[\\r\\n]*',
  );
  const texts = columns.flatMap((c, i) => [
    ...(c.field.type.kind === 'string' || c.field.type.kind === 'json'
      ? [`CAST(${quoteIdentifier(c.field.name)} AS VARCHAR)`]
      : []),
    ...(c.raw === undefined ? [] : [`CAST(${quoteIdentifier(`__sluice_raw_${i}`)} AS VARCHAR)`]),
  ]);
  if (texts.length === 0) return 0;
  const runs = texts
    .map((text) => `coalesce(len(regexp_extract_all(${text}, ${pattern})), 0)`)
    .join(' + ');
  const [row] = await connection.rows(
    `SELECT coalesce(sum(${runs}), 0) AS runs FROM ${quoteIdentifier(`${TYPED_TABLE_PREFIX}${stepId}`)}`,
  );
  return Number(row?.['runs'] ?? 0);
}
