/**
 * The SQL of snapshots (type-2 slowly changing dimensions) in PostgreSQL, with dbt snapshot
 * semantics: every run compares the rows of a query with the current versions kept in a target
 * table, closes the versions that changed or disappeared and inserts the new ones. Pure: it builds
 * statements, the caller runs them in order inside its own transaction.
 */
import { ConfigError, TableWriteError } from '../../core/errors.js';
import type { Diagnostic } from '../../core/errors.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { Field } from '../../core/types.js';
import { mapType } from '../../core/types.js';
import { postgresTypeMapping } from './pg-types.js';

/**
 * The metadata columns a snapshot table has besides the query's columns.
 *
 * - `scdId`: text, md5 of the JSON array of the key values (as text) and the version's
 *   `validFrom` (UTC, `YYYY-MM-DDTHH:MI:SS.ffffffZ`); unique per version.
 * - `updatedAt`: timestamptz, the `updatedAt` value of the version (timestamp strategy) or the
 *   run's time (check strategy, deletion records).
 * - `validFrom`, `validTo`: timestamptz, when the version started and ended; `validTo` is NULL
 *   for the current version of a key.
 * - `isDeleted`: boolean, only with `hardDeletes: 'new_record'`; true on deletion records.
 *
 * @example
 * ```ts
 * const current = `SELECT * FROM snapshots.customers WHERE ${SNAPSHOT_COLUMNS.validTo} IS NULL`;
 * ```
 */
export const SNAPSHOT_COLUMNS = {
  scdId: 'sluice_scd_id',
  updatedAt: 'sluice_updated_at',
  validFrom: 'sluice_valid_from',
  validTo: 'sluice_valid_to',
  isDeleted: 'sluice_is_deleted',
} as const;

/**
 * Columns of a snapshot query may not start with this prefix: it is kept for the metadata
 * columns ({@link SNAPSHOT_COLUMNS}) and the statements' own work columns.
 *
 * @example
 * ```ts
 * fields.filter((f) => f.name.startsWith(SNAPSHOT_RESERVED_PREFIX)); // columns to rename
 * ```
 */
export const SNAPSHOT_RESERVED_PREFIX = 'sluice_';

/** What a snapshot run needs to know: where, from what, and how changes are detected. */
export interface SnapshotSpec {
  /** Quoted, possibly schema-qualified, target table. Its schema must exist. */
  readonly target: string;
  /** A relation (quoted name of a TEMP table) holding the snapshot query's rows of this run. */
  readonly source: string;
  /** Columns of `source` (name + Sluice logical type). */
  readonly columns: readonly Field[];
  /** The columns that identify a row; the query must return at most one row per key. */
  readonly uniqueKey: readonly string[];
  /** How a changed row is recognised: by a growing timestamp, or by comparing columns. */
  readonly strategy: 'timestamp' | 'check';
  /** timestamp strategy: the source column (date or timestamp) that grows when a row changes. */
  readonly updatedAt?: string;
  /** check strategy: the columns compared, or 'all' (every non-key column). */
  readonly checkColumns?: readonly string[] | 'all';
  /** What happens to the current version of a key the query no longer returns. */
  readonly hardDeletes: 'ignore' | 'invalidate' | 'new_record';
  /** The run's snapshot time, as an SQL timestamptz literal (e.g. `'2024-05-01T00:00:00Z'::timestamptz`). */
  readonly now: string;
  /** The step the snapshot belongs to, named in configuration errors. */
  readonly stepId?: string;
}

const CHANGES = 'sluice_snapshot_changes';
const HAS_CURRENT = 'sluice_has_current';
const IS_DELETION = 'sluice_is_deletion';
const UTC_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const WALL_CLOCK_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.US'`;

