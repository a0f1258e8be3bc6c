import type { Diagnostic } from '../core/errors.js';
import { ConfigError, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { ownValue } from '../core/own-keys.js';
import type { ExpectationConfig, Suite } from '../quality/expectation.js';
import type { RowCheck } from '../quality/row-checks.js';
import { compileRowCheck, ROW_MISSING, ROW_PASS, RowCheckError } from '../quality/row-checks.js';
import type {
  OperatorContext,
  OperatorSpec,
  SideOutput,
  StreamBatch,
  StreamOperator,
} from './operator-spec.js';
import type { StreamRow } from '../contracts/stream-connector.js';

/**
 * Checks every record against the row-level expectations of a suite, the same `expect.*`
 * declarations (or GX suite) a batch `check` step takes. What a failure does follows each
 * expectation's severity: `quarantine` sets the record aside as invalid (with the expectation,
 * column and reason), `warn` lets it pass and counts it (logged at each checkpoint), `error`
 * stops the stream. Aggregate expectations, uniqueness and `where` are refused at plan time.
 *
 * @example
 * ```ts
 * expectRows(suite('orders', [
 *   expect.notNull('order_id'),
 *   expect.between('amount', { min: 0 }, { severity: 'quarantine' }),
 *   expect.inSet('currency', ['EUR', 'USD'], { severity: 'warn' }),
 * ]))
 * ```
 */
export function expectRows(suite: Suite | readonly ExpectationConfig[]): OperatorSpec {
  return {
    kind: 'expect',
    suite: isSuite(suite) ? suite : { name: 'rows', expectations: suite },
  };
}

function isSuite(value: Suite | readonly ExpectationConfig[]): value is Suite {
  return !Array.isArray(value);
}

/**
 * Problems that keep a suite from running in a stream, one per expectation: aggregate and table
 * expectations, ones comparing records with each other, `row_condition`, bad arguments.
 *
 * @example
 * ```ts
 * expectRowsProblems(suite('s', [expect.meanBetween('amount', { min: 0 })]), 'steps[1]');
 * // [{ code: 'invalid-expectation', message: 'expectation "column_mean_to_be_between(amount)" ... judges a whole dataset ...' }]
 * ```
 */
export function expectRowsProblems(suite: Suite, path: string): Diagnostic[] {
  if (suite === null || typeof suite !== 'object' || !Array.isArray(suite.expectations))
    return [
      {
        code: 'invalid-suite',
        message:
          'expectRows takes a suite (suite(name, [...]) or suiteFromGX(json)) or a list of expect.* expectations',
        path,
      },
    ];
  const problems: Diagnostic[] = [];
  suite.expectations.forEach((expectation, i) => {
    const at = `${path}.expectations[${i}]`;
    if (!['error', 'warn', 'quarantine'].includes(expectation.severity)) {
      problems.push({
        code: 'invalid-suite',
        message: `expectation "${expectation.id}": severity must be error, warn or quarantine, got ${JSON.stringify(expectation.severity)}`,
        path: at,
      });
      return;
    }
    try {
      compileRowCheck(expectation);
    } catch (error) {
      if (!(error instanceof RowCheckError)) throw error;
      problems.push({
        code: 'invalid-expectation',
        message: error.message,
        path: at,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      });
    }
  });
  return problems;
}

/** Failures of one expectation: since the last checkpoint (window) or since the stream began. */
interface Counts {
  checked: number;
  missing: number;
  failed: number;
}

interface WindowCounts extends Counts {
  /** Records without the column at all (a misspelt column name shows as all of them). */
  absent: number;
  /** The first record that failed, for the warning or error. */
  example: StreamRow | undefined;
}

const QUARANTINE = 0;
const WARN = 1;
/** `error` judged per checkpoint window (`mostly` below 1). */
const ERROR_BY_WINDOW = 2;
/** `error` without `mostly`: the first failing record stops the stream. */
const ERROR_NOW = 3;

const EMPTY: StreamBatch = { rows: [], times: [] };

/**
 * The stage an `expectRows` step runs as. `mostly` (the share of non-null values that must
 * pass) is judged over the records between two checkpoints for `warn` and `error`; a
 * `quarantine` expectation sets aside every failing record whatever its `mostly`, as a batch
 * check does.
 *
 * @example
 * ```ts
 * const operator = new ExpectOperator(suite('orders', [expect.notNull('id', { severity: 'quarantine' })]));
 * const passed = operator.process(batch, watermark, side);
 * ```
 */
export class ExpectOperator implements StreamOperator {
  readonly #checks: readonly RowCheck[];
  readonly #policies: readonly number[];
  readonly #window: WindowCounts[];
  #totals: Counts[];
  #logger: Logger = silentLogger;
  #stream: string | undefined;

  constructor(suite: Suite) {
    const problems = expectRowsProblems(suite, 'expectRows');
    if (problems.length > 0) throw new ConfigError(problems);
    this.#checks = suite.expectations.map(compileRowCheck);
    this.#policies = this.#checks.map(({ expectation, mostly }) =>
      expectation.severity === 'quarantine'
        ? QUARANTINE
        : expectation.severity === 'warn'
          ? WARN
          : mostly < 1
            ? ERROR_BY_WINDOW
            : ERROR_NOW,
    );
    this.#window = this.#checks.map(emptyWindow);
    this.#totals = this.#checks.map(() => ({ checked: 0, missing: 0, failed: 0 }));
  }

  open(context: OperatorContext): void {
    this.#logger = context.logger;
    this.#stream = context.stream;
  }

  process(batch: StreamBatch, _watermark: number, side: SideOutput): StreamBatch {
    const { rows, times } = batch;
    const checks = this.#checks;
    const policies = this.#policies;
    const window = this.#window;
    // Copied only once a record is set aside; a batch that passes whole is returned as it is.
    let keptRows: StreamRow[] | undefined;
    let keptTimes: number[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as StreamRow;
      let reasons: string | undefined;
      for (let j = 0; j < checks.length; j++) {
        const check = checks[j] as RowCheck;
        const outcome = check.evaluate(row);
        if (outcome === ROW_PASS) continue;
        const counts = window[j] as WindowCounts;
        if (outcome === ROW_MISSING) {
          counts.missing++;
          if (check.columns.every((c) => ownValue(row, c) === undefined)) counts.absent++;
          continue;
        }
        counts.failed++;
        const policy = policies[j];
        if (policy === QUARANTINE) {
          const reason = describeFailure(check, row);
          reasons = reasons === undefined ? reason : `${reasons}; ${reason}`;
        } else if (policy === ERROR_NOW) {
          throw this.#failure(row, describeFailure(check, row));
        } else if (counts.example === undefined) {
          counts.example = row;
        }
      }
      if (reasons !== undefined) {
        side(row, times[i] as number, reasons, 'invalid');
        if (keptRows === undefined) {
          keptRows = rows.slice(0, i);
          keptTimes = times.slice(0, i);
        }
      } else if (keptRows !== undefined) {
        keptRows.push(row);
        (keptTimes as number[]).push(times[i] as number);
      }
    }
    for (const counts of window) counts.checked += rows.length;
    return keptRows === undefined ? batch : { rows: keptRows, times: keptTimes as number[] };
  }

  advance(): StreamBatch {
    return EMPTY;
  }

  stateSize(): number {
    return 0;
  }

  /**
   * Taken at every checkpoint, so it closes the window `mostly` is judged over: `warn`
   * expectations that failed are logged, an `error` expectation that failed stops the stream
   * before the checkpoint commits. Returns the counts since the stream began.
   */
  snapshot(): unknown {
    this.#checks.forEach((check, j) => {
      const counts = this.#window[j] as WindowCounts;
      this.#judgeWindow(check, this.#policies[j] as number, counts);
      const total = this.#totals[j] as Counts;
      total.checked += counts.checked;
      total.missing += counts.missing;
      total.failed += counts.failed;
      this.#window[j] = emptyWindow();
    });
    return Object.fromEntries(
      this.#checks.map((check, j) => [check.expectation.id, { ...this.#totals[j] }]),
    );
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as Record<string, Partial<Counts> | undefined>;
    this.#totals = this.#checks.map((check) => {
      const counts = saved[check.expectation.id];
      return {
        checked: counts?.checked ?? 0,
        missing: counts?.missing ?? 0,
        failed: counts?.failed ?? 0,
      };
    });
  }

  /**
   * Records checked, missing (null) and failed per expectation id since the stream began,
   * the current checkpoint window included.
   *
   * @example
   * ```ts
   * operator.counts()['column_values_to_not_be_null(id)']; // { checked: 10, missing: 0, failed: 1 }
   * ```
   */
  counts(): Record<string, Counts> {
    return Object.fromEntries(
      this.#checks.map((check, j) => {
        const total = this.#totals[j] as Counts;
        const window = this.#window[j] as WindowCounts;
        return [
          check.expectation.id,
          {
            checked: total.checked + window.checked,
            missing: total.missing + window.missing,
            failed: total.failed + window.failed,
          },
        ];
      }),
    );
  }

  #judgeWindow(check: RowCheck, policy: number, counts: WindowCounts): void {
    const { id, type } = check.expectation;
    if (counts.checked > 0 && counts.absent === counts.checked)
      this.#logger.warn(
        { stream: this.#stream, expectation: id, columns: check.columns, records: counts.checked },
        `no record since the last checkpoint has the column the expectation reads; check its name`,
      );
    if (policy === QUARANTINE || counts.failed === 0 || counts.example === undefined) return;
    const domain = counts.checked - counts.missing;
    const passed = domain === 0 ? 1 : (domain - counts.failed) / domain;
    if (passed >= check.mostly - 1e-12) return;
    const example = describeFailure(check, counts.example);
    if (policy === WARN) {
      this.#logger.warn(
        {
          stream: this.#stream,
          expectation: id,
          type,
          unexpected: counts.failed,
          checked: domain,
          missing: counts.missing,
          ...(check.mostly < 1 ? { mostly: check.mostly } : {}),
          example,
        },
        'expectation failed (warn)',
      );
      return;
    }
    throw this.#failure(
      counts.example,
      `${example}; ${counts.failed} of ${domain} non-null records since the last checkpoint failed, more than mostly = ${check.mostly} allows`,
    );
  }

  #failure(row: StreamRow, reason: string): SluiceError {
    return new SluiceError(
      'QUALITY_GATE_FAILED',
      `${this.#stream === undefined ? '' : `stream "${this.#stream}": `}${reason}, in record ${showRecord(row)}`,
      {
        hint: "fix the records at their source, or give the expectation severity 'quarantine' (set such records aside) or 'warn' (let them pass, counted); the stream stopped without committing the current checkpoint and resumes from its last one",
      },
    );
  }
}

function emptyWindow(): WindowCounts {
  return { checked: 0, missing: 0, failed: 0, absent: 0, example: undefined };
}

/** The quarantine reason of one failure: the batch check's words, then why. */
function describeFailure(check: RowCheck, row: StreamRow): string {
  const { id, type } = check.expectation;
  return `expectation "${id}" (${type}) failed: ${check.explain(row)}`;
}

function showRecord(row: StreamRow): string {
  let text: string;
  try {
    text = JSON.stringify(row, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  } catch {
    text = String(row);
  }
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}
