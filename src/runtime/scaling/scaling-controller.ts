import type { StageStats } from "../../stats/stage-stats.js";
import type { ScalingStrategy } from "../../scaling/scaling-strategy.js";
import type { WorkerBudget } from "./worker-budget.js";
import { MAX_WORKERS, workerLimitsOf } from "../../scaling/worker-limits.js";
import type { ScaleEvent } from "../../model/events.js";

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
  /** The budgets the stage's workers count in: the flow's (`maxTotalWorkers`), the threads' (`maxThreads`). */
  readonly budgets: WorkerBudget[] = [];

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

  /** Starts the initial pool (the `initial` event). */
  start(): void {
    this.resizeTo(this.initialWorkers(), "initial");
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
    if (this.budgets.length === 0 || start === 0) return start;
    // Cut through each budget's cap, which remembers the wish: a budget whose limit rises later
    // (the thread budget's) can grant it then.
    let left = start;
    for (const b of this.budgets) left = b.cap(this, 0, left, this.stats.now);
    return Math.max(1, left);
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
    let delta = 0;
    try {
      // `onTick` is optional; read inside the try, as a getter may throw.
      const tick = this.strategy.onTick;
      if (typeof tick === "function") delta = tick.call(this.strategy, this.stats);
    } catch (error) {
      this.hooks.fault(error);
      delta = 0;
    }
    if (delta !== 0) this.apply(delta, "tick");
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
    if (to > from) to = this.#capped(from, to);
    if (to === from) return from;
    // The reason is this decision's, read before anything else can decide.
    let why: string | undefined;
    try {
      why = this.strategy.lastReason;
    } catch (error) {
      this.hooks.fault(error);
    }
    return this.resizeTo(to, why ? `${source}: ${why}` : source);
  }

  /** Resizes the pool toward `target` and reports the change, if there was one; returns the count after. */
  resizeTo(target: number, reason: string): number {
    const from = this.pool.activeWorkers;
    const to = this.pool.resize(target);
    if (to !== from) this.hooks.scaled({ stage: this.stage, from, to, reason });
    return to;
  }

  /**
   * Grows the pool back toward a target it was held below (a retiring worker still held an item,
   * a failed factory was backing off), within what the budget allows now.
   */
  regrow(target: number, reason: string): number {
    const from = this.pool.activeWorkers;
    let to = target > from ? this.#capped(from, target) : target;
    if (to === 0 && this.pool.hasWork) to = 1; // the budget keeps one worker for every live stage
    return to === from ? from : this.resizeTo(to, reason);
  }

  /** A worker left on its own (not retired by a decision): the count dropped by one. */
  exited(reason: string): void {
    const to = this.pool.activeWorkers;
    this.hooks.scaled({ stage: this.stage, from: to + 1, to, reason: `exit: ${reason}` });
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
    return this.resizeTo(Math.max(this.floor, Math.min(target, this.max)), reason);
  }

  /** Growth from `from` toward `to`, cut to what every budget allows. */
  #capped(from: number, to: number): number {
    for (const b of this.budgets) to = b.cap(this, from, to, this.stats.now);
    return to;
  }

  #liveness(): void {
    const pool = this.pool;
    if (!pool.hasWork || pool.activeWorkers > 0) return;
    this.resizeTo(1, "liveness: items wait and no worker runs");
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
