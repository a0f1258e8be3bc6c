const DATASET_REF = Symbol.for('sluice.dataset-ref');
const PARAM_REF = Symbol.for('sluice.param-ref');

/**
 * A reference to another step's output dataset. The planner derives the DAG from these.
 *
 * @example
 * ```ts
 * sql`select * from ${ref('raw_orders')}`;
 * ```
 */
export class DatasetRef {
  readonly [DATASET_REF] = true;
  readonly stepId: string;

  constructor(stepId: string) {
    this.stepId = stepId;
  }

  toString(): string {
    return `ref(${JSON.stringify(this.stepId)})`;
  }
}

/**
 * Refers to the dataset produced by step `stepId` of the same pipeline.
 *
 * @example
 * ```ts
 * transform({ input: ref('orders'), map: (row) => row });
 * ```
 */
export function ref(stepId: string): DatasetRef {
  return new DatasetRef(stepId);
}

/**
 * A run parameter inside a `sql` template; bound as a SQL string literal at run time.
 *
 * @example
 * ```ts
 * sql`select * from ${ref('orders')} where region = ${param('region')}`;
 * ```
 */
export class ParamRef {
  readonly [PARAM_REF] = true;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }
}

/**
 * Refers to the run parameter `name` (set with `--param name=value` or its declared default).
 *
 * @example
 * ```ts
 * pipeline('p', { params: { region: 'EU' }, steps: { x: sql`select ${param('region')} as r` } });
 * ```
 */
export function param(name: string): ParamRef {
  return new ParamRef(name);
}

/**
 * Whether `value` is a {@link DatasetRef}, from this or another copy of the package.
 *
 * @example
 * ```ts
 * isDatasetRef(ref('orders')); // true
 * ```
 */
export function isDatasetRef(value: unknown): value is DatasetRef {
  return typeof value === 'object' && value !== null && DATASET_REF in value;
}

/**
 * Whether `value` is a {@link ParamRef}, from this or another copy of the package.
 *
 * @example
 * ```ts
 * isParamRef(param('region')); // true
 * ```
 */
export function isParamRef(value: unknown): value is ParamRef {
  return typeof value === 'object' && value !== null && PARAM_REF in value;
}
