import type { StageStats } from "../stats/stage-stats.js";

/** No worker blocked for this long (and 3·S): the next stage has room. */
const CLEAR_MS = 250;
/** A spell of blocked workers shorter than this is waited out: the next stage may be growing. */
const WAIT_MS = 500;

/**
 * The blocked guard of the policy layer. Workers blocked on a full downstream queue are pure cost:
 * once one is blocked on average (and until fewer than half are), the count is capped at the busy
 * count + 1, at once. A spell of blocked workers (one ends once none was blocked for max(3·S,
 * 250 ms)) is waited out for its first 500 ms with the count held: a next stage still growing. (Cut
 * at once, a two-stage job's first stage fell from 64 to 2 while the consumer below ramped up in
 * 150 ms; the 1 s average then took 2.5 s to forget its 55 blocked workers, and the consumer, starved,
 * read a knee.) Slow start reads `lately`, not that average, for the same reason.
 */
export class BlockedGuard {
  /** Whether a worker was blocked lately (the limit is then downstream: slow start ends). */
  lately = false;
  /** Set by `limit` when it changed the recommendation: why, in words. */
  why: string | null = null;
  /** Set by `limit` when its answer must be applied at once. */
  forced = false;

  #engaged = false;
  #at = Number.NEGATIVE_INFINITY;
  #since = 0;

  /** Follows the blocked workers; `s` is the processing time to plan with (ms). */
  observe(stats: StageStats, s: number, now: number): void {
    const clear = Math.max(3 * s, CLEAR_MS);
    if (stats.blockedWorkers > 0) {
      if (now - this.#at >= clear) this.#since = now;
      this.#at = now;
    }
    this.lately = now - this.#at < clear;
  }

  /**
   * Whether it caps the count now. Slow start reads it with `lately`: a cut stage whose workers
   * no longer block (the next stage has room again) still has its limit downstream — slow start
   * from the cut ran a 2 ms stage 2 → 128 in 15 ms, and the guard cut it to 3 again.
   */
  get engaged(): boolean {
    return this.#engaged;
  }

  /** Caps a recommendation for count `n`; `tolerance` is the layer's band. */
  limit(desired: number, stats: StageStats, n: number, now: number, tolerance: number): number {
    this.why = null;
    this.forced = false;
    const avg = stats.avgBlockedWorkers;
    // Hysteresis: it engages at one blocked worker on average, after the spell's first WAIT_MS, and
    // lets go below half (at the cap a stage rarely blocks: letting go on that flapped, S8).
    this.#engaged = this.#engaged ? avg >= 0.5 : this.lately && avg >= 1 && now - this.#since >= WAIT_MS;
    if (!this.#engaged) return this.lately ? Math.min(desired, n) : desired;
    const busy = stats.avgBusyWorkers;
    const cap = busy + 1;
    if (desired <= cap) return desired;
    this.forced = n > cap * (1 + tolerance);
    this.why = `${avg.toFixed(1)} workers blocked on a full downstream queue; ${busy.toFixed(1)} busy`;
    return cap;
  }
}
