import { between } from "../internal/option-fields.js";
import { type OptionsInput, parseOptions } from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import { POLICY_DEFAULTS, type PolicyOptions, policySchema, resolvePolicy } from "./policy-options.js";
import { PolicyScaling } from "./policy-scaling.js";

/** TargetUtilizationScaling's settings when its options leave them out: both guards off, like the HPA. */
const DEFAULTS = Object.freeze({ ...POLICY_DEFAULTS, kneeGuard: false, blockedGuard: false, target: 0.7 });

const shape = {
  /** The busy fraction of the pool to hold. @defaultValue 0.7 */
  target: between(0, 1, { min: true }).optional(),
};

const schema = policySchema(shape, DEFAULTS);

/** Options of {@link TargetUtilizationScaling}. */
export interface TargetUtilizationScalingOptions extends PolicyOptions, OptionsInput<typeof shape> {}

/**
 * Proportional control on utilization, like the Kubernetes HPA and AWS target tracking:
 * N = busy / target, where busy is the larger of the busy workers now and their average over
 * the last second (so growth reacts at once and shrinking follows the average). It goes through
 * the same policy layer as {@link AdaptiveScaling}, but with both guards off by default: like the
 * HPA, it cannot see a saturated dependency (utilization stays high) and will grow to
 * `maxWorkers` there. Turn `kneeGuard` on to stop it.
 *
 * @example
 * ```ts
 * new TargetUtilizationScaling({ target: 0.6, maxWorkers: 32 });
 * ```
 */
export class TargetUtilizationScaling extends PolicyScaling {
  declare readonly options: Readonly<TargetUtilizationScalingOptions>;
  /** The share of workers it keeps busy (`targetUtilization`). */
  readonly target: number;
  #busy = 0;

  constructor(options: TargetUtilizationScalingOptions = {}) {
    const o = parseOptions(schema, options, "TargetUtilizationScaling");
    super(resolvePolicy(o, DEFAULTS), o);
    this.target = o.target ?? DEFAULTS.target;
  }

  protected recommend(stats: StageStats, workers: number): number {
    // Workers waiting out a backoff or for a rate-limit token hold an item but use no capacity:
    // counting them as busy would grow the pool on a dependency's failures or on the limit itself.
    const busy = Math.max(stats.avgBusyWorkers, stats.busyWorkers);
    this.#busy = busy;
    // With nothing running and items waiting, one worker is fully used.
    if (workers === 0) return stats.queueLength > 0 ? 1 : 0;
    return busy / this.target;
  }

  protected explain(target: number): string {
    return `${this.#busy.toFixed(1)} busy at target utilization ${this.target} → ${target} workers`;
  }
}
