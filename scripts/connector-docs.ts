/**
 * Generates the connector pages under `docs/connectors/` (files, PostgreSQL) from the connectors:
 * their name, role, summary and a table of config fields read from each zod config schema. The
 * prose above the tables is written here by hand. Output is deterministic, so a test can compare
 * it with the committed pages.
 *
 * Run: `npm run docs:connectors`
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fileConnectors } from '../src/connectors/files/index.js';
import {
  webhookSource,
  webhookStreamSink,
  webhookStreamSource,
} from '../src/connectors/http/index.js';
import { postgresConnectors } from '../src/connectors/postgres/index.js';
import type { BatchConnector } from '../src/contracts/batch-connector.js';
import type {
  StreamSinkConnector,
  StreamSourceConnector,
} from '../src/contracts/stream-connector.js';
import { isMainModule, renderTable } from './markdown.js';

/** A connector a page documents: a batch source or sink, or a stream source or sink. */
type DocumentedConnector = BatchConnector | StreamSourceConnector | StreamSinkConnector;
type Role = DocumentedConnector['role'];

/** Section headings and factory objects by role. */
const ROLES: readonly {
  readonly role: Role;
  readonly heading: string;
  readonly factory: string;
}[] = [
  { role: 'source', heading: '## Sources', factory: 'source' },
  { role: 'sink', heading: '## Sinks', factory: 'sink' },
  { role: 'stream-source', heading: '## Stream sources', factory: 'streamSource' },
  { role: 'stream-sink', heading: '## Stream sinks', factory: 'streamSink' },
];

/** The command that regenerates the page. */
export const REGENERATE_COMMAND = 'npm run docs:connectors';

type JSONSchemaNode = {
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly JSONSchemaNode[];
  readonly items?: JSONSchemaNode;
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly default?: unknown;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, JSONSchemaNode>>;
  readonly additionalProperties?: JSONSchemaNode | boolean;
  readonly required?: readonly string[];
};

/** One row of a connector's config table. */
interface ConfigFieldRow {
  readonly name: string;
  readonly type: string;
  readonly defaultValue: string | undefined;
  readonly required: boolean;
  readonly description: string;
}

/** What the page says about one connector. */
interface ConnectorDoc {
  readonly name: string;
  readonly role: Role;
  readonly summary: string;
  readonly fields: readonly ConfigFieldRow[];
}