/** Everything the statements need, resolved and checked once. */
interface SnapshotPlan {
  readonly spec: SnapshotSpec;
  readonly keys: readonly Field[];
  readonly createTable: boolean;
  /** Source columns the existing target lacks. */
  readonly added: readonly Field[];
  /** Whether the target lacks `sluice_is_deleted` although new_record needs it. */
  readonly addDeletedFlag: boolean;
  /** Whether the target has (or will have) `sluice_is_deleted`. */
  readonly deletedFlag: boolean;
  /** The target's data (non-metadata) columns once the statements added what was missing. */
  readonly dataColumns: readonly string[];
  /** timestamp strategy: the updated value of a source row `s`, as timestamptz. */
  readonly updatedValue: string | undefined;
  /** check strategy: the columns compared. */
  readonly checked: readonly Field[];
}

/**
 * The statements that bring `spec.target` up to date with the rows of `spec.source`, to run in
 * order inside one transaction (the caller's). `targetColumns` are the target's column names
 * (from {@link snapshotTargetColumnsQuery}), or undefined when the target does not exist yet: the
 * statements then create it.
 *
 * The first statement checks the source and raises, before anything is changed, SQLSTATE 23505
 * (`unique_violation`) when a key repeats, naming up to five repeated keys, or 23502
 * (`not_null_violation`) when a key column or the `updatedAt` column is NULL. Then the target is
 * created or extended with the source's new columns, locked against concurrent snapshot runs
 * (readers are not blocked), and the changes are computed into a temporary table before the
 * target is modified: current versions that changed or disappeared are closed, new versions
 * inserted.
 *
 * A version returning after a hard delete (a key whose last version was invalidated, or whose
 * current version is a deletion record) starts at its `updatedAt` value when that is later than
 * the deletion, and at `now` otherwise, so the versions of a key never overlap. More generally,
 * with the timestamp strategy a new version starts at its `updatedAt` value only when that is
 * later than the start of the key's current version (or the end of its last one); otherwise it
 * starts at `now`.
 *
 * Throws {@link ConfigError} when the spec does not fit the source's columns (every problem
 * listed) and {@link TableWriteError} when the existing target is not a snapshot table of this
 * key.
 *
 * @example
 * ```ts
 * const columns = (await client.query(snapshotTargetColumnsQuery('"snapshots"."customers"'))).rows;
 * const statements = snapshotStatements(
 *   {
 *     target: '"snapshots"."customers"',
 *     source: '"customers_now"',
 *     columns: fields,
 *     uniqueKey: ['id'],
 *     strategy: 'timestamp',
 *     updatedAt: 'updated_at',
 *     hardDeletes: 'invalidate',
 *     now: `'2024-05-01T00:00:00Z'::timestamptz`,
 *   },
 *   columns.length === 0 ? undefined : columns.map((c) => c.name),
 * );
 * for (const statement of statements) await client.query(statement);
 * ```
 */
export function snapshotStatements(
  spec: SnapshotSpec,
  targetColumns: readonly string[] | undefined,
): string[] {
  const plan = planSnapshot(spec, targetColumns);
  return [
    sourceCheckStatement(plan),
    ...targetDefinitionStatements(plan),
    `LOCK TABLE ${spec.target} IN SHARE ROW EXCLUSIVE MODE`,
    `DROP TABLE IF EXISTS pg_temp.${CHANGES}`,
    changesStatement(plan),
    `ANALYZE pg_temp.${CHANGES}`,
    closeStatement(plan),
    insertStatement(plan),
    `DROP TABLE pg_temp.${CHANGES}`,
  ];
}

/**
 * A query returning the column names (`name`) of a table in their order, or no row when the
 * table does not exist: what {@link snapshotStatements} takes as `targetColumns`.
 *
 * @example
 * ```ts
 * const { rows } = await client.query<{ name: string }>(snapshotTargetColumnsQuery('"snapshots"."customers"'));
 * const targetColumns = rows.length === 0 ? undefined : rows.map((r) => r.name);
 * ```
 */
export function snapshotTargetColumnsQuery(target: string): string {
  return `SELECT attname AS name FROM pg_attribute
 WHERE attrelid = to_regclass(${quoteLiteral(target)}) AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum`;
}

function planSnapshot(
  spec: SnapshotSpec,
  targetColumns: readonly string[] | undefined,
): SnapshotPlan {
  return { spec, ...resolveColumns(spec), ...targetShape(spec, targetColumns) };
}

