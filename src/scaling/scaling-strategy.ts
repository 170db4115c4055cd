import type { StageStats } from "../stats/stage-stats.js";

/**
 * Decides how many workers a stage runs. Each hook returns a delta: positive adds workers,
 * negative removes them, 0 keeps the count. The controller clamps the result to
 * `[minWorkers, maxWorkers]`.
 *
 * Hooks are synchronous and cheap: `onEnqueue` and `onDequeue` run on the hot path, once per
 * item. A strategy is a pure function of the stats it is given and its own state: it reads
 * time only from `stats.now`, so it can be tested with hand-built `StageStats`.
 *
 * @example
 * ```ts
 * const backlogDoubler: ScalingStrategy = {
 *   minWorkers: 1,
 *   maxWorkers: 16,
 *   initialWorkers: () => 1,
 *   onEnqueue: (s) => (s.queueLength > s.totalWorkers * 10 ? s.totalWorkers : 0),
 *   onDequeue: () => 0,
 * };
 * ```
 */
export interface ScalingStrategy {
  /** Workers the stage starts with. */
  initialWorkers(): number;
  /** Called after an item entered the stage's queue (or was handed straight to a worker). */
  onEnqueue(stats: StageStats): number;
  /** Called after a worker took an item. */
  onDequeue(stats: StageStats): number;
  /** Called every `tickMs`, also when no item moves, so that an idle stage can shrink. */
  onTick?(stats: StageStats): number;
  /** The fewest workers the controller allows. @defaultValue 1 */
  readonly minWorkers?: number;
  /** The most workers the controller allows. @defaultValue 1024 */
  readonly maxWorkers?: number;
  /** Why the last non-zero decision was made, in words; copied into the `scale` event. */
  readonly lastReason?: string;
  /**
   * A fresh instance with the same settings and none of the state. The flow calls it to give
   * each stage its own copy of `defaultScalingStrategy`, so stages never share cooldowns or
   * sampling counters. A strategy without it is shared as is.
   */
  clone?(): ScalingStrategy;
}
