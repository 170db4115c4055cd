import { z } from "zod";
import { check, isInt, parseOptions } from "../internal/parse-options.js";
import type { ScalingStrategy } from "./scaling-strategy.js";

/** Options of {@link FixedScaling}. */
export interface FixedScalingOptions {
  /** How many workers the stage runs, always. A whole number ≥ 1. */
  workers: number;
}

const schema = z.strictObject({ workers: check<number>(isInt(1), "a whole number ≥ 1") });

/**
 * A constant number of workers. `FixedScaling({ workers: 1 })` is what a stage runs with when
 * no strategy is configured: one worker, like a plain loop, order kept.
 *
 * @example
 * ```ts
 * flow.addTransformer(resize, { scalingStrategy: new FixedScaling({ workers: 4 }) });
 * ```
 */
export class FixedScaling implements ScalingStrategy {
  readonly workers: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;

  constructor(options: FixedScalingOptions) {
    const { workers } = parseOptions(schema, options, "FixedScaling");
    this.workers = workers;
    this.minWorkers = workers;
    this.maxWorkers = workers;
  }

  initialWorkers(): number {
    return this.workers;
  }
  onEnqueue(): number {
    return 0;
  }
  onDequeue(): number {
    return 0;
  }
  clone(): FixedScaling {
    return this;
  }
}
