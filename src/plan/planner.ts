import type { ConnectorSpec } from '../core/connector-spec.js';
import type { Diagnostic } from '../core/errors.js';
import { ConfigError } from '../core/errors.js';
import { isValidStepId } from '../core/ids.js';
import { retryDiagnostics } from '../core/retry-policy.js';
import { isSchema, validateSchema } from '../core/schema.js';
import type { Pipeline } from '../define/pipeline.js';
import { isPipeline } from '../define/pipeline.js';
import { alertRuleDiagnostics, labelListDiagnostics } from '../define/alert-rules.js';
import { isDatasetRef, isParamRef, ref } from '../define/ref.js';
import type { StepDefinition, StepKind } from '../define/steps.js';
import { suiteDatasets, suiteProblems } from '../quality/suite.js';
import { closestName } from '../core/closest-name.js';
import { warehouseOptionProblems, warehouseRefProblems } from './warehouse-checks.js';

/** One step of a validated plan. */
export interface PlannedStep {
  readonly id: string;
  readonly kind: StepKind;
  readonly definition: StepDefinition;
  /** Ids of the steps whose datasets this step reads, in order of first use. */
  readonly inputs: readonly string[];
  /** Ids of the steps that read this step's dataset. */
  readonly consumers: readonly string[];
  /** Connector config after validation and defaults (sources and sinks only). */
  readonly config: unknown;
}

/** A validated pipeline: steps in a topological order (inputs before their consumers). */
export interface Plan {
  readonly pipeline: Pipeline;
  readonly steps: readonly PlannedStep[];
}

/** Looks up a connector spec by role and name. */
export type ConnectorLookup = (role: 'source' | 'sink', name: string) => ConnectorSpec | undefined;

