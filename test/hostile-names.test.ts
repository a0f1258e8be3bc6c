import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseParams } from '../src/cli/commands/run.js';
import { main } from '../src/cli/main.js';
import type { StepDefinition } from '../src/index.js';
import type { StreamStart } from '../src/stream/index.js';
import { intervalJoin, markSource } from '../src/stream/index.js';
import {
  ConfigError,
  defaultRegistry,
  expect as expectation,
  param,
  pipeline,
  planPipeline,
  ref,
  schema,
  sink,
  source,
  sql,
  suite,
  t,
  transform,
} from '../src/index.js';
import { silentLogger } from '../src/core/logger.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { eventTimeReader } from '../src/stream/event-time.js';
import {
  count,
  createOperator,
  defaultStreamRegistry,
  first,
  max,
  planStream,
  RowTemplate,
  tumbling,
  window,
  defineStreamSource,
  runStream,
  stream,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
import { resolveSecret } from '../src/contracts/secrets.js';
import { fieldsToJSONSchema } from '../src/core/type-mappings.js';
import { compileRowCheck, ROW_FAIL, ROW_PASS } from '../src/quality/row-checks.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const defaultConnectorLookup = defaultRegistry.lookup;

/** Names every plain object answers without owning them. */
const INHERITED = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'] as const;

/** Steps keyed by `name` as an own property, even for `__proto__`. */
function stepsNamed(entries: readonly (readonly [string, StepDefinition])[]) {
  return Object.fromEntries(entries) as Record<string, StepDefinition>;
}

describe('run params with inherited names', () => {
  it('parseParams keeps every name as an own key', () => {
    const params = parseParams(INHERITED.map((name) => `${name}=v_${name}`));
    for (const name of INHERITED) {
      expect(Object.hasOwn(params, name)).toBe(true);
      expect(params[name]).toBe(`v_${name}`);
    }
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
  });

  it('sluice run --param constructor=x (and other inherited names) is an undeclared param', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'p.ts'),
      `import { pipeline, sql, param } from 'sluice';
export default pipeline('declares_region', {
  params: { region: 'EU' },
  steps: { one: sql\`select \${param('region')} as region\` },
});
`,
    );
    let out = '';
    let err = '';
    const code = await main(
      ['run', 'p.ts', ...INHERITED.flatMap((name) => ['--param', `${name}=x`])],
      {
        stdout: (text) => (out += text),
        stderr: (text) => (err += text),
        stderrIsTTY: false,
        cwd: dir,
      },
    );
    expect(code).not.toBe(0);
    for (const name of INHERITED)
      expect(`${out}${err}`).toContain(`param "${name}" is not declared`);
  });

  it.each(INHERITED)('runPipeline refuses the undeclared param %s', async (name) => {
    const dir = await tempDir();
    const run = runIn(dir, pipeline('no_params', { steps: { one: sql`select 1 as x` } }), {
      params: Object.fromEntries([[name, 'x']]) as Record<string, string>,
    });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(`param "${name}" is not declared`);
  });

  it('a param declared as constructor is used, and param("toString") undeclared is a plan error', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('declared_constructor', {
        params: { constructor: 'default' },
        steps: {
          one: sql`select ${param('constructor')} as value`,
          out: sink.ndjson({ input: ref('one'), path: 'one.ndjson' }),
        },
      }),
      { params: { constructor: 'given' } },
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'one.ndjson'))).toEqual([{ value: 'given' }]);

    const result = planPipeline(
      pipeline('undeclared', { steps: { one: sql`select ${param('toString')} as v` } }),
      { connectors: defaultConnectorLookup },
    );
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => d.code)).toContain('unknown-param');
  });
});

describe('the HTTP API with inherited names', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('answers 400 to params named after Object.prototype members, 404 to such pipelines and runs', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'pipelines'));
    await writeFile(
      join(dir, 'pipelines', 'plain.ts'),
      `import { pipeline, sql } from 'sluice';
export default pipeline('plain', { params: { n: '0' }, steps: { one: sql\`select 1 as x\` } });
`,
    );
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    const api = await startTriggerAPI({ store, project: await Project.open(dir), port: 0 });
    cleanup = async () => {
      await api.close();
      await store.close();
    };
    const post = (path: string, body: string) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    for (const name of INHERITED) {
      const response = await post('/api/pipelines/plain/runs', `{"params":{"${name}":"x"}}`);
      expect(response.status, name).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain(`"${name}"`);
      expect((await post(`/api/pipelines/${name}/runs`, '')).status, name).toBe(404);
      expect((await fetch(`${api.url}/api/runs/${name}`)).status, name).toBe(404);
    }
    expect(await store.listRuns({})).toEqual([]);
    expect((await post('/api/pipelines/plain/runs', '{"params":{"n":"1"}}')).status).toBe(202);
  });
});

