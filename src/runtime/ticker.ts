import type { EventEmitter } from "eventemitter3";
import type { Clock, TimeCache } from "../clock/clock.js";
import type { FlowEvents } from "../model/events.js";
import type { FlowStats } from "../stats/stage-stats.js";
import type { WorkerBudget } from "./scaling/worker-budget.js";
import type { Stage } from "./stage/stage.js";

/** What the tick reads of its run. */
export interface TickedRun {
  readonly clock: Clock;
  readonly cache: TimeCache;
  readonly stages: readonly Stage[];
  readonly stopping: boolean;
  stats(): FlowStats;
}

/**
 * A run's periodic work, every `tickMs`: each stage's stats window moves on and its controller
 * looks again, the worker budget rebalances, and every `statsIntervalMs` a `stats` event goes out
 * (built only when someone listens). The timer is unref'd: the tick never keeps a process alive.
 */
export class Ticker {
  #timer: unknown = null;
  #nextStatsAt: number;
  #stopped = false;

  constructor(
    private readonly run: TickedRun,
    private readonly tickMs: number,
    private readonly statsIntervalMs: number,
    private readonly budgets: readonly WorkerBudget[],
    private readonly events: EventEmitter<FlowEvents>,
  ) {
    this.#nextStatsAt = run.cache.t + statsIntervalMs;
  }

  start(): void {
    const handle = this.run.clock.setTimeout(this.#tick, this.tickMs);
    (handle as { unref?: () => void } | null)?.unref?.();
    this.#timer = handle;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.run.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  readonly #tick = (): void => {
    if (this.#stopped) return;
    const run = this.run;
    const now = run.cache.read();
    for (const stage of run.stages) {
      stage.metrics.tick(now);
      stage.calls.tick?.();
      if (!run.stopping && !stage.done) stage.controller.onTick();
    }
    if (!run.stopping) for (const b of this.budgets) b.rebalance(now);
    if (now >= this.#nextStatsAt) {
      this.#nextStatsAt = now + this.statsIntervalMs;
      if (this.events.listenerCount("stats") > 0) this.events.emit("stats", run.stats());
    }
    if (!this.#stopped) this.start();
  };
}