const FILES_INTRO = `# File connectors

File sources read CSV, TSV, JSON, NDJSON and Parquet files into a dataset; file sinks write a
dataset to Parquet, CSV, NDJSON or a DuckDB database file. Each connector is used through its
factory, \`source.<name>({ ... })\` or \`sink.<name>({ ... })\`, and its config is the table under
its name below. \`sluice check\` validates the config of every step: an unknown option (with the
closest known one as a hint), a wrong type or a value outside the allowed set is reported with the
step and the file and line that declared it.

Every step also takes an optional \`description\`. Every sink takes \`input: ref('<step>')\`, the
dataset to write.

## Reading files

**Paths.** \`path\` is a file, a glob, or a list of them. Relative paths start at the folder of
the pipeline file, not at the working directory. Globs use \`*\` and \`?\` within a folder name and
\`**\` for any depth of sub-folders (\`logs/**/*.ndjson\`). The files of a glob are read in sorted
order. A missing file, or a glob that matches nothing, fails the step with \`SOURCE_FAILED\`.

**Hidden files.** A glob never matches hidden names, as Spark and Hadoop do: a file or folder
whose name starts with \`.\`, or with \`_\` and holds no \`=\` (hive folders such as \`_p=1/\` are
read). So \`out/*/grp=*/*.parquet\` skips the staging of unfinished writes
(\`.<name>.sluice-staging-...\`), \`_temporary\` folders and editor or OS files. To read such files,
name them: a path without wildcards, a hidden folder before the first wildcard
(\`in/_archive/*.csv\`), or a pattern part that starts with the character itself (\`in/_*.csv\`).

**Compression.** CSV, TSV, JSON and NDJSON files may be gzip or zstd compressed. With
\`compression: 'auto'\` (the default) the extension decides: \`.gz\` is gzip, \`.zst\` is zstd.
Parquet files carry their own compression.

**Declared or inferred schema.** Without \`schema\`, column names and types are inferred from the
files (CSV: DuckDB's sniffer; JSON: the keys of the records; Parquet: the files' own schema), and
every column may be null. With \`schema\`, the dataset has exactly the declared columns, in the
declared order: each value is converted to its declared type, \`notNull()\` columns must hold a
value, and a record that fails either is quarantined instead of failing the run. CSV headers and
Parquet columns match declared names case-insensitively; a declared column the files do not have
fails the step with \`SCHEMA_MISMATCH\`, and columns the schema does not declare are left out. JSON
keys match exactly; a declared key missing from a record reads as null.

**JSON numbers.** Without \`schema\`, JSON and NDJSON columns are inferred from the first 10,000
records, and a number column (top level, or nested in lists and objects) gets a type that holds
every sampled value exactly: \`int64\` when all are integers that fit it, \`decimal(38,0)\` for larger
integers of up to 38 digits, \`float64\` for fractions (read as doubles, as JSON parsers do) when
no integer among them is larger than 2^53, and \`json\` (the number's own text) otherwise: an
integer of more digits, integers above 2^53 next to fractions, or a literal beyond the range of a
double such as \`1e400\`. A later record whose value does not fit the inferred type is quarantined.
Declared or inferred, a JSON number is never rounded to fit its column: a fraction in an integer
column (\`1.5\` for \`int64\`) or with more decimals than a \`decimal\` column holds (\`1.555\` for
\`decimal(10, 2)\`) does not convert, so its record is quarantined (\`6.0\` converts to \`6\`). A
fraction itself is parsed as a double, as JSON parsers do, and keeps about 17 significant digits:
\`12345678901234567890.12\` reads as \`12345678901234567741.44\` even into a declared
\`decimal(38, 2)\`. Send such values as JSON strings (\`"12345678901234567890.12"\`), which convert
to a declared decimal exactly.

**What is quarantined.** Nothing is dropped silently: for every source, rows in = rows out + rows
quarantined. Each quarantined record goes to the run's quarantine file for the step with the
file it came from and the reason (see [Quarantine](../concepts.md#quarantine)).

- CSV and TSV: records the reader rejects, with file and line number, and the record's original
  bytes (read back from the file, with the byte offset, unless the reader's copy is the record
  whole: one line of UTF-8 text under 9,000 bytes; any length; base64 with
  \`record_encoding: "base64"\` when they are not UTF-8): a value that does not convert to its
  column's type (\`CAST\`), too many or too few fields (\`TOO MANY COLUMNS\`, \`MISSING COLUMNS\`), bytes
  that are not text in the file's encoding (\`INVALID ENCODING\`), and other records it cannot parse.
  Rows with no value in a \`notNull()\` column are quarantined as parsed records, without a line
  number. The files' non-blank lines are counted by a scan of their own while DuckDB reads them,
  and the records typed plus quarantined must account for all of them (see
  [Row accounting](../concepts.md#row-accounting)). The step fails, loading nothing, when the
  reader cannot work out a file's layout at all, and when a quoted value is never closed and takes
  every later line with it (\`SOURCE_FAILED\`, naming the file and record). Limits: a rejected record
  longer than 10,000 bytes that holds multi-byte characters fails the step (DuckDB's reader cannot
  keep its copy of it), and so does one whose first 10,000 bytes hold no line break but which spans
  lines (a quoted value with a line break past that point: \`ROWS_UNACCOUNTED\`, since its end
  cannot be told from the reader's copy); \`latin-1\` files keep the reader's decoded copy of a rejected record rather
  than its bytes; \`utf-16\` files are not counted independently.
- NDJSON: the files are split into records by their line feeds alone (a carriage return before
  a line feed belongs to the line break; lines of spaces, tabs and carriage returns only are no
  records; a UTF-8 byte order mark starting a file is skipped), and every line is parsed on its
  own. A line that is not UTF-8, a line that is not
  valid JSON (cut short, a bad escape, \`NaN\`, a raw control character), a line that holds
  something other than an object (an array, a number), a value that does not convert to its
  declared type and a missing required value are quarantined. The quarantined \`record\` is the
  line's original bytes without its line break, whole whatever its length (base64 with
  \`record_encoding: "base64"\` when they are not UTF-8), with the file, the 1-based \`line\` and the
  0-based byte \`offset\` (in the decompressed bytes of a compressed file). A raw carriage return or
  control character inside a line keeps the line whole. The lines counted by the split are the
  step's independent record count (see [Row accounting](../concepts.md#row-accounting)); a line
  longer than 256 MB fails the step.
- JSON documents: records are the elements of top-level arrays and the other top-level values (an
  object alone, or objects one after another). They are found by brackets and string quotes
  without parsing their contents, so an element that is not valid JSON (a bad escape, bytes that
  are not UTF-8, \`NaN\`, a missing value) is quarantined like an NDJSON line, byte for byte from its
  first to its last character, with its file, line and byte offset; empty array slots (a trailing
  comma) hold nothing and are no records. DuckDB's JSON parser accepts a trailing comma inside an
  object. A file whose brackets or quotes do not balance (a truncated file, a stray \`]\`) cannot be
  split: the step fails with \`SOURCE_FAILED\` naming the file, and the line and byte where the
  unfinished record (or array) starts. The elements found are the step's independent record count.
- Parquet: with a declared schema, values that do not convert to the declared type and missing
  required values are quarantined as the row's values (a JSON object: Parquet is columnar, a row
  has no bytes of its own). The row counts of the files' row groups, read from their footers
  alone, are the step's independent record count. A file whose footer cannot be read (truncated,
  extended, not Parquet) or whose data cannot be decoded fails the step with \`SOURCE_FAILED\`
  naming that file.

**\`onMalformed\`.** \`'quarantine'\` (the default) quarantines such records and goes on. \`'fail'\`
fails the step with \`SOURCE_FAILED\` instead. For CSV and TSV it fails on lines the reader cannot
split into the expected fields (wrong number of fields, bad quoting) and names the first of them;
values that do not convert are still quarantined. For JSON and NDJSON it fails on records that are
not JSON objects, and on records that are not UTF-8; values that do not convert are still
quarantined. In both cases the quarantine file is written first.

**Metadata columns.** \`metadata\` appends columns after the data columns, never null:

{{METADATA_COLUMNS}}

## Writing files

A sink writes its input dataset as it is: the same columns, the same types. Relative paths start
at the folder of the pipeline file; missing parent folders are created.

Outputs are staged next to their target and published only when the whole run succeeds: every
step finished without error. A failed or canceled run discards what it staged, so the previous
outputs stay as they were.

- **One file** (\`sink.csv\`, \`sink.ndjson\`, and \`sink.parquet\` with a path ending in \`.parquet\`
  that is not an existing folder, and neither \`partitionBy\` nor \`targetFileSize\`): written to a
  hidden file in the same folder (\`.<name>.sluice-staging-<runId>~<pid>@<host>\`) and published
  with one rename, which replaces the previous file atomically. Readers see the old file or the
  new one, never a partial one.
- **A folder** (\`sink.parquet\` otherwise: a path ending in \`/\`, a path without the \`.parquet\`
  extension, an existing folder, or \`partitionBy\` or \`targetFileSize\` set): written to a hidden
  staging folder next to it, with files named \`part-<n>-<runId>.parquet\` (one file,
  \`part-0-<runId>.parquet\`, without \`partitionBy\` and \`targetFileSize\`) and, with
  \`partitionBy\`, one \`column=value/\` folder per partition (the partition columns are stored in
  the folder names, not in the files). The folder holds only what the run wrote, so a folder path
  that holds the pipeline's own folder (\`.\`, \`..\`) is refused with \`SINK_FAILED\`. Publishing
  swaps the folders with two renames: the old folder is moved aside to
  \`.<name>.sluice-previous-<runId>\`, the new one moved in, then the old one deleted. If the
  process dies between the two renames, the next write to the same target puts the previous
  folder back first.
- **DuckDB** (\`sink.duckdb\`): the database file is attached and the table written inside one
  transaction, committed when the run is published and rolled back otherwise. \`mode: 'replace'\`
  replaces the table; \`mode: 'append'\` creates it when missing and inserts by column name (on a
  full refresh, \`sluice run --full-refresh\`, it replaces the table like \`replace\`). An
  \`append\` also records the run in the file's \`sluice_published_runs\` table in the same
  transaction, so a run killed after the commit is never loaded twice (see
  [Source state and atomicity](../concepts.md#source-state-and-atomicity)). DuckDB allows one
  writing process per database file.

**NaN and infinities.** JSON has no literal for NaN, \`Infinity\` or \`-Infinity\`, so \`sink.ndjson\`
writes them as \`null\` (at any depth of lists, structs and map values), reports the number of
values it changed as the step's \`valuesDiscarded\` in the run report (a value is one column of one
row), and logs a warning with that count per column. Every line it writes is valid JSON.
\`sink.csv\` writes them as \`nan\`, \`inf\` and \`-inf\` (which DuckDB reads back as such), and
Parquet and Delta keep them as they are: use one of those when they must survive.

Staging left behind by a killed run is removed by the next write to the same target: at once
when the process that staged it (its \`<pid>\` and \`<host>\`, a hash of the host name) is gone
from this machine, otherwise (staging from another machine sharing the folder, or a process id
now used by another process) once it is more than six hours old. Only names of that exact form
for that target are removed, never other files. Staging is hidden, so file sources never read it
(see Hidden files above).
`;

