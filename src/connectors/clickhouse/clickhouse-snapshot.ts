import type { SnapshotOptions } from '../../core/warehouse-options.js';
import type { ClickHouseColumn } from './clickhouse-client.js';
import { quoteClickHouseIdentifier as q, quoteClickHouseString } from './clickhouse-client.js';

/** The validity columns a snapshot table adds to the query's (as on PostgreSQL). */
const SCD_ID = 'sluice_scd_id';
const UPDATED_AT = 'sluice_updated_at';
const VALID_FROM = 'sluice_valid_from';
const VALID_TO = 'sluice_valid_to';
const IS_DELETED = 'sluice_is_deleted';
const METADATA = [SCD_ID, UPDATED_AT, VALID_FROM, VALID_TO, IS_DELETED];

/** What {@link snapshotStatements} works on: quoted tables and the columns they have. */
export interface ClickHouseSnapshot {
  readonly options: SnapshotOptions;
  /** The snapshot table (quoted), and its columns when it exists. */
  readonly target: string;
  readonly targetColumns: readonly ClickHouseColumn[] | undefined;
  /** The query's rows of this run (a quoted table) and their columns. */
  readonly input: string;
  readonly inputColumns: readonly ClickHouseColumn[];
  /** The staging table the new contents go to (quoted), swapped in when the run publishes. */
  readonly rows: string;
  /** The run's start. */
  readonly now: Date;
}

/**
 * The statements that write a snapshot's new contents (dbt snapshot semantics, as the
 * PostgreSQL snapshot): history kept, unchanged current versions kept, changed ones closed and
 * followed by a new version, keys gone from the query ignored, invalidated or closed with a
 * deletion record. ClickHouse has no updates in place, so the whole table is written anew into
 * `rows` and swapped in. Check the input first with {@link snapshotProblems}.
 *
 * @example
 * ```ts
 * for (const statement of snapshotStatements(spec)) await connection.command(statement);
 * ```
 */