/** Records problems of a spec and looks its column names up, recording unknown ones. */
interface SpecProblems {
  add(path: string, message: string, hint?: string): void;
  lookup(path: string, name: string, role: string): Field | undefined;
}

/** The columns the spec names, checked against the query's; every problem in one ConfigError. */
function resolveColumns(
  spec: SnapshotSpec,
): Pick<SnapshotPlan, 'keys' | 'updatedValue' | 'checked'> {
  const diagnostics: Diagnostic[] = [];
  const byName = new Map(spec.columns.map((f) => [f.name, f]));
  const known = `the query's columns: ${spec.columns.map((f) => f.name).join(', ')}`;
  const problems: SpecProblems = {
    add: (path, message, hint) =>
      diagnostics.push({
        code: 'invalid-snapshot',
        message,
        path,
        ...(spec.stepId === undefined ? {} : { stepId: spec.stepId }),
        ...(hint === undefined ? {} : { hint }),
      }),
    lookup: (path, name, role) => {
      const field = byName.get(name);
      if (field === undefined)
        problems.add(path, `${role} "${name}" is not a column of the snapshot query`, known);
      return field;
    },
  };

  for (const field of spec.columns)
    if (field.name.startsWith(SNAPSHOT_RESERVED_PREFIX))
      problems.add(
        'columns',
        `column "${field.name}" of the snapshot query starts with "${SNAPSHOT_RESERVED_PREFIX}", which snapshots keep for their own columns`,
        'rename it in the query (e.g. SELECT sluice_x AS x)',
      );
  if (spec.uniqueKey.length === 0)
    problems.add(
      'snapshot.uniqueKey',
      'uniqueKey is empty',
      'name the column(s) that identify a row',
    );
  const keys = spec.uniqueKey.flatMap(
    (name) => problems.lookup('snapshot.uniqueKey', name, 'uniqueKey column') ?? [],
  );
  const strategy =
    spec.strategy === 'timestamp'
      ? { updatedValue: resolveTimestamp(spec, problems), checked: [] }
      : { updatedValue: undefined, checked: resolveCheck(spec, problems) };
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  return { keys, ...strategy };
}

/** timestamp strategy: the updated value of a source row `s`, as timestamptz. */
function resolveTimestamp(spec: SnapshotSpec, problems: SpecProblems): string | undefined {
  if (spec.checkColumns !== undefined)
    problems.add(
      'snapshot.checkColumns',
      'checkColumns applies only to the check strategy',
      'remove it, or use strategy "check"',
    );
  if (spec.updatedAt === undefined) {
    problems.add(
      'snapshot.updatedAt',
      'the timestamp strategy needs updatedAt',
      'name the column that grows when a row changes, or use strategy "check"',
    );
    return undefined;
  }
  const field = problems.lookup('snapshot.updatedAt', spec.updatedAt, 'updatedAt column');
  if (field === undefined) return undefined;
  const value = instantOf(`s.${quoteIdentifier(field.name)}`, field);
  if (value === undefined)
    problems.add(
      'snapshot.updatedAt',
      `updatedAt column "${field.name}" is ${field.type.kind}; the timestamp strategy needs a date or timestamp column`,
      'cast it in the query (e.g. updated_at::timestamptz) or use strategy "check"',
    );
  return value;
}

/** check strategy: the columns compared. */
function resolveCheck(spec: SnapshotSpec, problems: SpecProblems): Field[] {
  if (spec.updatedAt !== undefined)
    problems.add(
      'snapshot.updatedAt',
      'updatedAt applies only to the timestamp strategy',
      'remove it, or use strategy "timestamp"',
    );
  if (spec.checkColumns === undefined) {
    problems.add(
      'snapshot.checkColumns',
      'the check strategy needs checkColumns',
      "list the columns to compare, or 'all'",
    );
    return [];
  }
  if (spec.checkColumns === 'all') {
    const keyNames = new Set(spec.uniqueKey);
    const checked = spec.columns.filter((f) => !keyNames.has(f.name));
    if (checked.length === 0)
      problems.add(
        'snapshot.checkColumns',
        "checkColumns 'all' leaves nothing to compare: every column is part of the unique key",
      );
    return checked;
  }
  if (spec.checkColumns.length === 0)
    problems.add(
      'snapshot.checkColumns',
      'checkColumns is empty',
      "list the columns to compare, or 'all'",
    );
  return spec.checkColumns.flatMap(
    (name) => problems.lookup('snapshot.checkColumns', name, 'checkColumns column') ?? [],
  );
}

