/** What happens when an expectation fails. */
export type Severity = 'error' | 'warn' | 'quarantine';

/**
 * One expectation of a suite, in Great Expectations terms: its `type` (GX `expectation_type`)
 * and keyword arguments, plus Sluice's severity and a stable id used in reports and quarantine
 * entries.
 *
 * @example
 * ```ts
 * const e: ExpectationConfig = { id: 'amount_positive', type: 'expect_column_values_to_be_between',
 *   kwargs: { column: 'amount', min_value: 0 }, severity: 'quarantine' };
 * ```
 */
export interface ExpectationConfig {
  readonly id: string;
  readonly type: string;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly severity: Severity;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/**
 * A named list of expectations, attached to a dataset with a `check` step or run with
 * `sluice validate`.
 *
 * @example
 * ```ts
 * const orders = suite('orders', [expect.notNull('order_id'), expect.unique('order_id')]);
 * ```
 */
export interface Suite {
  readonly name: string;
  readonly expectations: readonly ExpectationConfig[];
}

/** GX result formats: how much detail each result carries. */
export type ResultFormat = 'BOOLEAN_ONLY' | 'BASIC' | 'SUMMARY' | 'COMPLETE';

/** The `result` object of one expectation, with GX's field names. */
export interface ExpectationResultDetails {
  readonly observed_value?: unknown;
  readonly element_count?: number;
  readonly missing_count?: number;
  readonly missing_percent?: number | null;
  readonly unexpected_count?: number;
  readonly unexpected_percent?: number | null;
  readonly unexpected_percent_total?: number | null;
  readonly unexpected_percent_nonmissing?: number | null;
  readonly partial_unexpected_list?: readonly unknown[];
  readonly partial_unexpected_index_list?: readonly unknown[];
  readonly partial_unexpected_counts?: readonly { value: unknown; count: number }[];
  readonly unexpected_list?: readonly unknown[];
  readonly unexpected_index_list?: readonly unknown[];
  readonly details?: unknown;
}

/** The result of one expectation, shaped like GX's ExpectationValidationResult. */
export interface ExpectationResult {
  readonly success: boolean;
  readonly expectation_config: {
    readonly expectation_type: string;
    readonly kwargs: Readonly<Record<string, unknown>>;
    readonly meta: Readonly<Record<string, unknown>>;
    readonly id: string;
    readonly severity: Severity;
  };
  readonly result: ExpectationResultDetails;
  readonly exception_info: {
    readonly raised_exception: boolean;
    readonly exception_message: string | null;
    readonly exception_traceback: string | null;
  };
}

/** The result of a whole suite, shaped like GX's ExpectationSuiteValidationResult. */
export interface SuiteResult {
  readonly success: boolean;
  readonly suite_name: string;
  readonly statistics: {
    readonly evaluated_expectations: number;
    readonly successful_expectations: number;
    readonly unsuccessful_expectations: number;
    readonly success_percent: number | null;
  };
  /** Share of passed expectations weighted by severity (error 3, quarantine 2, warn 1), 0..100. */
  readonly quality_score: number | null;
  readonly results: readonly ExpectationResult[];
}
