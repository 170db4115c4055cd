import { between } from "../internal/option-fields.js";
import { type OptionsInput, parseOptions } from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import { POLICY_DEFAULTS, type PolicyOptions, policySchema, resolvePolicy } from "./policy-options.js";
import { PolicyScaling } from "./policy-scaling.js";

/** ThroughputScaling's settings when its options leave them out: both guards on (the knee guard makes it a hill climber). */
const DEFAULTS = Object.freeze({ ...POLICY_DEFAULTS, kneeGuard: true, blockedGuard: true, step: 0.5 });

const shape = {
  /** Each step up multiplies the count by 1 + this (at least one worker). @defaultValue 0.5 */
  step: between(0, 10, { min: true }).optional(),
};

const schema = policySchema(shape, DEFAULTS);

/** Options of {@link ThroughputScaling}. */
export interface ThroughputScalingOptions extends PolicyOptions, OptionsInput<typeof shape> {}

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
    const o = parseOptions(schema, options, "ThroughputScaling");
    super(resolvePolicy(o, DEFAULTS), o);
    this.#step = o.step ?? DEFAULTS.step;
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
