import type { z } from "zod";
import { between, ms, whole } from "../internal/option-fields.js";
import {
  issue,
  notAbove,
  type OptionsInput,
  optionsObject,
  parseOptions,
} from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import type { ScalingStrategy } from "./scaling-strategy.js";
import { workerCount } from "./worker-limits.js";

/** UtilizationScaling's settings when its options leave them out: the original's defaults. */
const DEFAULTS = Object.freeze({
  minWorkers: 1,
  maxWorkers: 8,
  lowerUtilization: 0.2,
  upperUtilization: 0.8,
  upscalingRate: 1,
  downscalingRate: 1,
  cooldownMs: 5000,
  dampening: 0.5,
});

const shape = {
  /** The fewest workers; 0 lets an idle stage scale to zero. @defaultValue 1 */
  minWorkers: workerCount(0).default(DEFAULTS.minWorkers),
  /** The most workers (at most 10,000, `MAX_WORKERS`). @defaultValue 8 */
  maxWorkers: workerCount(1).default(DEFAULTS.maxWorkers),
  /** Below this utilization (busy / total, strictly) the stage shrinks. @defaultValue 0.2 */
  lowerUtilization: between(0, 1).default(DEFAULTS.lowerUtilization),
  /** Above this utilization (strictly) the stage grows. @defaultValue 0.8 */
  upperUtilization: between(0, 1).default(DEFAULTS.upperUtilization),
  /** Workers added per decision, before dampening. @defaultValue 1 */
  upscalingRate: workerCount(1).default(DEFAULTS.upscalingRate),
  /** Workers removed per decision, before dampening. @defaultValue 1 */
  downscalingRate: workerCount(1).default(DEFAULTS.downscalingRate),
  /** After any scale, up or down, no further scale for this long. @defaultValue 5000 */
  cooldownMs: ms().default(DEFAULTS.cooldownMs),
  /** The step is multiplied by this and floored, but never below 1 (so 0 makes every step one worker). @defaultValue 0.5 */
  dampening: between(0, 1).default(DEFAULTS.dampening),
  /** Evaluate at most once per this many milliseconds. @defaultValue undefined (every event) */
  samplingPeriodMs: ms({ above: true }).optional(),
  /** Evaluate on every n-th item event only. @defaultValue undefined (every event) */
  samplingEvents: whole(1).optional(),
};

const schema = optionsObject(shape).check((ctx) => {
  const o = ctx.value;
  ctx.issues.push(...notAbove("minWorkers", o.minWorkers, "maxWorkers", o.maxWorkers));
  if (o.lowerUtilization >= o.upperUtilization)
    ctx.issues.push(
      issue("lowerUtilization", o.lowerUtilization, `< upperUtilization (${o.upperUtilization})`),
    );
});

/** Options of {@link UtilizationScaling}; every field is optional. */
export interface UtilizationScalingOptions extends OptionsInput<typeof shape> {}

type Resolved = z.output<typeof schema>;

/**
 * Threshold scaling on utilization (busy / total workers), with the original flowrhythm
 * semantics: on each evaluated event, utilization strictly above `upperUtilization` adds
 * `min(upscalingRate, room left)` workers and strictly below `lowerUtilization` removes
 * `min(downscalingRate, room left)`, each step multiplied by `dampening` and floored with a
 * minimum of 1. One cooldown is shared by up and down. `samplingEvents` and
 * `samplingPeriodMs` thin out the evaluations.
 *
 * Differences from the Python original, on purpose: it also evaluates on the flow's tick (so an
 * idle stage shrinks without items moving; ticks pass the period gate but do not count as
 * events), and a stage with no workers counts as fully utilized while items wait, so
 * `minWorkers: 0` scales back up instead of hanging on 0/0.
 *
 * @example
 * ```ts
 * new UtilizationScaling({ minWorkers: 0, maxWorkers: 16, cooldownMs: 500 });
 * ```
 */
export class UtilizationScaling implements ScalingStrategy {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Its options, defaults filled in. */
  readonly options: Readonly<Resolved>;
  lastReason = "";
  #lastScaledAt = Number.NEGATIVE_INFINITY;
  #lastSampledAt = Number.NEGATIVE_INFINITY;
  #events = 0;

  constructor(options: UtilizationScalingOptions = {}) {
    this.options = Object.freeze(parseOptions(schema, options, "UtilizationScaling"));
    this.minWorkers = this.options.minWorkers;
    this.maxWorkers = this.options.maxWorkers;
  }

  initialWorkers(): number {
    return this.minWorkers;
  }

  onEnqueue(stats: StageStats): number {
    return this.#event(stats);
  }

  onDequeue(stats: StageStats): number {
    return this.#event(stats);
  }

  onTick(stats: StageStats): number {
    return this.#periodGate(stats) ? this.#decide(stats) : 0;
  }

  clone(): UtilizationScaling {
    return new UtilizationScaling(this.options);
  }

  #event(stats: StageStats): number {
    const every = this.options.samplingEvents;
    if (every !== undefined) {
      if (++this.#events < every) return 0;
      this.#events = 0;
    }
    return this.#periodGate(stats) ? this.#decide(stats) : 0;
  }

  #periodGate(stats: StageStats): boolean {
    const period = this.options.samplingPeriodMs;
    if (period === undefined) return true;
    const now = stats.now;
    if (now - this.#lastSampledAt < period) return false;
    this.#lastSampledAt = now;
    return true;
  }

  // The thresholds are checked before the cooldown: the result is the same as the original's
  // order, and the common case (nothing to do) never reads the clock.
  #decide(stats: StageStats): number {
    const o = this.options;
    const workers = stats.totalWorkers;
    const util = stats.utilization;
    let delta = 0;
    if (util > o.upperUtilization && workers < o.maxWorkers) {
      delta = Math.floor(Math.min(o.upscalingRate, o.maxWorkers - workers) * o.dampening) || 1;
    } else if (util < o.lowerUtilization && workers > o.minWorkers) {
      delta = -(Math.floor(Math.min(o.downscalingRate, workers - o.minWorkers) * o.dampening) || 1);
    } else return 0;
    const now = stats.now;
    if (now - this.#lastScaledAt < o.cooldownMs) return 0;
    this.#lastScaledAt = now;
    this.lastReason = `utilization ${util.toFixed(2)} ${delta > 0 ? ">" : "<"} ${
      delta > 0 ? o.upperUtilization : o.lowerUtilization
    } with ${workers} workers`;
    return delta;
  }
}
