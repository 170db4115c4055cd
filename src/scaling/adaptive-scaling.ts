import { between, ms } from "../internal/option-fields.js";
import { type OptionsInput, parseOptions } from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import { POLICY_DEFAULTS, type PolicyOptions, policySchema, resolvePolicy } from "./policy-options.js";
import { PolicyScaling, type Rates } from "./policy-scaling.js";

/** AdaptiveScaling's settings when its options leave them out: both guards on. */
const DEFAULTS = Object.freeze({
  ...POLICY_DEFAULTS,
  kneeGuard: true,
  blockedGuard: true,
  slowStart: true,
  idleShrinkMs: 1000,
  headroom: 1,
});

const shape = {
  /** β of square-root staffing, N = R + β·√R with R = λ·S. @defaultValue 1 */
  headroom: between(0, 10).optional(),
  /** A backlog of q items adds q·S / this many workers. @defaultValue the larger of 100 ms and 2·S */
  targetQueueWaitMs: ms({ above: true }).optional(),
};

const schema = policySchema(shape, DEFAULTS);

/** Options of {@link AdaptiveScaling}; none is required. */
export interface AdaptiveScalingOptions extends PolicyOptions, OptionsInput<typeof shape> {}

const fmt = (v: number): string => (v >= 100 ? String(Math.round(v)) : v.toFixed(1));

/**
 * The recommended strategy, with nothing to tune: sizes the pool from Little's law with
 * square-root headroom, N = λS + β·√(λS), plus q·S / targetQueueWait workers for a backlog of q,
 * where λ is the arrival (or completion) rate and S the processing time, both measured over the
 * last second. Both guards of the policy layer are on: the knee guard stops growth that no longer
 * raises throughput (a saturated database, an API with 40 slots) and the blocked guard stops
 * paying for workers that wait on a full downstream queue. See {@link PolicyScaling} for the
 * rest (stabilization, tolerance, growth limit).
 *
 * @example
 * ```ts
 * flow.addTransformer(enrich, { scalingStrategy: new AdaptiveScaling({ maxWorkers: 64 }) });
 * ```
 */
export class AdaptiveScaling extends PolicyScaling {
  declare readonly options: Readonly<AdaptiveScalingOptions>;
  readonly #beta: number;
  #q = 0;
  #lambda = 0;
  #s = 0;

  constructor(options: AdaptiveScalingOptions = {}) {
    const o = parseOptions(schema, options, "AdaptiveScaling");
    super(resolvePolicy(o, DEFAULTS), o);
    this.#beta = o.headroom ?? DEFAULTS.headroom;
  }

  protected recommend(stats: StageStats, _workers: number, rates: Rates): number {
    const s = this.serviceMs(stats);
    const lambda = Math.max(rates.arrival, rates.completion);
    const r = (lambda * s) / 1000;
    const q = stats.queueLength;
    const wait = this.options.targetQueueWaitMs ?? Math.max(100, 2 * s);
    this.#q = q;
    this.#lambda = lambda;
    this.#s = s;
    return r + this.#beta * Math.sqrt(r) + (q * s) / wait;
  }

  protected explain(target: number): string {
    return `backlog ${this.#q} items, λ=${fmt(this.#lambda)}/s, S=${fmt(this.#s)} ms → ${target} workers`;
  }
}