/** What the target lacks, refusing an existing table that is not a snapshot of this key. */
function targetShape(
  spec: SnapshotSpec,
  targetColumns: readonly string[] | undefined,
): Pick<SnapshotPlan, 'createTable' | 'added' | 'addDeletedFlag' | 'deletedFlag' | 'dataColumns'> {
  if (targetColumns === undefined)
    return {
      createTable: true,
      added: [],
      addDeletedFlag: false,
      deletedFlag: spec.hardDeletes === 'new_record',
      dataColumns: spec.columns.map((f) => f.name),
    };
  const have = new Set(targetColumns);
  const required = [
    SNAPSHOT_COLUMNS.scdId,
    SNAPSHOT_COLUMNS.updatedAt,
    SNAPSHOT_COLUMNS.validFrom,
    SNAPSHOT_COLUMNS.validTo,
  ];
  const lacking = required.filter((name) => !have.has(name));
  if (lacking.length > 0)
    throw new TableWriteError(
      spec.target,
      `is not a snapshot table: it lacks ${lacking.join(', ')}`,
      {
        hint: 'snapshot into a new table, or drop this one to start its history over',
      },
    );
  const lackingKeys = spec.uniqueKey.filter((name) => !have.has(name));
  if (lackingKeys.length > 0)
    throw new TableWriteError(
      spec.target,
      `has no column ${lackingKeys.map((k) => `"${k}"`).join(', ')} of the unique key (${spec.uniqueKey.join(', ')}): its history was kept under another key`,
      { hint: 'a snapshot keeps its key: snapshot into a new table to change it' },
    );
  const metadata = new Set<string>(Object.values(SNAPSHOT_COLUMNS));
  const added = spec.columns.filter((f) => !have.has(f.name));
  const hasFlag = have.has(SNAPSHOT_COLUMNS.isDeleted);
  const addDeletedFlag = spec.hardDeletes === 'new_record' && !hasFlag;
  return {
    createTable: false,
    added,
    addDeletedFlag,
    deletedFlag: hasFlag || addDeletedFlag,
    dataColumns: [
      ...targetColumns.filter((name) => !metadata.has(name)),
      ...added.map((f) => f.name),
    ],
  };
}

/** A date or timestamp as an instant (wall-clock values read as UTC); undefined for other types. */
function instantOf(column: string, field: Field): string | undefined {
  if (field.type.kind === 'date') return `(CAST(${column} AS timestamp) AT TIME ZONE 'UTC')`;
  if (field.type.kind !== 'timestamp') return undefined;
  return field.type.tz ? column : `(${column} AT TIME ZONE 'UTC')`;
}

function postgresType(field: Field): string {
  return mapType(postgresTypeMapping, field.type);
}

/** A source column in the type the target keeps it in, so that it compares with the target's. */
function sourceValue(alias: string, field: Field): string {
  return `CAST(${alias}.${quoteIdentifier(field.name)} AS ${postgresType(field)})`;
}

function column(alias: string, name: string): string {
  return `${alias}.${quoteIdentifier(name)}`;
}

function keysEqual(
  left: (field: Field) => string,
  right: (field: Field) => string,
  keys: readonly Field[],
): string {
  return keys.map((k) => `${left(k)} = ${right(k)}`).join(' AND ');
}

/** A key value as text that does not depend on the session's time zone or date style. */
function keyText(value: string, field: Field): string {
  if (field.type.kind === 'timestamp')
    return field.type.tz
      ? `to_char(${value} AT TIME ZONE 'UTC', ${UTC_FORMAT})`
      : `to_char(${value}, ${WALL_CLOCK_FORMAT})`;
  if (field.type.kind === 'date') return `to_char(${value}, 'YYYY-MM-DD')`;
  return `CAST(${value} AS text)`;
}