/** What {@link planPipeline} returns: a plan when there were no problems. */
export type PlanResult =
  | { readonly ok: true; readonly plan: Plan; readonly diagnostics: readonly [] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

const RESERVED_PREFIX = '__sluice';
const PIPELINE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Validates a pipeline and orders its steps. Collects every problem (unknown refs, cycles,
 * duplicate names, bad connector config, bad schemas) instead of stopping at the first.
 *
 * @example
 * ```ts
 * const result = planPipeline(p, { connectors: registry.lookup });
 * if (!result.ok) console.error(formatDiagnostics(result.diagnostics));
 * ```
 */
export function planPipeline(
  pipeline: Pipeline,
  options: { readonly connectors: ConnectorLookup },
): PlanResult {
  const diagnostics: Diagnostic[] = [];
  const pipelineSite = pipeline.declaredAt;
  const atPipeline = { ...pipelineSite };
  if (!isPipeline(pipeline)) {
    return {
      ok: false,
      diagnostics: [
        {
          code: 'not-a-pipeline',
          message: 'the value is not a pipeline',
          hint: "create it with pipeline('name', { steps: {...} })",
        },
      ],
    };
  }
  if (!PIPELINE_NAME.test(pipeline.name)) {
    diagnostics.push({
      code: 'invalid-pipeline-name',
      message: `pipeline name ${JSON.stringify(pipeline.name)} is not valid`,
      hint: 'use letters, digits, "_", "-" and "."',
      ...atPipeline,
    });
  }
  diagnostics.push(
    ...retryDiagnostics(pipeline.orchestration?.retries, 'retries').map((d) => ({
      ...d,
      ...atPipeline,
    })),
  );
  diagnostics.push(
    ...alertRuleDiagnostics(pipeline.alerts, 'alerts').map((d) => ({ ...d, ...atPipeline })),
    ...labelListDiagnostics(pipeline.owners, 'owners').map((d) => ({ ...d, ...atPipeline })),
    ...labelListDiagnostics(pipeline.tags, 'tags').map((d) => ({ ...d, ...atPipeline })),
  );
  // start and end bound every scheduled, caught-up and backfilled interval (see pipelineBounds).
  const bounds: Partial<Record<'start' | 'end', number>> = {};
  for (const key of ['start', 'end'] as const) {
    const value: unknown = pipeline.orchestration?.[key];
    if (value === undefined) continue;
    const instant = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isFinite(instant)) bounds[key] = instant;
    else
      diagnostics.push({
        code: `invalid-${key}`,
        message: `${key} ${JSON.stringify(value)} is not a date`,
        path: key,
        hint: `give an ISO date or time, e.g. ${key}: '2024-01-01' or '2024-01-01T00:00:00Z'`,
        ...atPipeline,
      });
  }
  if (bounds.start !== undefined && bounds.end !== undefined && !(bounds.start < bounds.end))
    diagnostics.push({
      code: 'invalid-end',
      message: `end ${String(pipeline.orchestration.end)} is not after start ${String(pipeline.orchestration.start)}`,
      path: 'end',
      hint: 'end is the latest instant an interval may end at; make it later than start',
      ...atPipeline,
    });
  const entries = Object.entries(pipeline.steps ?? {});
  if (entries.length === 0) {
    diagnostics.push({
      code: 'no-steps',
      message: `pipeline "${pipeline.name}" has no steps`,
      hint: 'add steps: { name: source.csv({...}), ... }',
      ...atPipeline,
    });
  }

  const idsByLowerCase = new Map<string, string>();
  const stepIds = new Set(entries.map(([id]) => id));
  const planned = new Map<string, { def: StepDefinition; inputs: string[]; config: unknown }>();
  const children = childDatasets(entries, options.connectors);
  diagnostics.push(...children.problems);

  for (const [id, def] of entries) {
    const site = stepSite(def);
    const problem = (code: string, message: string, extra: Partial<Diagnostic> = {}): void => {
      diagnostics.push({ code, message, stepId: id, ...site, ...extra });
    };
    if (!isValidStepId(id)) {
      problem('invalid-step-name', `step name ${JSON.stringify(id)} is not a valid dataset name`, {
        hint: 'start with a letter or "_", then letters, digits or "_" (it is used as a SQL name)',
      });
    } else if (id.toLowerCase().startsWith(RESERVED_PREFIX)) {
      problem('invalid-step-name', `step names starting with "${RESERVED_PREFIX}" are reserved`);
    }
    const lower = id.toLowerCase();
    const clash = idsByLowerCase.get(lower);
    if (clash !== undefined) {
      problem('duplicate-step', `step "${id}" has the same name as step "${clash}"`, {
        hint: 'dataset names are case-insensitive in SQL; rename one of them',
      });
    }
    idsByLowerCase.set(lower, id);

    if (!isStepDefinition(def)) {
      problem('not-a-step', 'this is not a step', {
        hint: 'use source.*(), sql``, transform() or sink.*()',
      });
      continue;
    }

    const inputs: string[] = [];
    const useRef = (value: unknown, path: string): void => {
      if (!isDatasetRef(value)) {
        problem('missing-input', `${path} must be ref('<step>')`, { path });
        return;
      }
      const target = value.stepId;
      const childOf = children.sources.get(target);
      if (target === id) {
        problem('self-reference', `step "${id}" reads its own output`, { path });
      } else if (childOf !== undefined) {
        // A source's child dataset: the step depends on the source.
        if (!inputs.includes(childOf)) inputs.push(childOf);
      } else if (!stepIds.has(target)) {
        const names = [...stepIds].filter(isValidStepId);
        const suggestion = closestName(target, [...names, ...children.sources.keys()]);
        const child = unknownChildDataset(target, names, children.sources);
        const hints = [
          ...(suggestion === undefined ? [] : [`did you mean ref("${suggestion}")?`]),
          ...(child === undefined ? [] : [child.hint]),
        ];
        problem(
          'unknown-ref',
          child?.message ?? `ref("${target}") names no step of pipeline "${pipeline.name}"`,
          { path, ...(hints.length === 0 ? {} : { hint: hints.join(' ') }) },
        );
      } else if (pipeline.steps[target]?.kind === 'sink' && !isWarehouseStep(def)) {
        problem('ref-to-sink', `ref("${target}") names a sink, which produces no dataset`, {
          path,
          hint: `read the sink's input instead`,
        });
      }
      if (stepIds.has(target) && target !== id && !inputs.includes(target)) inputs.push(target);
    };
    const checkSchema = (schema: unknown, path: string): void => {
      if (schema === undefined) return;
      if (!isSchema(schema)) {
        problem('invalid-schema', 'schema must be built with schema({...})', { path });
        return;
      }
      for (const message of validateSchema(schema)) problem('invalid-schema', message, { path });
    };

    if (def.kind === 'source' || def.kind === 'transform')
      for (const d of retryDiagnostics(def.retries, 'retries', id))
        diagnostics.push({ ...site, ...d });
    const description: unknown = def.description;
    if (description !== undefined && typeof description !== 'string')
      problem('invalid-config', `description must be text, got ${typeof description}`, {
        path: 'description',
      });

    let config: unknown;
    switch (def.kind) {
      case 'source':
      case 'sink': {
        if (def.kind === 'sink') useRef(def.input, 'input');
        const spec = options.connectors(def.kind, def.connector);
        if (spec === undefined) {
          problem('unknown-connector', `no ${def.kind} connector is named "${def.connector}"`);
          break;
        }
        const parsed = spec.config.safeParse(def.config);
        if (parsed.success) {
          config = parsed.data;
          checkSchema((parsed.data as { schema?: unknown } | null)?.schema, 'schema');
        } else {
          const knownKeys = Object.keys((spec.config as { shape?: object }).shape ?? {});
          for (const issue of parsed.error.issues) {
            if (issue.code === 'unrecognized_keys') {
              for (const key of issue.keys) {
                const suggestion = closestName(key, knownKeys);
                problem(
                  'invalid-config',
                  `unknown option "${key}" for ${def.kind} ${def.connector}`,
                  {
                    path: [...issue.path.map(String), key].join('.'),
                    hint:
                      key === 'retries' && def.kind === 'sink'
                        ? 'a sink step is not retried alone; give the pipeline retries to run it again'
                        : key === 'retries'
                          ? "a step's retries is a whole number or { retries, delay, maxDelay, jitter }; `count` is not one of its fields"
                          : suggestion === undefined
                            ? `known options: ${knownKeys.join(', ')}`
                            : `did you mean "${suggestion}"?`,
                  },
                );
              }
              continue;
            }
            problem('invalid-config', issue.message, {
              path: issue.path.map(String).join('.') || '(config)',
            });
          }
        }
        break;
      }
      case 'sql': {
        def.values.forEach((value, index) => {
          if (isDatasetRef(value)) useRef(value, `\${} #${index + 1}`);
          else if (isParamRef(value) && !Object.hasOwn(pipeline.params, value.name)) {
            const suggestion = closestName(value.name, Object.keys(pipeline.params));
            problem('unknown-param', `param("${value.name}") is not declared by the pipeline`, {
              hint:
                suggestion === undefined
                  ? `declare it: pipeline('${pipeline.name}', { params: { ${value.name}: 'default' }, ... })`
                  : `did you mean param("${suggestion}")?`,
            });
          }
        });
        if (def.strings.join('').trim() === '' && def.values.length === 0) {
          problem('empty-sql', 'the SQL step is empty');
        }
        checkSchema(def.schema, 'schema');
        for (const message of warehouseOptionProblems(def))
          problem('invalid-warehouse-model', message);
        break;
      }
      case 'transform': {
        useRef(def.input, 'input');
        if (typeof def.run !== 'function') {
          problem('invalid-transform', 'transform needs a `map` or a `run` function');
        }
        if (!Number.isInteger(def.batchSize) || def.batchSize < 1) {
          problem('invalid-config', `batchSize must be a positive integer, got ${def.batchSize}`, {
            path: 'batchSize',
          });
        }
        checkSchema(def.schema, 'schema');
        break;
      }
      case 'check': {
        useRef(def.input, 'input');
        const problems = suiteProblems(def.suite);
        for (const diagnostic of problems) problem(diagnostic.code, diagnostic.message, diagnostic);
        if (problems.length === 0) {
          for (const dataset of suiteDatasets(def.suite))
            useRef(ref(dataset), `suite dataset "${dataset}"`);
        }
        break;
      }
    }
    planned.set(id, { def, inputs, config });
  }

  diagnostics.push(
    ...warehouseRefProblems(planned, options.connectors).map((d) => ({
      ...stepSite(pipeline.steps[d.stepId ?? '']),
      ...d,
    })),
  );
  for (const cycle of findCycles(planned)) {
    const first = cycle[0] as string;
    const def = planned.get(first)?.def;
    diagnostics.push({
      code: 'cycle',
      message: `steps form a cycle: ${[...cycle, first].join(' -> ')}`,
      stepId: first,
      ...(def === undefined ? {} : stepSite(def)),
      hint: 'a step cannot depend, directly or not, on its own output',
    });
  }

  if (diagnostics.length > 0) return { ok: false, diagnostics };
  return { ok: true, plan: { pipeline, steps: orderSteps(planned) }, diagnostics: [] };
}