describe('steps with inherited names', () => {
  it('steps named constructor and __proto__ run and are read by ref()', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('odd_steps', {
        steps: stepsNamed([
          ['constructor', sql`select range as id from range(3)`],
          [
            '__proto__',
            transform({ input: ref('constructor'), map: (r) => ({ ...r, seen: true }) }),
          ],
          ['toString', sql`select count(*) as n from ${ref('__proto__')}`],
          ['out', sink.ndjson({ input: ref('__proto__'), path: 'proto.ndjson' })],
          ['count', sink.ndjson({ input: ref('toString'), path: 'count.ndjson' })],
        ]),
      }),
    );
    expect(report.status).toBe('success');
    expect(report.steps.map((s) => s.id).sort()).toEqual(
      ['__proto__', 'constructor', 'count', 'out', 'toString'].sort(),
    );
    expect(stepOf(report, '__proto__')).toMatchObject({ rowsIn: 3, rowsOut: 3 });
    expect(await readNDJSON(join(dir, 'proto.ndjson'))).toHaveLength(3);
    expect(await readNDJSON(join(dir, 'count.ndjson'))).toEqual([{ n: 3 }]);
  });

  it('a step written as `__proto__: step` in an object literal is kept, not lost', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('literal_proto', {
        steps: {
          // An object literal's `__proto__: value` sets the prototype instead of adding a key.
          __proto__: sql`select 1 as x`,
          out: sink.ndjson({ input: ref('__proto__'), path: 'out.ndjson' }),
        } as unknown as Record<string, StepDefinition>,
      }),
    );
    expect(report.status).toBe('success');
    expect(report.steps.map((s) => s.id).sort()).toEqual(['__proto__', 'out']);
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([{ x: 1 }]);
  });

  it('a step with expect: named constructor is checked under its own name', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('checked_constructor', {
        steps: {
          constructor: sql`select range as id from range(4)`.options({
            expect: suite('ids', [
              expectation.between('id', { max: 2 }, { severity: 'quarantine' }),
            ]),
          }),
          out: sink.ndjson({ input: ref('constructor'), path: 'out.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'constructor')).toMatchObject({ kind: 'check', rowsQuarantined: 1 });
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toHaveLength(3);
  });

  it('an incremental source named constructor reads everything on its first run', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'rows.csv'), 'id\n1\n2\n');
    const report = await runIn(
      dir,
      pipeline('incremental_constructor', {
        steps: {
          constructor: source.csv({
            path: 'rows.csv',
            schema: schema({ id: t.int64() }),
            incremental: { cursor: 'id' },
          }),
          out: sink.ndjson({ input: ref('constructor'), path: 'out.ndjson' }),
        },
      }),
      { watermarks: {} },
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([{ id: 1 }, { id: 2 }]);
    expect(report.watermarks).toMatchObject({ constructor: expect.any(String) });
  });
});

