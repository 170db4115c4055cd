import { between, ms } from "../internal/option-fields.js";
import { type OptionsInput, parseOptions } from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import { POLICY_DEFAULTS, type PolicyOptions, policySchema, resolvePolicy } from "./policy-options.js";
import { PolicyScaling } from "./policy-scaling.js";

/**
 * LatencyBudgetScaling's settings when its options leave them out: the blocked guard on, the knee
 * guard off (the budget is what stops growth), and no tolerance band (AIMD steps by one on purpose).
 */
const DEFAULTS = Object.freeze({
  ...POLICY_DEFAULTS,
  tolerance: 0,
  kneeGuard: false,
  blockedGuard: true,
  decrease: 0.75,
  decreaseEveryMs: 1000,
});

const shape = {
  /** The mean processing time (over about the last second) the stage must stay under, ms. */
  latencyBudgetMs: ms({ above: true }),
  /** A decrease multiplies the count by this. @defaultValue 0.75 */
  decrease: between(0, 1, { min: true, max: true }).optional(),
  /** At most one decrease per this long, so that the last one shows in the latency first. @defaultValue 1000 */
  decreaseEveryMs: ms().optional(),
};

const schema = policySchema(shape, DEFAULTS);

/** Options of {@link LatencyBudgetScaling}; `latencyBudgetMs` is required. */
export interface LatencyBudgetScalingOptions extends PolicyOptions, OptionsInput<typeof shape> {}

/**
 * AIMD on a latency budget, like TCP congestion control or Netflix's concurrency limits: while
 * the mean processing time is over `latencyBudgetMs` the count is cut multiplicatively (at once,
 * at most once per `decreaseEveryMs`); while it is under and items wait, it grows (doubling until
 * the first cut, then one worker per evaluation). With no items waiting it shrinks toward the
 * busy workers plus square-root headroom. It protects a fragile dependency: the stage never
 * pushes the latency it inflicts past the budget, even if that leaves throughput on the table.
 * Opt-in, because only the user knows the budget. The blocked guard is on by default, the knee
 * guard off (the budget is what stops growth).
 *
 * @example
 * ```ts
 * new LatencyBudgetScaling({ latencyBudgetMs: 50, maxWorkers: 64 });
 * ```
 */
export class LatencyBudgetScaling extends PolicyScaling {
  declare readonly options: Readonly<LatencyBudgetScalingOptions>;
  /** The processing time it keeps under, in ms. */
  readonly budgetMs: number;
  readonly #decrease: number;
  readonly #every: number;
  #lastDecreaseAt = Number.NEGATIVE_INFINITY;
  #lastIncreaseAt = Number.NEGATIVE_INFINITY;
  #cut = false;
  #why = "";

  constructor(options: LatencyBudgetScalingOptions) {
    const o = parseOptions(schema, options, "LatencyBudgetScaling");
    super(resolvePolicy(o, DEFAULTS), o);
    this.budgetMs = o.latencyBudgetMs;
    this.#decrease = o.decrease ?? DEFAULTS.decrease;
    this.#every = o.decreaseEveryMs ?? DEFAULTS.decreaseEveryMs;
  }

  protected recommend(stats: StageStats, workers: number): number {
    if (workers === 0) return stats.queueLength > 0 ? 1 : 0;
    const s = stats.processingTimeMs;
    const now = stats.now;
    if (s > this.budgetMs) {
      if (now - this.#lastDecreaseAt < this.#every) return workers;
      this.#lastDecreaseAt = now;
      this.#cut = true;
      this.force = true;
      this.#why = `processing ${s.toFixed(1)} ms > budget ${this.budgetMs} ms: ×${this.#decrease}`;
      return Math.max(1, Math.floor(workers * this.#decrease));
    }
    if (stats.queueLength > 0 && stats.avgIdleWorkers < 1) {
      // Additive increase: one worker per period long enough for it to show in the latency.
      if (now - this.#lastIncreaseAt < Math.max(100, 2 * s)) return workers;
      this.#lastIncreaseAt = now;
      this.#why = `processing ${s.toFixed(1)} ms within budget ${this.budgetMs} ms, ${stats.queueLength} waiting`;
      return this.#cut ? workers + 1 : workers * 2;
    }
    const busy = stats.avgBusyWorkers;
    this.#why = `${busy.toFixed(1)} busy, no backlog`;
    return Math.min(workers, busy + Math.sqrt(busy) + 1);
  }

  protected explain(target: number): string {
    return `${this.#why} → ${target} workers`;
  }
}
