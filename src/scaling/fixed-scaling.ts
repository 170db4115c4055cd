import { optionsObject, type OptionsInput, parseOptions } from "../internal/parse-options.js";
import type { ScalingStrategy } from "./scaling-strategy.js";
import { workerCount } from "./worker-limits.js";

const shape = {
  /** How many workers the stage runs, always: a whole number from 1 to 10,000 (`MAX_WORKERS`). */
  workers: workerCount(1),
};

/** Options of {@link FixedScaling}. */
export interface FixedScalingOptions extends OptionsInput<typeof shape> {}

const schema = optionsObject(shape);

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
  /** The pool size it always asks for. */
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