const METADATA_COLUMNS: readonly (readonly string[])[] = [
  ['`_source_file`', '`string`', 'absolute path of the file the row came from'],
  ['`_extracted_at`', '`timestamp(tz)`', 'the start of the run, the same for every row of a run'],
  ['`_run_id`', '`string`', 'the run id, e.g. `run_20261122T160512Z_3f9a1c7e`'],
];

const POSTGRES_INTRO = `# PostgreSQL connectors

\`source.postgres\` reads a table or query, \`source.postgresCdc\` follows a table's changes through
logical replication, and \`sink.postgres\` writes a table. They use the \`pg\` and
\`pg-copy-streams\` packages (\`npm install pg pg-copy-streams\`), loaded only when a step uses
them. The connection is a URL: \`postgres://user:password@host:port/database\`, with libpq
parameters such as \`?sslmode=require\`. Errors name the server and user, never the password; a
refused or dropped connection is retryable (\`retries\` on the step or the pipeline).

## Reading: \`source.postgres\`

Rows travel with \`COPY (SELECT ...) TO STDOUT (FORMAT csv)\`, the server's fastest export, into a
temporary file that DuckDB loads; the read runs in one read-only \`REPEATABLE READ\` transaction,
so it sees one consistent snapshot. A row's text form may be up to 32 MB. Types map as follows (every column may be null):

{{TYPES}}

**Incremental reads.** With \`incremental: { cursor: 'updated_at' }\`, a run reads the rows whose
cursor is at or past the watermark of the last successful run, minus \`lagWindow\`, the predicate
running on the server (\`WHERE updated_at >= watermark - lagWindow\`). Reading inclusively catches
rows inserted after the last run with the same cursor value as the watermark; \`lagWindow\` also
catches transactions that committed late with a cursor a little below it (transactions commit in
a different order than their timestamps). The rows an earlier run already read are then dropped
by the engine before any other step sees them, recognised by \`incremental.primaryKey\` and the
cursor value, or by a hash of the whole row without a key, so an append sink gets each row once.
The new state (watermark and boundary rows) is committed with the run's success. The exact rules,
and what happens past \`incremental.maxBoundaryRows\`, are in
[Concepts](../concepts.md#incremental-sources). \`lagWindow\` is an interval (\`'10 minutes'\`,
\`'10m'\`) for date and time cursors and a number for numeric ones; it may also be given as
\`incremental.lagWindow\`.

## Change data capture: \`source.postgresCdc\`

The source follows a table through PostgreSQL's logical replication with the built-in \`pgoutput\`
plugin. It needs \`wal_level = logical\` on the server (\`ALTER SYSTEM SET wal_level = logical\`,
then a restart) and a role that may replicate (a superuser, or a role with \`REPLICATION\` that
owns the table). On its first run it creates a publication for the table and a replication slot
(names derived from the table and step id, or \`publication\` and \`slot\`), and reads the whole
table as \`snapshot\` rows. Every run then emits the changes committed since the last successful
run, in log order, as rows: the table's columns plus

{{CDC_COLUMNS}}

A delete carries the key columns (the table's replica identity) and nulls elsewhere. The run
reads up to the log position at its start; that position is the step's state, kept only when the
run succeeds. The replication slot is advanced to it (freeing the server's WAL) at the start of
the next run, so a failed run reads the same changes again. A run that reads a snapshot (the first
run, or one without state) reads no changes: the snapshot starts after the run's position, so it
already holds them. Changes committed while the snapshot is read appear in it and again in the
next run: applied as merges by key in \`_lsn\` order the result is the same. To apply a change
stream to a table:

\`\`\`ts
changes: source.postgresCdc({ url, table: 'public.accounts' }),
replica: sink.postgres({
  input: ref('changes'), url: warehouse, table: 'accounts', mode: 'merge', keys: ['id'],
  latestBy: '_lsn', deleteWhen: { column: '_op', equals: 'delete' }, exclude: ['_op', '_lsn'],
}),
\`\`\`

Limits: one table per step (each step has its own slot: a slot keeps WAL on the server until it
is advanced, so drop the slots of pipelines you retire with \`SELECT pg_drop_replication_slot('...')\`);
an update that leaves a large (TOASTed) value unchanged does not carry it, so the step fails
unless the table has \`REPLICA IDENTITY FULL\`; the position is kept in the run store by the
orchestrator and by \`sluice run\` alike.

**TRUNCATE.** A \`TRUNCATE\` removes rows without row changes, so it cannot be applied as one: a run
whose changes hold a truncate of the table fails with \`SOURCE_FAILED\` ("\`<table>\` was truncated (at
log position ...)"), keeps no state and does not move the slot past it, so every later run meets it
again until you start over. \`sluice run <pipeline> --full-refresh\` starts over: the run reads the
table as it is now as \`snapshot\` rows, reads none of the slot's older changes (the truncate among
them), and its position becomes the step's state, to which the next run moves the slot. The
pipeline's sinks that add to their targets replace them on a full refresh (see
[Concepts](../concepts.md#full-refresh)): a replica merged by key becomes the snapshot, in one
commit, so the rows the truncate removed leave it too and it matches the table again, with nothing
to clear by hand. (Clearing only the step's state in the run store also reads a snapshot, but the
sinks then merge it into the old replica, which keeps the truncated rows.) A failed full refresh
changes nothing and moves nothing; a truncate committed while the full refresh reads its snapshot
is met by the next run, so run the full refresh again. With \`snapshot: 'never'\` a full refresh
has no snapshot to start from: drop the slot instead. The [stream source](../streaming.md)
\`streamSource.postgresCdc\` stops the same way (\`SOURCE_FAILED\`) with a hint naming its slot:
drop it, load the table again (a batch pipeline run with \`--full-refresh\` replaces its target),
and start the stream again.

## Writing: \`sink.postgres\`

The step exports its input as CSV and copies it (\`COPY FROM STDIN\`) inside the run's
transaction on that server, which stays open until the run ends and is shared by every
PostgreSQL sink and [warehouse \`sql\` step](../warehouse.md) of the run with the same URL:
\`append\` and \`overwrite\` copy straight into the table (creating it and its schema, or adding
columns the input has and the table lacks, with \`createTable\`), and \`merge\` and
\`delete_insert\` copy into a temporary table and apply the mode from there. Later steps of the
run (a warehouse model reading \`ref('<sink step>')\`) see the result. When the whole run succeeds
the transaction commits; a failed run rolls it back, and a killed process leaves nothing behind
(the server rolls back a transaction whose connection is gone, and drops its temporary tables).
Readers see all of the run's rows or none. While the run goes on, rows the transaction deleted
(\`overwrite\`, \`merge\`) stay visible to readers, and rows and tables it changed are locked.
On a full refresh (\`sluice run --full-refresh\`, see [Concepts](../concepts.md#full-refresh))
every mode deletes the table's rows first in that transaction, so \`append\`, \`merge\` and
\`delete_insert\` leave exactly the run's rows (a merge: the latest per key, without the deleting
rows), committed together with the run's mark in \`sluice_published_runs\`.

{{MODES}}

In a merge, several input rows with the same keys collapse to one: the one with the highest
\`latestBy\`, else the last in input order. Keys compare with \`IS NOT DISTINCT FROM\`, so a NULL key
matches a NULL key. Nested values (structs, maps, lists of nested values) are written as
\`jsonb\`; lists of scalars as arrays.
`;