/** `sluice_scd_id`: md5 of the JSON array of the key values and the version's start, in UTC. */
function scdId(
  keyValue: (field: Field) => string,
  keys: readonly Field[],
  validFrom: string,
): string {
  const parts = [
    ...keys.map((k) => keyText(keyValue(k), k)),
    `to_char(${validFrom} AT TIME ZONE 'UTC', ${UTC_FORMAT})`,
  ];
  return `md5(CAST(jsonb_build_array(${parts.join(', ')}) AS text))`;
}

/** The DO block that refuses a source with NULL or repeated keys or NULL updated values. */
function sourceCheckStatement(plan: SnapshotPlan): string {
  const { spec, keys } = plan;
  const subject = `snapshot of ${spec.target}`;
  const keyNames = keys.map((k) => k.name).join(', ');
  const keyColumns = keys.map((k, i) => `${sourceValue('s', k)} AS k${i}`).join(', ');
  const label = `'(' || ${keys.map((k, i) => `${quoteLiteral(`${k.name}=`)} || coalesce(${keyText(`k${i}`, k)}, 'NULL')`).join(` || ', ' || `)} || ')'`;
  const raise = (errcode: string, message: string, hint: string): string =>
    `RAISE EXCEPTION USING ERRCODE = '${errcode}', MESSAGE = ${message}, HINT = ${quoteLiteral(hint)};`;
  const checks = [
    `SELECT count(*) INTO total FROM ${spec.source} AS s WHERE ${keys.map((k) => `${column('s', k.name)} IS NULL`).join(' OR ')};
  IF total > 0 THEN
    ${raise('not_null_violation', `${quoteLiteral(`${subject}: `)} || total || ${quoteLiteral(` row(s) of the query have a NULL in the unique key (${keyNames})`)}`, 'every version needs a key: filter those rows out or fill the key in the query')}
  END IF;`,
    `SELECT max(d.groups), string_agg(d.label || ' ' || d.n || ' rows', ', ' ORDER BY d.n DESC, d.label) INTO total, problem
    FROM (SELECT ${label} AS label, count(*) AS n, count(*) OVER () AS groups
            FROM (SELECT ${keyColumns} FROM ${spec.source} AS s) AS s
           GROUP BY ${keys.map((_, i) => `k${i}`).join(', ')} HAVING count(*) > 1
           ORDER BY count(*) DESC, 1 LIMIT 5) AS d;
  IF problem IS NOT NULL THEN
    ${raise('unique_violation', `${quoteLiteral(`${subject}: the unique key (${keyNames}) repeats in the query's rows: `)} || total || ' key(s) have more than one row, e.g. ' || problem`, `a snapshot keeps one version per key and run: make the query return one row per key (e.g. SELECT DISTINCT ON (${keyNames}) ... ORDER BY ${keyNames}, <newest first>) or extend uniqueKey`)}
  END IF;`,
  ];
  if (plan.updatedValue !== undefined) {
    const updatedAt = spec.updatedAt as string;
    checks.push(`SELECT max(d.groups), string_agg(d.label, ', ' ORDER BY d.label) INTO total, problem
    FROM (SELECT ${label} AS label, count(*) OVER () AS groups
            FROM (SELECT ${keyColumns} FROM ${spec.source} AS s WHERE ${column('s', updatedAt)} IS NULL) AS s
           ORDER BY 1 LIMIT 5) AS d;
  IF problem IS NOT NULL THEN
    ${raise('not_null_violation', `${quoteLiteral(`${subject}: updatedAt column "${updatedAt}" is NULL in `)} || total || ' row(s) of the query, e.g. ' || problem`, `the timestamp strategy dates versions by "${updatedAt}": fill it in the query (e.g. coalesce(${updatedAt}, created_at)) or use strategy "check"`)}
  END IF;`);
  }
  const body = `
DECLARE
  total bigint;
  problem text;
BEGIN
  ${checks.join('\n  ')}
END`;
  let tag = '$sluice_snapshot$';
  for (let i = 0; body.includes(tag); i += 1) tag = `$sluice_snapshot_${i}$`;
  return `DO ${tag}${body}${tag}`;
}

