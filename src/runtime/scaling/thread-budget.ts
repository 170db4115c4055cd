import { WorkerBudget } from "./worker-budget.js";

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

/**
 * The threads every threaded stage shares (`maxThreads`, else the cores Node reports). Node 20
 * reports the machine's cores, not a container's CPU quota, so the budget also watches what the
 * threads get: while they are busy (mean event-loop utilization ≥ 0.2, see {@link BUSY}) it holds at most one
 * thread more than the cores the process is measured to use (its CPU time over wall time). More
 * threads than that only take turns on the same cores and starve the event loop; threads that
 * wait (async work in the thread) are not held.
 */
export class ThreadBudget extends WorkerBudget {
  #cpu = process.cpuUsage();
  #at = performance.now();
  /** Cores in use, smoothed; -1 before the first reading. */
  #cores = -1;
  #busy = -1;
  #held: number;

  constructor(
    asked: number,
    private readonly stages: readonly ThreadedStage[],
  ) {
    super(asked, "maxThreads");
    // Until the first reading, one thread more than the stages: a start that doubles its way up
    // would otherwise pass the cores before a tick could see them.
    this.#held = Math.min(asked, stages.length + 1);
  }

  override get limit(): number {
    return this.#held;
  }

  /** The cores the process was measured to use, smoothed (for tests and stats). */
  get coresInUse(): number {
    return Math.max(0, this.#cores);
  }

  override rebalance(now: number): void {
    this.#sample();
    super.rebalance(now);
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
    const busy = n === 0 ? 0 : sum / n;
    const a = 1 - Math.exp(-dt / TAU_MS);
    this.#cores = this.#cores < 0 ? cores : this.#cores + a * (cores - this.#cores);
    this.#busy = this.#busy < 0 ? busy : this.#busy + a * (busy - this.#busy);
    this.#held =
      this.#busy >= BUSY
        ? Math.min(this.asked, Math.max(this.stages.length, Math.floor(this.#cores + 0.5) + 1))
        : this.asked;
  }
}