const WEBHOOK_INTRO = `# Webhooks (\`source.webhook\`, \`streamSource.webhook\`, \`streamSink.webhook\`)

Systems that push data (payment providers, SaaS callbacks, your own services) post it to
\`sluice serve --http\`, and a pipeline reads what arrived since its last successful run:

\`\`\`ts
import { pipeline, ref, schema, sink, source, t } from 'sluice';

export default pipeline('payments', {
  schedule: { every: '5m' },
  steps: {
    events: source.webhook({
      inbox: 'payments',
      schema: schema({ id: t.string().notNull(), amount: t.decimal(12, 2), at: t.timestamptz() }),
    }),
    lake: sink.delta({ input: ref('events'), path: 'lake/payments', mode: 'merge', keys: ['id'] }),
  },
});
\`\`\`

\`\`\`
npx sluice tokens create payments-sender --role trigger   # prints the token once: keep it as $TOKEN
npx sluice serve --project . --http 0.0.0.0:8080            # beyond loopback: only once a token exists
curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
     -d '[{"id": "pay_1", "amount": 12.5, "at": "2026-11-22T10:00:00Z"}]' \\
     http://127.0.0.1:8080/hooks/payments        # 202 {"inbox":"payments","batch":"…","records":1}
\`\`\`

## Receiving: \`POST /hooks/<inbox>\`

| body                                             | records                |
| ------------------------------------------------ | ---------------------- |
| one JSON object                                  | one                    |
| a JSON array of objects                          | one per element        |
| NDJSON with \`Content-Type: application/x-ndjson\` | one per non-empty line |

The server writes the records as one batch file under \`<state dir>/inbox/<inbox>/\` (written,
fsynced, renamed into place, folder fsynced) and only then answers 202 with the batch number and
the record count: a 202 means the records are on disk and will be read. A body that is not JSON,
or holds something other than objects, is 400 and nothing is written. A body over 10 MiB is 413:
the server counts the bytes as they arrive (a chunked upload with no \`Content-Length\` too) and
stops reading at the limit, so a large upload never grows its memory; when many large bodies
arrive at once, the ones past the server's shared budget are answered 503 with \`Retry-After\`
(send them again). Inbox names are letters,
digits, \`_\` and \`-\` (at most 64); anything else is 404 and touches nothing on disk.

**Idempotency.** A request with an \`Idempotency-Key\` header (1 to 255 printable ASCII characters)
is taken once: the same key again, within 24 hours and among the inbox's last 100,000 keys, also
after a restart, answers 200 with the first request's batch number and \`"duplicate": true\`, and
appends nothing; the same key with a different body is 422. Senders that retry (the webhook stream sink below does) send the same key
each time, so a retry after a lost answer never lands a batch twice.

**Authentication.** An inbox without a secret takes requests with an API token of the
\`trigger\` or \`admin\` role (\`Authorization: Bearer <token>\`; \`sluice tokens create\`, or
\`SLUICE_API_TOKEN\`), checked before the body is read; with no token at all the server lets
everyone in, and so refuses to listen beyond 127.0.0.1 unless started with \`--insecure\` (see
[Operations](../operations.md#the-http-api-tokens-roles-and-limits)).

**Signed inboxes.** When \`SLUICE_WEBHOOK_SECRET_<INBOX>\` is set (the inbox name upper-cased, \`-\`
as \`_\`), the inbox takes signed requests only, signed as Stripe signs its webhooks:

\`\`\`
Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>
\`\`\`

A request is refused with 401 and the reason when the header is missing or malformed, when no
\`v1\` matches (several may be given, to sign with an old and a new secret while rotating), or when
\`t\` is more than the tolerance away from the server's clock (5 minutes; \`sluice serve
--webhook-tolerance\`). A signature accepted once is refused with 409 when it comes again (a
replay): the inbox remembers the signatures of its tolerance window on disk
(\`<state dir>/inbox/.receipts/<inbox>.ndjson\`, fsynced before the answer), so a restart does not
forget them. Sign each request when it is sent, with its own timestamp. The batch is written
before its receipt (a lost record is worse than a copy), so a server killed between the two can
take one copy of that request again; an \`Idempotency-Key\` has the same window. An empty secret
(\`SLUICE_WEBHOOK_SECRET_PAYMENTS=\`) stops \`sluice serve\` at start-up, naming the variable.

With curl:

\`\`\`sh
body='[{"id": "pay_2", "amount": 3.5, "at": "2026-11-22T10:01:00Z"}]'
t=$(date +%s)
v1=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$SLUICE_WEBHOOK_SECRET_PAYMENTS" -hex | sed 's/^.* //')
curl -X POST -H 'Content-Type: application/json' -H "Sluice-Signature: t=$t,v1=$v1" \\
     -H 'Idempotency-Key: pay_2' -d "$body" http://127.0.0.1:8080/hooks/payments
\`\`\`

With Node:

\`\`\`ts
import { createHmac } from 'node:crypto';

const body = JSON.stringify([{ id: 'pay_3', amount: 7, at: new Date().toISOString() }]);
const t = Math.floor(Date.now() / 1000);
const v1 = createHmac('sha256', process.env.SLUICE_WEBHOOK_SECRET_PAYMENTS!)
  .update(\`\${t}.\${body}\`)
  .digest('hex');
await fetch('http://127.0.0.1:8080/hooks/payments', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'sluice-signature': \`t=\${t},v1=\${v1}\` },
  body,
});
\`\`\`

Earlier versions took \`X-Sluice-Signature-256: sha256=<HMAC of the body>\` (and GitHub's
\`X-Hub-Signature-256\`). Those sign the body alone, so a captured request could be sent again
forever; they are no longer accepted (401). Senders sign the new way; the webhook stream sink
below does.

## Reading: \`source.webhook\`

A run moves every batch in the inbox into a claim of its own, \`<inbox>/.read/<claim>/\` (the
moves are fsynced before anything is read), and reads it together with the claims of earlier
runs that did not succeed. It types the records against the declared \`schema\` like
\`source.ndjson\` (records that do not fit are quarantined with the reason, \`schemaPolicy\` and
\`metadata\` work as there; \`_source_file\` is the batch's file in its claim,
\`<inbox>/.read/<claim>/<batch>.ndjson\`), and its state names the claims it read. Those claims,
and nothing else, are deleted at the start of the next run, after that success was recorded; a
failed run leaves its claim, and the next run reads it again. So every accepted record is read by
exactly one successful run. With no new batch, the step produces an empty dataset with the
declared columns.

Batches are tracked by the claim that holds them, never by their number: a batch numbered below
those already read (a server restarted with its clock behind, or two servers writing one inbox)
is read by the next run like any other, and a number used again after its batch was claimed
names a different batch, which is read too. A step state kept by an older Sluice (the number of
the last batch read) is taken over once: the batches numbered up to it are moved, not deleted
and not read again, to \`<inbox>/.read-before-upgrade/\`, and the run logs a warning naming the
folder; delete them once you know the last run loaded them.

The state lives in the run store, with the run's success (\`sluice run\` keeps it in the same
store). The server and the runs must share the state folder (one machine, or a shared volume).
Without a state (the first run, or \`--full-refresh\`) a run reads every batch still in the
inbox, claimed or not.

An inbox has one reader: one \`source.webhook\` step (of one pipeline) or one stream
(\`streamSource.webhook\`, below). Each takes the batches it reads out of the inbox and deletes
them once consumed, so a second reader would miss what the first took.

## Streams: \`streamSource.webhook\`

A stream reads the same inbox continuously, so records posted to \`sluice serve --http\` reach the
stream's sink seconds after they arrive:

\`\`\`ts
import { stream, streamSink, streamSource } from 'sluice/stream';

export default stream('payments', {
  source: streamSource.webhook({ inbox: 'payments' }),
  eventTime: 'at',
  watermark: { maxOutOfOrderness: '30s', idleTimeout: '1m' },
  sink: streamSink.postgres({ url: process.env.WAREHOUSE_URL!, table: 'payments' }),
});
\`\`\`

\`\`\`
npx sluice serve --project . --http 127.0.0.1:8080 # receives POST /hooks/payments
npx sluice stream streams/payments.ts               # from the project folder: the same .sluice
\`\`\`

The source reads the inbox's batches in number order and looks for new ones every 50 ms. Every
record has partition = the inbox name, position = \`<batch>:<index>\` (the batch number and the
record's index in it, from 0) and broker time = when the server accepted the batch (batch
numbers are microseconds since the epoch). A line that is not a JSON object (the server accepts
none, but a file put there by hand may hold one) becomes an invalid record for the stream's
quarantine.

| start                                         | the source reads                                                           |
| --------------------------------------------- | -------------------------------------------------------------------------- |
| checkpoint at \`<batch>:<index>\`               | from the next record of that batch, then every later batch                 |
| \`beginning\` (the default, \`--from-beginning\`) | every batch in the inbox                                                   |
| \`latest\`                                      | only batches that arrive after the source opened                           |
| \`time\` _t_ (\`--from <time>\`)                  | batches the server accepted at or after _t_ (earlier ones are still there) |

**Consumed batches are deleted.** Once a checkpoint that covers every record of a batch has
committed (the sink's commit, then the run store), the batch file is deleted; a batch a
checkpoint covers in part stays until a later one covers the rest. On a restart from a
checkpoint, the batches before the checkpoint's batch are deleted at once. Batches a \`latest\` or
\`time\` start passes over are deleted with the first checkpoint after them.

**Guarantee.** A 202 from the server means the batch is on disk, and it stays there until a
committed checkpoint covers it. The source is **at-least-once**: after a crash before a
checkpoint committed, its batches are read again from the last checkpoint; after a crash between
the commit and the deletion, the batches are still there and the restart skips what the
checkpoint covers by position. So every accepted record is written **exactly once** into the
transactional sinks (\`streamSink.files\`, \`streamSink.delta\`, \`streamSink.postgres\`) and at least
once into the others.

**One reader per inbox, on the server's state folder.** The server writes
\`<state dir>/inbox/<inbox>/\` under its project's state folder (\`.sluice\` unless the project
config says otherwise); the source reads \`<stateDir>/inbox/<inbox>/\`, \`stateDir\` being \`.sluice\`
relative to where \`sluice stream\` runs unless given. They must be the same folder (one machine,
or a shared volume). A batch that another reader deleted before the stream read it fails the
stream ("disappeared before it was read"), and so does a batch numbered below one the stream
already read (the numbering went back: a server restarted with its clock behind, or two servers
writing one inbox), rather than skipping it. \`sluice stream\` does not receive webhooks itself:
run \`sluice serve --http\` beside it.

## Streams: \`streamSink.webhook\`

The stream sink posts a stream's rows to any HTTP endpoint:

\`\`\`ts
sink: streamSink.webhook({
  url: 'https://hooks.example.com/page-views',
  headers: { Authorization: { env: 'HOOKS_AUTHORIZATION' } }, // e.g. "Bearer <token>"
  format: 'ndjson',
  batchSize: 500,
}),
\`\`\`

Rows wait in memory until the checkpoint; the commit posts them, \`batchSize\` rows per request,
one request after another, in order: a JSON array of the rows (\`Content-Type: application/json\`)
or one row per line (\`format: 'ndjson'\`, \`application/x-ndjson\`), each row's JSON as in the other
sinks (bigints as numbers when they fit exactly, else text; dates ISO-8601; bytes base64). A
checkpoint without rows posts nothing. Every request carries the \`headers\` (values inline or
\`{ env: 'NAME' }\`, read when the stream starts), an idempotency key (below), and, with
\`signingSecret\`, \`Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">\` with
a fresh timestamp on every attempt, the signature an inbox of \`sluice serve --http\` checks: a
stream can post to another Sluice's \`/hooks/<inbox>\`.

| answer                                                          | what the sink does                                                                                                                                                                                                                   |
| --------------------------------------------------------------- | ------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------ |
| 2xx                                                             | the request is done                                                                                                                                                                                                                  |
| 5xx, 408, 425, 429, no answer within \`timeout\`, a network error | tries again after \`retries.delay\`, doubling each time (± \`retries.jitter\`, at most \`retries.maxDelay\`), and at least as long as a \`Retry-After\` header asks; after \`retries\` retries the commit fails with \`SINK_FAILED\` (retryable) |
| \`Retry-After\` longer than \`retries.maxDelay\`                    | the commit fails at once with \`SINK_FAILED\`, saying how long the receiver asked to wait                                                                                                                                              |
| 3xx                                                             | the commit fails: redirects are not followed (give the final URL)                                                                                                                                                                    |
| any other 4xx                                                   | the commit fails at once with \`SINK_FAILED\`, not retryable, with the status and the start of the answer's body                                                                                                                       |

\`retries\` is a count (default \`5\`) or \`{ retries, delay, maxDelay, jitter }\` (defaults \`'500ms'\`,
\`'30s'\` and \`0.2\`), the same fields as a pipeline's or a step's \`retries\`; NaN, infinite or
negative values are refused. \`retryDelay\` and \`maxRetryDelay\` are the deprecated names of
\`retries.delay\` and \`retries.maxDelay\`: still read next to a count, refused next to an object.

**Idempotency keys.** Each request carries \`Idempotency-Key\` (or \`idempotencyHeader\`):
\`<stream name>:<checkpoint id>:<request index>:<digest of the body>\`. The sink is
**at-least-once**: a failed commit stops the stream, and the restart replays the checkpoint
(requests that had succeeded are sent again), as does a crash after the commit and before the
run store recorded the checkpoint. A replay that makes the same rows sends the same bodies under
the same checkpoint id, so the same keys: a receiver that remembers the keys it processed (for
longer than a restart and a checkpoint interval) drops the copies, as an inbox of
\`sluice serve --http\` does for 24 hours. A replay whose checkpoint
covers different input sends different bodies under new keys, so rows may arrive twice but are
never dropped in place of others; upsert by a row key on the receiving side where exactness
matters.
`;

