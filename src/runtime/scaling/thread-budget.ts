import { type BudgetMember, WorkerBudget } from "./worker-budget.js";

/** What the thread budget reads of a threaded stage. */
export interface ThreadedStage {
  readonly metrics: { readonly threads: number; readonly threadUtilization: number | null };
}

/** Time constant of the smoothed readings (process CPU, threads' utilization), in ms. */
const TAU_MS = 500;
/**
 * Threads this busy (their mean event-loop utilization) are taken to want cores. Low, because
 * threads that outnumber the cores also wait for the starved event loop between calls (20 threads
 * on 2 cores read 0.3–0.6), while threads that wait on I/O read a few percent.
 */
const BUSY = 0.2;
/** How long the threads must read as waiting before the budget lets them past the cores. */
const IDLE_TO_LIFT_MS = 1000;

/**
 * The threads every threaded stage shares (`maxThreads`). Node 20 reports the machine's cores,
 * not a container's CPU quota, so the budget also watches what the threads get: unless they have
 * read as waiting (mean event-loop utilization under {@link BUSY}) for a second, it holds them at
 * one thread more than the cores the process is measured to use (its CPU time over wall time).
 * More threads than that only take turns on the same cores and starve the event loop; threads
 * that wait (async work in the thread) are let past. Before the first reading, growth is held at
 * one thread more than the threaded stages (a start that doubles its way up would otherwise pass
 * the cores before a tick could see them); the workers a strategy starts with are not.
 */
export class ThreadBudget extends WorkerBudget {
  #cpu = process.cpuUsage();
  #at = performance.now();
  /** Cores in use, smoothed; -1 before the first reading. */
  #cores = -1;
  #busy = -1;
  #idleMs = 0;
  #held: number;
  /** Set while a stage's initial workers are cut: they answer to `maxThreads` alone. */
  #starting = false;

  constructor(
    asked: number,
    private readonly stages: readonly ThreadedStage[],
  ) {
    super(asked, "maxThreads");
    this.#held = Math.min(asked, stages.length + 1);
  }

  override get limit(): number {
    return this.#starting ? this.asked : this.#held;
  }

  override cap(controller: BudgetMember, from: number, to: number, now: number): number {
    if (from !== 0) return super.cap(controller, from, to, now);
    this.#starting = true;
    try {
      return super.cap(controller, from, to, now);
    } finally {
      this.#starting = false;
    }
  }

  override rebalance(now: number): void {
    const before = this.#held;
    this.#sample();
    // Nothing read yet: the budget neither sheds nor moves threads on a guess.
    if (this.#busy < 0) return;
    if (this.#held > before) this.#regrow();
    super.rebalance(now);
  }

  /**
   * The limit rose: growth it cut before is granted again, one thread a stage a tick — a strategy
   * that asked once (a fixed count) does not ask again, and one that doubles is not handed all
   * of an old wish at once.
   */
  #regrow(): void {
    for (const [c, w] of this.wanted) {
      if (c.finished || w.to <= c.active || this.room(c) <= 0) continue;
      c.budgetResize(c.active + 1, `thread budget: room again (the limit is now ${this.#held})`);
      if (c.active >= w.to) this.wanted.delete(c);
    }
  }

  protected override overReason(): string {
    return `thread budget: the threads are busy and the process gets ~${this.#cores.toFixed(1)} cores`;
  }

  #sample(): void {
    const at = performance.now();
    const dt = at - this.#at;
    if (dt < 20) return;
    const cpu = process.cpuUsage(this.#cpu);
    this.#cpu = process.cpuUsage();
    this.#at = at;
    const cores = (cpu.user + cpu.system) / 1000 / dt;
    let n = 0;
    let sum = 0;
    for (const s of this.stages) {
      const u = s.metrics.threadUtilization;
      if (u === null) continue;
      n += s.metrics.threads;
      sum += u * s.metrics.threads;
    }
    const a = 1 - Math.exp(-dt / TAU_MS);
    this.#cores = this.#cores < 0 ? cores : this.#cores + a * (cores - this.#cores);
    // No thread has run yet (threads still starting): nothing to read, the limit stays.
    if (n === 0) return;
    const busy = sum / n;
    this.#busy = this.#busy < 0 ? busy : this.#busy + a * (busy - this.#busy);
    this.#idleMs = this.#busy < BUSY ? this.#idleMs + dt : 0;
    this.#held =
      this.#idleMs >= IDLE_TO_LIFT_MS
        ? this.asked
        : Math.min(this.asked, Math.max(this.stages.length, Math.floor(this.#cores + 0.5) + 1));
  }
}
