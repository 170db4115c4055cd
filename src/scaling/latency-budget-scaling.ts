import { check, isFiniteNumber, parseOptions } from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import { type PolicyOptions, policySchema, resolvePolicy } from "./policy-options.js";
import { PolicyScaling } from "./policy-scaling.js";

/** Options of {@link LatencyBudgetScaling}; `latencyBudgetMs` is required. */
export interface LatencyBudgetScalingOptions extends PolicyOptions {
  /** The mean processing time (over about the last second) the stage must stay under, ms. */
  latencyBudgetMs: number;
  /** A decrease multiplies the count by this. @defaultValue 0.75 */
  decrease?: number;
  /** At most one decrease per this long, so that the last one shows in the latency first. @defaultValue 1000 */
  decreaseEveryMs?: number;
}

const schema = policySchema({
  latencyBudgetMs: check<number>(
    (v) => isFiniteNumber(0)(v) && (v as number) > 0,
    "a finite number of milliseconds > 0",
  ),
  decrease: check<number>(
    (v) => isFiniteNumber(0, 1)(v) && (v as number) > 0 && (v as number) < 1,
    "a number in (0, 1)",
  ).optional(),
  decreaseEveryMs: check<number>(isFiniteNumber(0), "a finite number of milliseconds ≥ 0").optional(),
});

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
  readonly budgetMs: number;
  readonly #decrease: number;
  readonly #every: number;
  #lastDecreaseAt = Number.NEGATIVE_INFINITY;
  #lastIncreaseAt = Number.NEGATIVE_INFINITY;
  #cut = false;
  #why = "";

  constructor(options: LatencyBudgetScalingOptions) {
    const o = parseOptions(schema, options, "LatencyBudgetScaling") as LatencyBudgetScalingOptions;
    // AIMD steps by one on purpose: no tolerance band unless asked for.
    super(resolvePolicy({ tolerance: 0, ...o }, { knee: false, blocked: true }), options);
    this.budgetMs = o.latencyBudgetMs;
    this.#decrease = o.decrease ?? 0.75;
    this.#every = o.decreaseEveryMs ?? 1000;
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