const CDC_COLUMNS: readonly (readonly string[])[] = [
  ['`_op`', 'string', '`snapshot`, `insert`, `update` or `delete`'],
  ['`_lsn`', 'int64', "the change's position in the write-ahead log; orders the changes"],
];

const POSTGRES_SINK_MODES: readonly (readonly string[])[] = [
  ['`append`', 'inserts every row'],
  ['`overwrite`', 'deletes every row, then inserts the input (in the same transaction)'],
  [
    '`merge`',
    'upserts by `keys` (`MERGE` on PostgreSQL 15+, `INSERT ... ON CONFLICT` before, which needs a unique index on the keys)',
  ],
  [
    '`delete_insert`',
    'deletes every row whose keys appear in the input, then inserts the input; for keys that are not unique (order lines)',
  ],
];

const POSTGRES_TYPES: readonly (readonly string[])[] = [
  ['`boolean`', '`bool`'],
  ['`smallint`, `integer`, `bigint`, `oid`', '`int16`, `int32`, `int64`, `int64`'],
  ['`real`, `double precision`', '`float32`, `float64`'],
  ['`numeric(p,s)` with p <= 38', '`decimal(p,s)`, exact'],
  ['`numeric` without precision, or wider', '`string` (its exact text; cast it where needed)'],
  ['`text`, `varchar`, `char`, `name`, `citext`, `uuid`', '`string`'],
  ['`bytea`', '`binary`'],
  ['`date`', '`date`'],
  ['`timestamp`', '`timestamp`'],
  ['`timestamptz`', '`timestamp(tz)`, in UTC'],
  ['`json`, `jsonb`', '`json`'],
  ['arrays of the above', '`list<element>`; arrays of json or bytea: `json`'],
  [
    'enums, `interval`, `time`, `money`, network, geometric and other types',
    '`string` (their text form)',
  ],
];

