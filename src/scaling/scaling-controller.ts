import type { StageStats } from "../stats/stage-stats.js";
import type { ScalingStrategy } from "./scaling-strategy.js";
import type { WorkerBudget } from "./worker-budget.js";
import { MAX_WORKERS, workerLimitsOf } from "./worker-limits.js";

/** Emitted whenever a stage's worker count changes by a scaling decision. */
export interface ScaleEvent {
  readonly stage: string;
  readonly from: number;
  readonly to: number;
  /** What asked for it (`enqueue`, `dequeue`, `tick`, `liveness`) and the strategy's reason. */
  readonly reason: string;
}

/** What the controller drives: a stage's worker pool. */
export interface ScalablePool {
  /** Workers counted toward the target: running and not retiring. */
  readonly activeWorkers: number;
  /** Whether items wait for a worker (queued, or writers blocked on a full queue). */
  readonly hasWork: boolean;
  /** Spawns or retires workers toward `target`; returns the active count after (spawning may be held back). */
  resize(target: number): number;
  /** Whether the stage finished (its workers exited for good). */
  readonly done: boolean;
}

/** The controller's links to the rest of the runtime. */
export interface ControllerHooks {
  /** Called after each applied change, to stamp stats and emit the `scale` event. */
  scaled(event: ScaleEvent): void;
  /** A strategy threw or returned a non-number; the decision is ignored. */
  fault(error: unknown): void;
  /** Something the controller corrected (limits it could not use, a count past the cap); reported once. */
  warn?(message: string): void;
}

/**
 * Applies a strategy's decisions to one stage's pool: clamps them to `[min, max]`, ignores
 * anything that is not a finite number (and a strategy that throws), and records why.
 *
 * Liveness guard: a stage never sits with waiting items and no worker. When the strategy
 * leaves it at zero, the controller starts one worker anyway (reason `liveness`), so
 * `minWorkers: 0` cannot hang a flow.
 */
export class ScalingController {
  readonly min: number;
  readonly max: number;
  /** The flow's worker budget, when `maxTotalWorkers` is set. */
  budget: WorkerBudget | null = null;

  constructor(
    readonly stage: string,
    readonly strategy: ScalingStrategy,
    private readonly pool: ScalablePool,
    private readonly stats: StageStats,
    private readonly hooks: ControllerHooks,
  ) {
    // Read once, when the strategy was validated (a clone now), and never past MAX_WORKERS.
    const { limits, problem } = workerLimitsOf(strategy);
    this.min = limits.min;
    this.max = limits.max;
    if (problem) hooks.warn?.(`its strategy's limits: ${problem}`);
  }

  /** The worker count to start with, clamped (and cut to what is left of the budget, keeping one). */
  initialWorkers(): number {
    let n: number;
    try {
      n = this.strategy.initialWorkers();
    } catch (error) {
      this.hooks.fault(error);
      n = this.min;
    }
    if (n > MAX_WORKERS) this.#overCap(n);
    const start = Number.isFinite(n) ? this.#clamp(Math.trunc(n)) : this.min;
    if (this.budget === null || start === 0) return start;
    return Math.max(1, Math.min(start, this.budget.room(this)));
  }

  onEnqueue(): void {
    let delta: number;
    try {
      delta = this.strategy.onEnqueue(this.stats);
    } catch (error) {
      this.hooks.fault(error);
      delta = 0;
    }
    if (delta !== 0) this.apply(delta, "enqueue");
    else if (this.pool.activeWorkers === 0) this.#liveness();
  }

  onDequeue(): void {
    let delta: number;
    try {
      delta = this.strategy.onDequeue(this.stats);
    } catch (error) {
      this.hooks.fault(error);
      return;
    }
    if (delta !== 0) this.apply(delta, "dequeue");
  }

  onTick(): void {
    const s = this.strategy;
    if (s.onTick) {
      let delta: number;
      try {
        delta = s.onTick(this.stats);
      } catch (error) {
        this.hooks.fault(error);
        delta = 0;
      }
      if (delta !== 0) this.apply(delta, "tick");
    }
    if (this.pool.activeWorkers === 0) this.#liveness();
  }

  /** Applies a delta from `source`; returns the worker count after it. */
  apply(delta: number, source: string): number {
    const pool = this.pool;
    const from = pool.activeWorkers;
    if (typeof delta !== "number" || Number.isNaN(delta)) {
      this.hooks.fault(new TypeError(`strategy returned ${String(delta)} from ${source}; expected a number`));
      return from;
    }
    if (from + delta > MAX_WORKERS) this.#overCap(from + delta);
    let to = this.#clamp(from + (Number.isFinite(delta) ? Math.trunc(delta) : delta));
    if (to === 0 && pool.hasWork) to = 1;
    if (to > from && this.budget !== null) to = this.budget.cap(this, from, to, this.stats.now);
    if (to === from) return from;
    to = pool.resize(to);
    if (to === from) return from;
    const why = this.strategy.lastReason;
    this.hooks.scaled({ stage: this.stage, from, to, reason: why ? `${source}: ${why}` : source });
    return to;
  }

  /** Workers active now. */
  get active(): number {
    return this.pool.activeWorkers;
  }

  /** Whether the stage is done; the budget leaves it alone. */
  get finished(): boolean {
    return this.pool.done;
  }

  /**
   * The fewest workers the budget leaves a stage: one. The budget is a hard cap, so it may hold a
   * stage below its strategy's `minWorkers`.
   */
  get floor(): number {
    return 1;
  }

  /** How bad the stage's queue is, as an expected wait in ms: backlog over throughput, or the oldest item's age. */
  pressure(): number {
    const s = this.stats;
    const q = s.queueLength;
    if (q === 0) return 0;
    return Math.max(s.oldestItemAgeMs, (q * 1000) / Math.max(s.throughput, 1));
  }

  /** Workers the stage could give up: blocked on average, or idle on average while its queue is empty. */
  spare(): number {
    const s = this.stats;
    return Math.max(s.avgBlockedWorkers, s.queueLength === 0 ? s.avgIdleWorkers : 0);
  }

  /** A change the budget makes (clamped to the stage's own limits); returns the count after. */
  budgetResize(target: number, reason: string): number {
    const pool = this.pool;
    const from = pool.activeWorkers;
    const to = pool.resize(Math.max(this.floor, Math.min(target, this.max)));
    if (to !== from) this.hooks.scaled({ stage: this.stage, from, to, reason });
    return to;
  }

  #liveness(): void {
    const pool = this.pool;
    if (!pool.hasWork || pool.activeWorkers > 0) return;
    if (pool.resize(1) === 0) return;
    this.hooks.scaled({
      stage: this.stage,
      from: 0,
      to: 1,
      reason: "liveness: items wait and no worker runs",
    });
  }

  // A count past the cap is clamped like any other; it is also worth telling, once.
  #overCap(asked: number): void {
    this.hooks.warn?.(
      `its strategy asked for ${asked} workers; clamped to ${this.max} (no stage runs more than ${MAX_WORKERS})`,
    );
  }

  #clamp(n: number): number {
    return Math.min(Math.max(n, this.min), this.max);
  }
}
