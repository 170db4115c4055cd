import type { StageStats } from "../../stats/stage-stats.js";
import { callCv, meanNoise } from "./knee-estimate.js";

/** Completions a measurement window waits for: enough for a rate within about a tenth. */
const MIN_DONE = 100;
/** The least relative noise a step's effect is judged against. */
export const NOISE_FLOOR = 0.05;

/**
 * The knee guard's measurement of one worker count, in back-to-back windows (so the reference never
 * goes stale while the count holds). The first begins once the workers are ready and settled (after
 * max(2·S, 20 ms)); each lasts max(5·S, 100 ms) and 100 completions (or 20·S when they come slowly).
 * Each gives the throughput and its noise, the mean call time and that mean's noise, and the calls' CV.
 */
export class KneeWindow {
  /** Throughput of the last whole window, per second (0: none yet), and whether the queue emptied in it. */
  x = 0;
  drained = false;
  /** Whether a whole window was measured at this count. */
  measured = false;
  /** The larger of what two windows differed by (relative) and what the count allows (1/√k), at least 5 %. */
  noise = NOISE_FLOOR;
  /** Mean processing time of the last whole window, and of the one before (ms; 0: none). */
  s = 0;
  sPrev = 0;
  /** The relative noise of the last window's mean processing time, and the CV of its calls (1: unknown). */
  sNoise = 1;
  cv = 1;
  /** Whether the queue grew over the last whole window. */
  grewQ = false;
  /**
   * Whether a worker was seen blocked on a full downstream queue in the last whole window: its
   * throughput is then the next stage's, not this one's, and says nothing of this stage's knee.
   */
  blocked = false;
  #changedAt = 0;
  #markAt = -1;
  #markOut = 0;
  #markTimed = 0;
  #markTimedMs = 0;
  #markTimedSq = 0;
  #markQ = 0;
  #emptied = false;
  #blocked = false;

  /**
   * The last window's throughput by Little's law with `n` workers busy (X = N / S, per second),
   * where the mean call time is the closer reading (its noise below the count's); 0 where it is not.
   */
  littleX(n: number): number {
    return this.s > 0 && this.sNoise < this.noise ? (n * 1000) / this.s : 0;
  }

  /** Starts over at a new count. */
  restart(now: number): void {
    this.#changedAt = now;
    this.#markAt = -1;
    this.measured = false;
    this.x = 0;
    this.s = 0;
    this.sPrev = 0;
    this.noise = NOISE_FLOOR;
    this.blocked = false;
  }

  /** One evaluation (`s`: the processing time to plan with, ms); whether a window closed in it. */
  observe(stats: StageStats, s: number, now: number): boolean {
    if (this.#markAt < 0) {
      // Workers still starting are capacity on its way: the window waits for them.
      if (stats.startingWorkers === 0 && now - this.#changedAt >= Math.max(2 * s, 20)) this.#mark(stats, now);
      return false;
    }
    if (stats.queueLength === 0) this.#emptied = true;
    if (stats.blockedWorkers > 0) this.#blocked = true;
    const span = now - this.#markAt;
    if (span < Math.max(5 * s, 100)) return false;
    const done = stats.processed - this.#markOut;
    // A window counts enough completions for a rate within about a tenth (or lasts 20 S).
    if (done < MIN_DONE && span < 20 * Math.max(s, 1)) return false;
    const x = (done * 1000) / span;
    const apart = this.measured ? Math.abs(x - this.x) / Math.max(x, this.x, 1e-9) : 0;
    this.noise = Math.max(NOISE_FLOOR, 1 / Math.sqrt(Math.max(done, 1)), apart);
    const timed = stats.timedItems - this.#markTimed;
    const sum = stats.timedMs - this.#markTimedMs;
    const sumSq = stats.timedMsSquared - this.#markTimedSq;
    this.sPrev = this.s;
    if (timed > 0) this.s = sum / timed;
    this.sNoise = meanNoise(timed, sum, sumSq);
    this.cv = callCv(timed, sum, sumSq);
    this.grewQ = stats.queueLength > this.#markQ + Math.max(2, 0.02 * done);
    this.x = x;
    this.drained = this.#emptied;
    this.blocked = this.#blocked;
    this.measured = true;
    this.#mark(stats, now);
    return true;
  }

  #mark(stats: StageStats, now: number): void {
    this.#markAt = now;
    this.#markOut = stats.processed;
    this.#markTimed = stats.timedItems;
    this.#markTimedMs = stats.timedMs;
    this.#markTimedSq = stats.timedMsSquared;
    this.#markQ = stats.queueLength;
    this.#emptied = false;
    this.#blocked = stats.blockedWorkers > 0;
  }
}