/** Hand-written notes shown under a connector's summary, keyed by `role:name`. */
const NOTES: Readonly<Record<string, string>> = {
  'source:tsv':
    "Takes the csv source's config. A `delimiter` left at its default `','` reads as a tab.",
  'source:json':
    'A file must parse as a whole; use `source.ndjson` for one record per line, where a bad line is quarantined on its own.',
  'sink:parquet':
    'Writes one file when `path` ends in `.parquet`, is not an existing folder, and neither `partitionBy` nor `targetFileSize` is set; a folder of files otherwise (a path ending in `/` or without the `.parquet` extension names a folder). `targetFileSize` cannot be combined with `partitionBy`.',
};

const MIN_SAFE_INTEGER = Number.MIN_SAFE_INTEGER;

/** One generated page: its path, the prose above the config tables, and its connectors. */
export interface ConnectorPage {
  readonly path: string;
  readonly intro: string;
  readonly connectors: readonly DocumentedConnector[];
}

/**
 * Every generated connector page.
 *
 * @example
 * ```ts
 * for (const page of CONNECTOR_PAGES) writeFileSync(page.path, renderConnectorPage(page));
 * ```
 */
export const CONNECTOR_PAGES: readonly ConnectorPage[] = [
  {
    path: 'docs/connectors/files.md',
    intro: FILES_INTRO.replace(
      '{{METADATA_COLUMNS}}',
      renderTable(['column', 'type', 'value'], METADATA_COLUMNS),
    ),
    connectors: fileConnectors,
  },
  {
    path: 'docs/connectors/postgres.md',
    intro: POSTGRES_INTRO.replace(
      '{{TYPES}}',
      renderTable(['PostgreSQL', 'logical type'], POSTGRES_TYPES),
    )
      .replace('{{CDC_COLUMNS}}', renderTable(['column', 'type', 'value'], CDC_COLUMNS))
      .replace('{{MODES}}', renderTable(['mode', 'what it does'], POSTGRES_SINK_MODES)),
    connectors: postgresConnectors,
  },
  {
    path: 'docs/connectors/webhook.md',
    intro: WEBHOOK_INTRO,
    connectors: [webhookSource, webhookStreamSource, webhookStreamSink],
  },
];