export function snapshotStatements(spec: ClickHouseSnapshot): string[] {
  const { options, target, input, rows } = spec;
  const deletes = options.hardDeletes ?? 'ignore';
  const data = spec.inputColumns.map((c) => c.name);
  const now = `toDateTime(${quoteClickHouseString(spec.now.toISOString().slice(0, 19).replace('T', ' '))}, 'UTC')`;
  const key = keyText(options.uniqueKey);
  const checked =
    options.strategy === 'check'
      ? (options.checkColumns ?? data.filter((c) => !options.uniqueKey.includes(c)))
      : [];
  const signature = (side: 'input' | 'target'): string =>
    options.strategy === 'timestamp'
      ? side === 'input'
        ? `toString(toDateTime(${q(options.updatedAt ?? '')}, 'UTC'))`
        : `toString(${q(UPDATED_AT)})`
      : joinText(checked.map((c) => `ifNull(toString(${q(c)}), '<null>')`));
  const validFrom =
    options.strategy === 'timestamp' ? `toDateTime(${q(options.updatedAt ?? '')}, 'UTC')` : now;
  const scdId = (from: string): string => `hex(MD5(concat(${key}, '|', toString(${from}))))`;
  const nullTime = `CAST(NULL AS Nullable(DateTime('UTC')))`;
  // Unnamed on purpose in INSERTs: ClickHouse lets an alias shadow a column in WHERE.
  const newVersion = (from: string, deleted: boolean): string[] => [
    scdId(from),
    from,
    from,
    nullTime,
    ...(deletes === 'new_record' ? [`toUInt8(${deleted ? 1 : 0})`] : []),
  ];

  if (spec.targetColumns === undefined)
    return [
      `CREATE TABLE ${rows} ENGINE = MergeTree ORDER BY tuple() AS SELECT ${[
        ...data.map(q),
        ...newVersion(validFrom, false).map(
          (value, i) => `${value} AS ${q(METADATA[i] as string)}`,
        ),
      ].join(', ')} FROM ${input}`,
    ];

  const statements: string[] = [];
  const have = new Set(spec.targetColumns.map((c) => c.name));
  for (const column of spec.inputColumns.filter((c) => !have.has(c.name)))
    statements.push(`ALTER TABLE ${target} ADD COLUMN ${q(column.name)} ${column.type}`);
  const hasDeletedFlag = have.has(IS_DELETED);
  if (deletes === 'new_record' && !hasDeletedFlag)
    statements.push(`ALTER TABLE ${target} ADD COLUMN ${q(IS_DELETED)} UInt8 DEFAULT 0`);
  const flagged = hasDeletedFlag || deletes === 'new_record';
  const columns = [
    ...spec.targetColumns.map((c) => c.name).filter((c) => !METADATA.includes(c)),
    ...spec.inputColumns.map((c) => c.name).filter((c) => !have.has(c)),
  ];
  const all = [
    ...columns,
    SCD_ID,
    UPDATED_AT,
    VALID_FROM,
    VALID_TO,
    ...(flagged ? [IS_DELETED] : []),
  ];
  const list = all.map(q).join(', ');
  const current = `${q(VALID_TO)} IS NULL`;
  const live = flagged ? `${current} AND ${q(IS_DELETED)} = 0` : current;
  const incoming = `(SELECT ${key} FROM ${input})`;
  const incomingVersions = `(SELECT ${key}, ${signature('input')} FROM ${input})`;
  /** The target's columns with `valid_to` set to `closedAt`. */
  const closed = (closedAt: string): string =>
    all
      .map((c) => (c === VALID_TO ? `CAST(${closedAt} AS Nullable(DateTime('UTC')))` : q(c)))
      .join(', ');
  const keep = (where: string): string =>
    `INSERT INTO ${rows} (${list}) SELECT ${list} FROM ${target} WHERE ${where}`;
  const close = (where: string, at: string): string =>
    `INSERT INTO ${rows} (${list}) SELECT ${closed(at)} FROM ${target} WHERE ${where}`;

  statements.push(`CREATE TABLE ${rows} AS ${target}`);
  // History, and current versions the run leaves as they are.
  statements.push(keep(`NOT (${current})`));
  statements.push(keep(`${live} AND (${key}, ${signature('target')}) IN ${incomingVersions}`));
  // Current versions that changed: closed where the new version starts.
  const changed = `${live} AND ${key} IN ${incoming} AND (${key}, ${signature('target')}) NOT IN ${incomingVersions}`;
  if (options.strategy === 'timestamp')
    statements.push(
      `INSERT INTO ${rows} (${list}) SELECT ${closed('sluice_next_from')} FROM (SELECT *, ${key} AS sluice_key FROM ${target} WHERE ${changed}) ANY INNER JOIN (SELECT ${key} AS sluice_key, ${validFrom} AS sluice_next_from FROM ${input}) USING sluice_key`,
    );
  else statements.push(close(changed, now));
  // Current versions whose key the query no longer returns.
  const gone = `${live} AND ${key} NOT IN ${incoming}`;
  if (deletes === 'ignore') statements.push(keep(gone));
  else statements.push(close(gone, now));
  if (deletes === 'new_record') {
    const copied = columns.map(q);
    statements.push(
      `INSERT INTO ${rows} (${list}) SELECT ${[...copied, ...newVersion(now, true)].join(', ')} FROM ${target} WHERE ${gone}`,
    );
  }
  if (flagged) {
    // Deletion records: kept while the key stays away, closed when it comes back.
    const deletion = `${current} AND ${q(IS_DELETED)} = 1`;
    statements.push(keep(`${deletion} AND ${key} NOT IN ${incoming}`));
    statements.push(close(`${deletion} AND ${key} IN ${incoming}`, now));
  }
  // New versions: new keys, changed rows, keys that came back.
  const values = columns.map((c) =>
    spec.inputColumns.some((i) => i.name === c) ? q(c) : `NULL AS ${q(c)}`,
  );
  statements.push(
    `INSERT INTO ${rows} (${list}) SELECT ${[...values, ...newVersion(validFrom, false)].join(', ')} FROM ${input} WHERE (${key}, ${signature('input')}) NOT IN (SELECT ${key}, ${signature('target')} FROM ${target} WHERE ${live})`,
  );
  return statements;
}

/**
 * A query over the input that returns a row when the snapshot cannot be taken: a repeated or
 * NULL key, or a NULL `updatedAt`; its `problem` column says which.
 *
 * @example
 * ```ts
 * const [problem] = await connection.rows(snapshotProblems(options, input));
 * ```
 */
export function snapshotProblems(options: SnapshotOptions, input: string): string {
  const key = keyText(options.uniqueKey);
  const nullKey = options.uniqueKey.map((k) => `isNull(${q(k)})`).join(' OR ');
  const nullTime =
    options.strategy === 'timestamp' ? ` OR isNull(${q(options.updatedAt ?? '')})` : '';
  return `SELECT concat('the query returned ', toString(count()), ' rows with the unique key ', any(${key})) AS problem FROM ${input} GROUP BY ${key} HAVING count() > 1
    UNION ALL SELECT 'a unique key or the updatedAt column is NULL' AS problem FROM ${input} WHERE ${nullKey}${nullTime} LIMIT 1`;
}

/** A row's unique key as one text value (NULLs and separators kept apart). */
function keyText(keys: readonly string[]): string {
  return joinText(keys.map((k) => `ifNull(toString(${q(k)}), '\\0')`));
}

/** Text expressions joined with `|` (ClickHouse's concat takes two arguments or more). */
function joinText(parts: readonly string[]): string {
  return parts.length === 1 ? (parts[0] as string) : `concat(${parts.join(", '|', ")})`;
}
