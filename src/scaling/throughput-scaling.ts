import { check, isFiniteNumber, parseOptions } from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import { type PolicyOptions, policySchema, resolvePolicy } from "./policy-options.js";
import { PolicyScaling } from "./policy-scaling.js";

/** Options of {@link ThroughputScaling}. */
export interface ThroughputScalingOptions extends PolicyOptions {
  /** Each step up multiplies the count by 1 + this (at least one worker). @defaultValue 0.5 */
  step?: number;
}

const schema = policySchema({
  step: check<number>((v) => isFiniteNumber(0, 10)(v) && (v as number) > 0, "a number in (0, 10]").optional(),
});

/**
 * Model-free hill climbing, like the .NET thread pool: while a backlog exists it steps the count
 * up, and the policy layer's knee test keeps each step only if throughput rose with it (otherwise
 * it goes back to the best count and holds it for `kneeHoldMs` before probing again). With no
 * backlog it sheds half of the workers that sat idle on average over the last second. It needs no
 * estimate of λ or S, so it suits stages whose processing time says little about capacity; it
 * converges more slowly than {@link AdaptiveScaling}. Both guards are on by default (the knee
 * guard is what makes it a hill climber).
 *
 * @example
 * ```ts
 * new ThroughputScaling({ maxWorkers: 128 });
 * ```
 */
export class ThroughputScaling extends PolicyScaling {
  declare readonly options: Readonly<ThroughputScalingOptions>;
  readonly #step: number;
  #why = "";

  constructor(options: ThroughputScalingOptions = {}) {
    const o = parseOptions(schema, options, "ThroughputScaling") as ThroughputScalingOptions;
    super(resolvePolicy(o, { knee: true, blocked: true }), options);
    this.#step = o.step ?? 0.5;
  }

  protected recommend(stats: StageStats, workers: number): number {
    if (workers === 0) return stats.queueLength > 0 ? 1 : 0;
    if (this.backlogged(stats, workers)) {
      this.#why = `backlog of ${stats.queueLength} items: step up`;
      return Math.max(workers + 1, workers * (1 + this.#step));
    }
    const idle = stats.avgIdleWorkers;
    if (idle >= 1 && stats.queueLength === 0) {
      this.#why = `${idle.toFixed(1)} workers idle on average: step down`;
      return workers - idle / 2;
    }
    return workers;
  }

  protected explain(target: number): string {
    return `${this.#why} → ${target} workers`;
  }
}