/**
 * Renders one connector page.
 *
 * @example
 * ```ts
 * writeFileSync('docs/connectors/files.md', renderConnectorPage(CONNECTOR_PAGES[0]));
 * ```
 */
export function renderConnectorPage(page: ConnectorPage): string {
  const docs = page.connectors.map(describeConnector);
  const section = (role: Role): string[] =>
    docs.filter((d) => d.role === role).flatMap((d) => ['', renderConnector(d)]);
  const lines = [
    `<!-- Generated from the connectors' config schemas. Do not edit; run: ${REGENERATE_COMMAND} -->`,
    '',
    page.intro.trimEnd(),
    ...ROLES.flatMap(({ role, heading }) => {
      const entries = section(role);
      return entries.length === 0 ? [] : ['', heading, ...entries];
    }),
  ];
  return `${lines.join('\n')}\n`;
}

function describeConnector(connector: DocumentedConnector): ConnectorDoc {
  const config = connector.config as z.ZodType;
  const json = z.toJSONSchema(config, {
    io: 'input',
    unrepresentable: 'any',
  }) as JSONSchemaNode;
  const shape = shapeOf(config);
  const required = new Set(json.required ?? []);
  const fields = Object.entries(json.properties ?? {}).map(([name, node]): ConfigFieldRow => ({
    name,
    type: isCustom(shape[name]) ? 'Schema' : renderType(node),
    defaultValue: node.default === undefined ? undefined : renderValue(node.default),
    required: required.has(name),
    description: node.description ?? '',
  }));
  return { name: connector.name, role: connector.role, summary: connector.summary, fields };
}