describe('expectations with inherited names', () => {
  it('an expectation with id toString quarantines under that id', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('expectation_ids', {
        steps: {
          rows: sql`select * from (values (1, 'a'), (2, null)) v(id, label)`,
          checked: sql`select * from ${ref('rows')}`.options({
            expect: suite('labels', [
              expectation.notNull('label', { id: 'toString', severity: 'quarantine' }),
              expectation.notNull('id', { id: '__proto__' }),
            ]),
          }),
          out: sink.ndjson({ input: ref('checked'), path: 'out.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    const step = stepOf(report, 'checked');
    expect(step.rowsQuarantined).toBe(1);
    const [entry] = await readNDJSON(step.quarantineFile as string);
    expect(JSON.stringify(entry)).toContain('toString');
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([{ id: 1, label: 'a' }]);
  });

  it('an unknown expectation type named after an Object.prototype member is a plan error', () => {
    for (const name of INHERITED) {
      const result = planPipeline(
        pipeline('bad_type', {
          steps: {
            rows: sql`select 1 as id`,
            checked: {
              kind: 'check',
              input: ref('rows'),
              suite: {
                name: 's',
                expectations: [{ id: 'e', type: name, kwargs: {}, severity: 'error' }],
              },
              declaredAt: {},
            } as unknown as StepDefinition,
          },
        }),
        { connectors: defaultConnectorLookup },
      );
      expect(result.ok, name).toBe(false);
      expect(
        result.diagnostics.map((d) => d.message),
        name,
      ).toContain(`unknown expectation type "${name}"`);
    }
  });
});

describe('record checks on columns with inherited names', () => {
  it.each(INHERITED)('a record without %s has no value there', (name) => {
    const notNull = compileRowCheck(expectation.notNull(name));
    expect(notNull.evaluate({ id: 1 })).toBe(ROW_FAIL);
    expect(notNull.explain({ id: 1 })).toBe(`the record has no "${name}"`);
    expect(notNull.evaluate(Object.fromEntries([[name, 'x']]))).toBe(ROW_PASS);
    expect(compileRowCheck(expectation.isNull(name)).evaluate({ id: 1 })).toBe(ROW_PASS);
  });
});

describe('secret names', () => {
  it.each(INHERITED)(
    'an environment variable named %s that is not set is a missing secret',
    (name) => {
      expect(() => resolveSecret({ env: name }, 'orders', 'password', {})).toThrow(ConfigError);
      expect(() => resolveSecret({ env: name }, 'orders', 'password', {})).toThrow(
        `environment variable ${name} is not set`,
      );
      expect(
        resolveSecret({ env: name }, 'orders', 'password', Object.fromEntries([[name, 's3cr3t']])),
      ).toBe('s3cr3t');
    },
  );

  it('process.env is read as own variables only', () => {
    expect(() => resolveSecret({ env: 'toString' }, 'orders', 'password')).toThrow(ConfigError);
  });
});

describe('columns with inherited names', () => {
  it('a __proto__ column flows from an NDJSON source through TS transforms into an NDJSON sink', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'in.ndjson'),
      '{"id": 1, "__proto__": "p1", "constructor": "c1"}\n{"id": 2, "__proto__": "p2"}\n',
    );
    const report = await runIn(
      dir,
      pipeline('proto_columns', {
        steps: {
          rows: source.ndjson({
            path: 'in.ndjson',
            schema: schema(
              Object.fromEntries([
                ['id', t.int64()],
                ['__proto__', t.string()],
                ['constructor', t.string()],
              ]) as Record<string, ReturnType<typeof t.string>>,
            ),
          }),
          copied: transform({ input: ref('rows'), map: (r) => ({ ...r }) }),
          declared: transform({
            input: ref('copied'),
            schema: schema(
              Object.fromEntries([
                ['id', t.int64()],
                ['__proto__', t.string()],
                ['constructor', t.string()],
                ['toString', t.string()],
              ]) as Record<string, ReturnType<typeof t.string>>,
            ),
            // Rows own neither `toString` nor (for id 2) `constructor`: those are null.
            map: (r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)),
          }),
          added: transform({
            input: ref('declared'),
            map: (r) => Object.fromEntries([...Object.entries(r), ['hasOwnProperty', 'h']]),
          }),
          out: sink.ndjson({ input: ref('added'), path: 'out.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    for (const id of ['copied', 'declared', 'added'])
      expect(stepOf(report, id), id).toMatchObject({ rowsIn: 2, rowsOut: 2, rowsQuarantined: 0 });
    const rows = await readNDJSON(join(dir, 'out.ndjson'));
    expect(rows.map((r) => Object.entries(r))).toEqual([
      [
        ['id', 1],
        ['__proto__', 'p1'],
        ['constructor', 'c1'],
        ['toString', null],
        ['hasOwnProperty', 'h'],
      ],
      [
        ['id', 2],
        ['__proto__', 'p2'],
        ['constructor', null],
        ['toString', null],
        ['hasOwnProperty', 'h'],
      ],
    ]);
  });

  it('engine queries return a __proto__ column as an own key', async () => {
    const session = await DuckDBSession.create();
    try {
      const connection = await session.connect();
      const rows = await connection.rows(
        `select 1 as id, 'p' as "__proto__", 'c' as "constructor"`,
      );
      expect(rows.map((r) => Object.entries(r))).toEqual([
        [
          ['id', 1],
          ['__proto__', 'p'],
          ['constructor', 'c'],
        ],
      ]);
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    } finally {
      session.close();
    }
  });

  it('an Avro sink writes a __proto__ column and a constructor column with their values', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('proto_avro', {
        steps: {
          one: sql`select 1 as id, 'p' as "__proto__", 'c' as "constructor"`,
          out: sink.avro({ input: ref('one'), path: 'o.avro', codec: 'null' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    // The record's bytes: id 1, then union branch 1 (string) of length 1 for 'p' and for 'c'.
    const record = Buffer.from([0x02, 0x02, 0x02, 0x70, 0x02, 0x02, 0x63]);
    expect((await readFile(join(dir, 'o.avro'))).includes(record)).toBe(true);
  });

  it('the JSON Schema of columns named __proto__ and constructor lists both', () => {
    const jsonSchema = fieldsToJSONSchema([
      { name: '__proto__', type: { kind: 'string' }, nullable: false },
      { name: 'constructor', type: { kind: 'int64' }, nullable: true },
    ]) as { properties: object; required: string[] };
    expect(Object.keys(jsonSchema.properties)).toEqual(['__proto__', 'constructor']);
    expect(jsonSchema.required).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(jsonSchema)).properties.__proto__).toEqual({ type: 'string' });
  });

  it('a __proto__ key inside a json value is kept', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('proto_json', {
        steps: {
          one: sql`select 1 as id`,
          doc: transform({
            input: ref('one'),
            schema: schema({ id: t.int64(), doc: t.json() }),
            map: (r) => ({ ...r, doc: JSON.parse('{"__proto__": {"a": 1}, "b": 2}') as unknown }),
          }),
          out: sink.ndjson({ input: ref('doc'), path: 'out.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    const [row] = await readNDJSON(join(dir, 'out.ndjson'));
    expect(Object.entries(row?.['doc'] as object)).toEqual([
      ['__proto__', { a: 1 }],
      ['b', 2],
    ]);
  });
});

describe('stream partitions with inherited names', () => {
  /** Where each opened reader was told to start. */
  const starts: StreamStart[] = [];
  /** Redelivers the same records, one per partition, on every pull (at-least-once at its worst). */
  const redelivering = defineStreamSource({
    name: 'redelivering',
    summary: 'test source: the same records again on every pull',
    config: z.strictObject({ partitions: z.array(z.string()) }),
    delivery: 'at-least-once',
    comparePositions: (a, b) => Number(a) - Number(b),
    open(config, context) {
      starts.push(context.start);
      return Promise.resolve({
        pull: () =>
          Promise.resolve(
            config.partitions.map((partition) => ({
              value: { id: partition },
              partition,
              position: '1',
            })),
          ),
        ack: () => Promise.resolve(),
        close: () => Promise.resolve(),
      });
    },
  });

  it('a record redelivered in partition __proto__ or constructor is dropped, not read again', async () => {
    const dir = await tempDir();
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const partitions = ['__proto__', 'constructor', 'plain'];
    try {
      const stop = new AbortController();
      const progress = await runStream(
        planStream(
          stream('names', {
            source: streamSource.custom('redelivering', { partitions }),
            eventTime: () => 0,
            steps: [],
            sink: streamSink.files({ path: join(dir, 'out') }),
            checkpoint: { every: '20ms' },
          }),
          defaultStreamRegistry.with(redelivering),
        ),
        {
          checkpoints: new StreamCheckpoints(store),
          quarantine: new QuarantineStore(join(dir, 'quarantine'), 'names'),
          signal: stop.signal,
          logger: silentLogger,
          onCheckpoint: (p) => {
            if (p.checkpointId >= 5) stop.abort();
          },
        },
      );
      expect(progress).toMatchObject({ recordsIn: 3, recordsOut: 3 });
      const checkpoint = await new StreamCheckpoints(store).last('names');
      const snapshot = checkpoint?.snapshot as { positions?: Record<string, string> } | undefined;
      expect(Object.keys(snapshot?.positions ?? {}).sort()).toEqual(partitions);
    } finally {
      await store.close();
    }
  });

  it('members of a union resume with their own partitions __proto__ and constructor', async () => {
    const dir = await tempDir();
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const partitions = ['__proto__', 'constructor', 'plain'];
    const run = () => {
      const stop = new AbortController();
      return runStream(
        planStream(
          stream('union_names', {
            source: {
              a: streamSource.custom('redelivering', { partitions }),
              b: streamSource.custom('redelivering', { partitions }),
            },
            eventTime: () => 0,
            steps: [],
            sink: streamSink.files({ path: join(dir, 'out') }),
            checkpoint: { every: '20ms' },
          }),
          defaultStreamRegistry.with(redelivering),
        ),
        {
          checkpoints: new StreamCheckpoints(store),
          quarantine: new QuarantineStore(join(dir, 'quarantine'), 'union_names'),
          signal: stop.signal,
          logger: silentLogger,
          onCheckpoint: (p) => {
            if (p.recordsIn >= 6) stop.abort();
          },
        },
      );
    };
    try {
      await run();
      starts.length = 0;
      await run();
      expect(starts).toHaveLength(2);
      for (const start of starts) {
        expect(start.kind).toBe('checkpoint');
        const positions = (start as { positions: Record<string, string> }).positions;
        expect(Object.keys(positions).sort()).toEqual(partitions);
        expect(Object.hasOwn(positions, '__proto__')).toBe(true);
        expect(positions['__proto__']).toBe('1');
      }
    } finally {
      await store.close();
    }
  });
});

describe('stream sources with inherited names', () => {
  it('an eventTime record that leaves out the source constructor is a plan error', () => {
    let error: unknown;
    try {
      planStream(
        stream('named', {
          source: {
            bids: streamSource.files({ path: 'bids' }),
            constructor: streamSource.files({ path: 'c' }),
          },
          eventTime: { bids: 'ts' },
          steps: [],
          sink: streamSink.files({ path: 'out' }),
        }),
        defaultStreamRegistry,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(
      /eventTime gives no event time for source "constructor"/,
    );
  });
});

describe('stream operators on columns with inherited names', () => {
  it.each(INHERITED)('a record without %s has no value there', (name) => {
    const record = { page: 'a' };
    const counted = count(name);
    const acc = counted.create();
    counted.add(acc, record, 0);
    expect(counted.result(acc)).toBe(0);
    const highest = max(name);
    const high = highest.create();
    highest.add(high, record, 0);
    expect(highest.result(high)).toBeNull();
    const earliest = first(name);
    const early = earliest.create();
    earliest.add(early, record, 0);
    expect(earliest.result(early)).toBeNull();
    expect(eventTimeReader(name)(record)).toBeUndefined();
    expect(RowTemplate.parse(`t:{${name}}`).render(record)).toEqual({
      kind: 'missing',
      column: name,
    });
    expect(RowTemplate.parse(`t:{${name}}`).render(Object.fromEntries([[name, 'x']]))).toBe('t:x');
  });
});

describe('stream output columns with inherited names', () => {
  it('a window keyed by __proto__ with an aggregate named constructor emits both', () => {
    const operator = createOperator(
      window({
        key: '__proto__',
        window: tumbling(10),
        aggregate: Object.fromEntries([
          ['constructor', count()],
          ['__proto__x', count()],
        ]) as Record<string, ReturnType<typeof count>>,
      }),
    );
    const rows = ['k', 'k', 'j'].map((key) => JSON.parse(`{"__proto__": "${key}"}`) as object);
    const side = { late: () => undefined, invalid: () => undefined } as never;
    operator.process({ rows: rows as never, times: [1, 2, 3] }, 0, side);
    const out = operator.advance(100);
    expect(out.rows.map((r) => [r['__proto__'], r['constructor']]).sort()).toEqual([
      ['j', 1],
      ['k', 2],
    ]);
    for (const row of out.rows) {
      expect(Object.hasOwn(row, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    }
  });

  it('an interval join keeps a left column __proto__ and a right column constructor', () => {
    const operator = createOperator(
      intervalJoin({ left: 'l', right: 'r', on: 'id', between: [0, 0] }),
    );
    const left = markSource(
      JSON.parse('{"id": 1, "__proto__": "L"}') as Record<string, unknown>,
      'l',
    );
    const right = markSource({ id: 1, constructor: 'R' } as Record<string, unknown>, 'r');
    const side = { late: () => undefined, invalid: () => undefined } as never;
    const out = operator.process({ rows: [left, right], times: [5, 5] }, 0, side);
    expect(out.rows.map((r) => Object.entries(r))).toEqual([
      [
        ['id', 1],
        ['__proto__', 'L'],
        ['constructor', 'R'],
      ],
    ]);
  });
});