function targetDefinitionStatements(plan: SnapshotPlan): string[] {
  const { spec } = plan;
  const definition = (field: Field): string =>
    `${quoteIdentifier(field.name)} ${postgresType(field)}`;
  const deletedFlag = `${quoteIdentifier(SNAPSHOT_COLUMNS.isDeleted)} boolean NOT NULL DEFAULT false`;
  if (plan.createTable) {
    const columns = [
      ...spec.columns.map(definition),
      `${quoteIdentifier(SNAPSHOT_COLUMNS.scdId)} text NOT NULL`,
      `${quoteIdentifier(SNAPSHOT_COLUMNS.updatedAt)} timestamptz NOT NULL`,
      `${quoteIdentifier(SNAPSHOT_COLUMNS.validFrom)} timestamptz NOT NULL`,
      `${quoteIdentifier(SNAPSHOT_COLUMNS.validTo)} timestamptz`,
      ...(plan.deletedFlag ? [deletedFlag] : []),
    ];
    return [
      `CREATE TABLE ${spec.target} (\n  ${columns.join(',\n  ')}\n)`,
      `CREATE INDEX ON ${spec.target} (${plan.keys.map((k) => quoteIdentifier(k.name)).join(', ')})`,
    ];
  }
  const additions = [
    ...plan.added.map((f) => `ADD COLUMN ${definition(f)}`),
    ...(plan.addDeletedFlag ? [`ADD COLUMN ${deletedFlag}`] : []),
  ];
  return additions.length === 0 ? [] : [`ALTER TABLE ${spec.target} ${additions.join(', ')}`];
}

/**
 * One row per key to act on: `has_current` says whether its current version is closed, and
 * `is_deletion` whether the key left the query (otherwise its new version comes from the query).
 * `sluice_valid_from` is when the new version starts and the current one ends.
 */
function changesStatement(plan: SnapshotPlan): string {
  const { spec, keys } = plan;
  const now = `(${spec.now})`;
  const current = `c.${quoteIdentifier(SNAPSHOT_COLUMNS.validTo)} IS NULL`;
  const currentIsDeletion = `c.${quoteIdentifier(SNAPSHOT_COLUMNS.isDeleted)} IS TRUE`;
  const hasCurrent = `c.${quoteIdentifier(SNAPSHOT_COLUMNS.scdId)} IS NOT NULL`;
  let updated = now;
  let start = now;
  let changed: string;
  if (plan.updatedValue !== undefined) {
    updated = plan.updatedValue;
    const lastEnd = `(SELECT max(h.${quoteIdentifier(SNAPSHOT_COLUMNS.validTo)}) FROM ${spec.target} AS h WHERE ${keysEqual(
      (k) => column('h', k.name),
      (k) => sourceValue('s', k),
      keys,
    )})`;
    const boundary = `coalesce(c.${quoteIdentifier(SNAPSHOT_COLUMNS.validFrom)}, ${lastEnd}, '-infinity')`;
    start = `CASE WHEN ${updated} > ${boundary} THEN ${updated} ELSE ${now} END`;
    changed = `${updated} > c.${quoteIdentifier(SNAPSHOT_COLUMNS.updatedAt)}`;
  } else {
    changed = plan.checked
      .map((f) => `${sourceValue('s', f)} IS DISTINCT FROM ${column('c', f.name)}`)
      .join(' OR ');
  }
  const versions = `SELECT ${keys.map((k) => `${sourceValue('s', k)} AS ${quoteIdentifier(k.name)}`).join(', ')},
       ${hasCurrent} AS ${HAS_CURRENT}, false AS ${IS_DELETION},
       ${updated} AS ${quoteIdentifier(SNAPSHOT_COLUMNS.updatedAt)},
       ${start} AS ${quoteIdentifier(SNAPSHOT_COLUMNS.validFrom)}
  FROM ${spec.source} AS s
  LEFT JOIN ${spec.target} AS c ON ${keysEqual(
    (k) => column('c', k.name),
    (k) => sourceValue('s', k),
    keys,
  )} AND ${current}
 WHERE c.${quoteIdentifier(SNAPSHOT_COLUMNS.scdId)} IS NULL${plan.deletedFlag ? ` OR ${currentIsDeletion}` : ''} OR (${changed})`;
  if (spec.hardDeletes === 'ignore') return `CREATE TEMP TABLE ${CHANGES} AS\n${versions}`;
  const deletions = `SELECT ${keys.map((k) => `CAST(${column('c', k.name)} AS ${postgresType(k)})`).join(', ')}, true, true, ${now}, ${now}
  FROM ${spec.target} AS c
 WHERE ${current}${spec.hardDeletes === 'new_record' ? ` AND c.${quoteIdentifier(SNAPSHOT_COLUMNS.isDeleted)} IS NOT TRUE` : ''}
   AND NOT EXISTS (SELECT FROM ${spec.source} AS s WHERE ${keysEqual(
     (k) => column('c', k.name),
     (k) => sourceValue('s', k),
     keys,
   )})`;
  return `CREATE TEMP TABLE ${CHANGES} AS\n${versions}\nUNION ALL\n${deletions}`;
}