function shapeOf(schema: z.ZodType): Readonly<Record<string, z.ZodType>> {
  const shape = (schema as { shape?: unknown }).shape;
  if (typeof shape !== 'object' || shape === null) {
    throw new Error('a file connector config must be a zod object schema');
  }
  return shape as Record<string, z.ZodType>;
}

/** Whether a field (under optional/default wrappers) is a `z.custom` value, i.e. a schema. */
function isCustom(field: z.ZodType | undefined): boolean {
  let current: unknown = field;
  for (;;) {
    const def = (current as { _zod?: { def?: { type?: string; innerType?: unknown } } })?._zod?.def;
    if (def === undefined) return false;
    if (def.type === 'custom') return true;
    if (def.innerType === undefined) return false;
    current = def.innerType;
  }
}

function renderType(node: JSONSchemaNode): string {
  if (node.anyOf !== undefined) return node.anyOf.map(renderType).join(' | ');
  if (node.enum !== undefined) return node.enum.map(renderValue).join(' | ');
  switch (node.type) {
    case 'array': {
      const items = node.items === undefined ? 'unknown' : renderType(node.items);
      return items.includes(' ') ? `(${items})[]` : `${items}[]`;
    }
    case 'integer':
      if (node.exclusiveMinimum !== undefined) return `integer > ${node.exclusiveMinimum}`;
      if (node.minimum !== undefined && node.minimum > MIN_SAFE_INTEGER) {
        return `integer >= ${node.minimum}`;
      }
      return 'integer';
    case 'string':
    case 'boolean':
    case 'number':
      return node.type;
    case 'object':
      if (node.properties === undefined && typeof node.additionalProperties === 'object')
        return `{ [name]: ${renderType(node.additionalProperties)} }`;
      return node.properties === undefined
        ? 'object'
        : `{ ${Object.entries(node.properties)
            .map(([name, inner]) => `${name}: ${renderType(inner)}`)
            .join(', ')} }`;
    default:
      return 'unknown';
  }
}

/** A value the way it is written in a pipeline file. */
function renderValue(value: unknown): string {
  if (typeof value === 'string')
    return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(renderValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function renderConnector(doc: ConnectorDoc): string {
  const object = ROLES.find((r) => r.role === doc.role)?.factory ?? doc.role;
  const factory = `${object}.${doc.name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}`;
  const note = NOTES[`${doc.role}:${doc.name}`];
  const rows = doc.fields.map((f) => [
    code(f.name),
    code(f.type),
    f.defaultValue === undefined ? '' : code(f.defaultValue),
    f.required ? 'yes' : 'no',
    cell(f.description),
  ]);
  return [
    `### \`${factory}\``,
    '',
    `${doc.summary}${note === undefined ? '' : ` ${note}`}`,
    '',
    renderTable(['field', 'type', 'default', 'required', 'description'], rows),
  ].join('\n');
}

function code(text: string): string {
  return `\`${cell(text)}\``;
}

/** Escapes what would break a table cell. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

if (isMainModule(import.meta.url)) {
  for (const page of CONNECTOR_PAGES) {
    const target = fileURLToPath(new URL(`../${page.path}`, import.meta.url));
    mkdirSync(resolve(target, '..'), { recursive: true });
    writeFileSync(target, renderConnectorPage(page));
    process.stdout.write(`wrote ${page.path}\n`);
  }
}
