import { z } from "zod";
import { check, isFiniteNumber, isInt, parseOptions } from "../internal/parse-options.js";
import type { StageStats } from "../stats/stage-stats.js";
import type { ScalingStrategy } from "./scaling-strategy.js";

/** Options of {@link UtilizationScaling}; every field is optional. */
export interface UtilizationScalingOptions {
  /** The fewest workers; 0 lets an idle stage scale to zero. @defaultValue 1 */
  minWorkers?: number;
  /** The most workers. @defaultValue 8 */
  maxWorkers?: number;
  /** Below this utilization (busy / total, strictly) the stage shrinks. @defaultValue 0.2 */
  lowerUtilization?: number;
  /** Above this utilization (strictly) the stage grows. @defaultValue 0.8 */
  upperUtilization?: number;
  /** Workers added per decision, before dampening. @defaultValue 1 */
  upscalingRate?: number;
  /** Workers removed per decision, before dampening. @defaultValue 1 */
  downscalingRate?: number;
  /** After any scale, up or down, no further scale for this long. @defaultValue 5000 */
  cooldownMs?: number;
  /** The step is multiplied by this and floored, but never below 1 (so 0 makes every step one worker). @defaultValue 0.5 */
  dampening?: number;
  /** Evaluate at most once per this many milliseconds. @defaultValue undefined (every event) */
  samplingPeriodMs?: number;
  /** Evaluate on every n-th item event only. @defaultValue undefined (every event) */
  samplingEvents?: number;
}

const schema = z
  .strictObject({
    minWorkers: check<number>(isInt(0), "a whole number ≥ 0").optional(),
    maxWorkers: check<number>(isInt(1), "a whole number ≥ 1").optional(),
    lowerUtilization: check<number>(isFiniteNumber(0, 1), "a number in [0, 1]").optional(),
    upperUtilization: check<number>(isFiniteNumber(0, 1), "a number in [0, 1]").optional(),
    upscalingRate: check<number>(isInt(1), "a whole number ≥ 1").optional(),
    downscalingRate: check<number>(isInt(1), "a whole number ≥ 1").optional(),
    cooldownMs: check<number>(isFiniteNumber(0), "a finite number of milliseconds ≥ 0").optional(),
    dampening: check<number>(isFiniteNumber(0, 1), "a number in [0, 1]").optional(),
    samplingPeriodMs: check<number>(
      (v) => isFiniteNumber(0)(v) && (v as number) > 0,
      "a finite number of milliseconds > 0",
    ).optional(),
    samplingEvents: check<number>(isInt(1), "a whole number ≥ 1").optional(),
  })
  .transform((o) => ({
    minWorkers: o.minWorkers ?? 1,
    maxWorkers: o.maxWorkers ?? 8,
    lowerUtilization: o.lowerUtilization ?? 0.2,
    upperUtilization: o.upperUtilization ?? 0.8,
    upscalingRate: o.upscalingRate ?? 1,
    downscalingRate: o.downscalingRate ?? 1,
    cooldownMs: o.cooldownMs ?? 5000,
    dampening: o.dampening ?? 0.5,
    samplingPeriodMs: o.samplingPeriodMs,
    samplingEvents: o.samplingEvents,
  }))
  .check((ctx) => {
    const o = ctx.value;
    if (o.minWorkers > o.maxWorkers)
      ctx.issues.push({
        code: "custom",
        input: o,
        path: ["minWorkers"],
        message: `≤ maxWorkers (${o.maxWorkers})`,
      });
    if (o.lowerUtilization >= o.upperUtilization)
      ctx.issues.push({
        code: "custom",
        input: o,
        path: ["lowerUtilization"],
        message: `< upperUtilization (${o.upperUtilization})`,
      });
  });

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
    const { samplingEvents, samplingPeriodMs, ...rest } = this.options;
    return new UtilizationScaling({
      ...rest,
      ...(samplingEvents === undefined ? {} : { samplingEvents }),
      ...(samplingPeriodMs === undefined ? {} : { samplingPeriodMs }),
    });
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