/** Closes current versions; with new_record also inserts deletion records copying their values. */
function closeStatement(plan: SnapshotPlan): string {
  const { spec, keys } = plan;
  const update = `UPDATE ${spec.target} AS t SET ${quoteIdentifier(SNAPSHOT_COLUMNS.validTo)} = ch.${quoteIdentifier(SNAPSHOT_COLUMNS.validFrom)}
    FROM pg_temp.${CHANGES} AS ch
   WHERE ${keysEqual(
     (k) => column('t', k.name),
     (k) => column('ch', k.name),
     keys,
   )}
     AND t.${quoteIdentifier(SNAPSHOT_COLUMNS.validTo)} IS NULL AND ch.${HAS_CURRENT}`;
  if (spec.hardDeletes !== 'new_record') return update;
  const now = `(${spec.now})`;
  const data = plan.dataColumns.map(quoteIdentifier);
  return `WITH closed AS (
  ${update}
  RETURNING ${data.map((c) => `t.${c}`).join(', ')}, ch.${IS_DELETION}
)
INSERT INTO ${spec.target} (${[...data, ...metadataColumns(plan)].join(', ')})
SELECT ${[...data, scdId((k) => column('closed', k.name), keys, now), now, now, 'NULL', 'true'].join(', ')}
  FROM closed WHERE ${IS_DELETION}`;
}

/** Inserts the new current versions from the query's rows. */
function insertStatement(plan: SnapshotPlan): string {
  const { spec, keys } = plan;
  const validFrom = `ch.${quoteIdentifier(SNAPSHOT_COLUMNS.validFrom)}`;
  const values = [
    ...spec.columns.map((f) => sourceValue('s', f)),
    scdId((k) => column('ch', k.name), keys, validFrom),
    `ch.${quoteIdentifier(SNAPSHOT_COLUMNS.updatedAt)}`,
    validFrom,
    'NULL',
    ...(plan.deletedFlag ? ['false'] : []),
  ];
  return `INSERT INTO ${spec.target} (${[...spec.columns.map((f) => quoteIdentifier(f.name)), ...metadataColumns(plan)].join(', ')})
SELECT ${values.join(',\n       ')}
  FROM ${spec.source} AS s
  JOIN pg_temp.${CHANGES} AS ch ON ${keysEqual(
    (k) => column('ch', k.name),
    (k) => sourceValue('s', k),
    keys,
  )}
 WHERE NOT ch.${IS_DELETION}`;
}

function metadataColumns(plan: SnapshotPlan): string[] {
  return [
    SNAPSHOT_COLUMNS.scdId,
    SNAPSHOT_COLUMNS.updatedAt,
    SNAPSHOT_COLUMNS.validFrom,
    SNAPSHOT_COLUMNS.validTo,
    ...(plan.deletedFlag ? [SNAPSHOT_COLUMNS.isDeleted] : []),
  ].map(quoteIdentifier);
}