/**
 * The datasets sources create besides their own (`<step>__<suffix>`, from the connector's
 * `childDatasets`), mapped to their source step; a name that clashes with a step or another
 * child dataset is a problem instead.
 */
function childDatasets(
  entries: readonly (readonly [string, StepDefinition])[],
  connectors: ConnectorLookup,
): { sources: Map<string, string>; problems: Diagnostic[] } {
  const sources = new Map<string, string>();
  const problems: Diagnostic[] = [];
  const taken = new Map(entries.map(([id]) => [id.toLowerCase(), `step "${id}"`]));
  for (const [id, def] of entries) {
    if (!isStepDefinition(def) || def.kind !== 'source') continue;
    const spec = connectors('source', def.connector);
    const parsed =
      spec?.childDatasets === undefined ? undefined : spec.config.safeParse(def.config);
    if (spec?.childDatasets === undefined || parsed?.success !== true) continue;
    for (const suffix of spec.childDatasets(parsed.data)) {
      const name = `${id}__${suffix}`;
      const clash = taken.get(name.toLowerCase());
      if (clash !== undefined) {
        problems.push({
          code: 'child-dataset-clash',
          message: `source "${id}" creates the dataset "${name}", the name of ${clash}`,
          stepId: id,
          ...stepSite(def),
          hint: 'dataset names are case-insensitive in SQL; rename the step',
        });
        continue;
      }
      taken.set(name.toLowerCase(), `a child dataset of source "${id}"`);
      sources.set(name, id);
    }
  }
  return { sources, problems };
}

/** The problem with a ref to `<step>__<x>` that step `<step>` does not create, if it is one. */
function unknownChildDataset(
  target: string,
  stepIds: readonly string[],
  sources: ReadonlyMap<string, string>,
): { message: string; hint: string } | undefined {
  const source = stepIds
    .filter((id) => target.startsWith(`${id}__`))
    .sort((a, b) => b.length - a.length)[0];
  if (source === undefined) return undefined;
  const declared = [...sources].filter(([, id]) => id === source).map(([name]) => name);
  return {
    message: `ref("${target}") names no dataset: step "${source}" ${
      declared.length === 0
        ? 'creates no child datasets'
        : `creates only ${declared.map((n) => `"${n}"`).join(', ')}`
    }`,
    hint: `a source creates only the child datasets its config declares (source.rest: nested: 'child_tables' with childTables)`,
  };
}

/**
 * Like {@link planPipeline} but throws a {@link ConfigError} carrying every problem.
 *
 * @example
 * ```ts
 * const plan = planOrThrow(p, { connectors: registry.lookup });
 * ```
 */
export function planOrThrow(
  pipeline: Pipeline,
  options: { readonly connectors: ConnectorLookup },
): Plan {
  const result = planPipeline(pipeline, options);
  if (!result.ok) throw new ConfigError(result.diagnostics);
  return result.plan;
}

function stepSite(def: unknown): { file?: string; line?: number } {
  const site = (def as { declaredAt?: { file?: string; line?: number } } | null)?.declaredAt;
  return {
    ...(site?.file === undefined ? {} : { file: site.file }),
    ...(site?.line === undefined ? {} : { line: site.line }),
  };
}

/** A `sql` step pushed down to a warehouse, which may read the tables sinks load there. */
function isWarehouseStep(def: StepDefinition): boolean {
  return def.kind === 'sql' && def.warehouse !== undefined;
}

function isStepDefinition(value: unknown): value is StepDefinition {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return (
    kind === 'source' ||
    kind === 'sql' ||
    kind === 'transform' ||
    kind === 'check' ||
    kind === 'sink'
  );
}

type Node = { readonly inputs: readonly string[] };

function findCycles(nodes: ReadonlyMap<string, Node>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const input of nodes.get(id)?.inputs ?? []) {
      if (!nodes.has(input)) continue;
      const seen = state.get(input);
      if (seen === 'visiting') cycles.push(stack.slice(stack.indexOf(input)).reverse());
      else if (seen === undefined) visit(input);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of nodes.keys()) if (!state.has(id)) visit(id);
  return cycles;
}

function orderSteps(
  nodes: ReadonlyMap<string, { def: StepDefinition; inputs: string[]; config: unknown }>,
): PlannedStep[] {
  const consumers = new Map<string, string[]>();
  for (const [id, node] of nodes) {
    for (const input of node.inputs) consumers.set(input, [...(consumers.get(input) ?? []), id]);
  }
  const ordered: PlannedStep[] = [];
  const placed = new Set<string>();
  while (ordered.length < nodes.size) {
    for (const [id, node] of nodes) {
      if (placed.has(id) || !node.inputs.every((input) => placed.has(input))) continue;
      placed.add(id);
      ordered.push({
        id,
        kind: node.def.kind,
        definition: node.def,
        inputs: node.inputs,
        consumers: consumers.get(id) ?? [],
        config: node.config,
      });
    }
  }
  return ordered;
}
