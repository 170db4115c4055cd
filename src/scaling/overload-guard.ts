import type { StageStats } from "../stats/stage-stats.js";

/** After a cut, the count may pass the count that overloaded by one worker per this long. */
const STEP_MS = 1000;
/** A ceiling is forgotten after this long without an overload. */
const MEMORY_MS = 60_000;

/**
 * The overload guard of the policy layer (AIMD with a memory, as Netflix's concurrency limits and
 * Envoy's adaptive concurrency do, without their sawtooth). Overloads are calls that failed with
 * an error the stage's `overloadOn` recognised (`StageStats.overloads`). Once per round of calls
 * (2·S, at least 100 ms) that overloaded, the count is cut at once by the excess — the calls that
 * overloaded, or the workers still waiting out a retry (a Retry-After keeps refused workers out of
 * the next rounds' count) — never below `decrease` of itself. The count then grows back one worker
 * a second to just below the count that overloaded, which is probed again only after `holdMs`;
 * the memory fades after a minute without an overload.
 */
export class OverloadGuard {
  /** Set by `limit` when it changed the recommendation: why, in words. */
  why: string | null = null;
  /** Set by `limit` when its answer must be applied at once. */
  forced = false;
  /** Set by `limit` when it cut the count (slow start then stops). */
  cut = false;

  #seen = 0;
  #ceiling = Number.POSITIVE_INFINITY;
  #riseAt = 0;
  #nextCutAt = Number.NEGATIVE_INFINITY;
  /** The count that overloaded, and when it may be tried again. */
  #overloadAt = 0;
  #probeAt = 0;

  constructor(
    readonly decrease: number,
    readonly minWorkers: number,
    readonly holdMs: number,
  ) {}

  /** Caps a recommendation for count `n`: a cut on fresh overloads, else the ceiling a cut left. */
  limit(desired: number, stats: StageStats, n: number, s: number, now: number): number {
    this.why = null;
    this.forced = false;
    this.cut = false;
    const fresh = stats.overloads - this.#seen;
    this.#seen = stats.overloads;
    if (fresh > 0 && now >= this.#nextCutAt && n > this.minWorkers) {
      const excess = Math.max(fresh, stats.retryingWorkers);
      const deepest = Math.floor(n * this.decrease);
      const cut = Math.max(this.minWorkers, Math.min(n - 1, Math.max(deepest, n - excess)));
      // The count that overloaded is the one just past the cut, unless the cut hit its floor.
      this.#overloadAt = cut > deepest ? cut + 1 : n;
      this.#ceiling = cut;
      this.#riseAt = now + STEP_MS;
      this.#probeAt = now + this.holdMs;
      // Calls that started before the cut may still fail: the next cut waits for them.
      this.#nextCutAt = now + Math.max(2 * s, 100);
      this.cut = true;
      this.forced = true;
      this.why = `${fresh} call${fresh === 1 ? "" : "s"} overloaded (overloadOn) at ${n} workers → ${cut}`;
      return cut;
    }
    if (this.#ceiling === Number.POSITIVE_INFINITY) return desired;
    const last = stats.lastOverloadAt;
    if (last === null || now - last > MEMORY_MS) {
      this.#ceiling = Number.POSITIVE_INFINITY;
      return desired;
    }
    const below = now >= this.#probeAt ? Number.POSITIVE_INFINITY : this.#overloadAt - 1;
    if (now >= this.#riseAt) {
      if (n >= this.#ceiling && this.#ceiling < below) this.#ceiling++;
      this.#riseAt = now + STEP_MS;
    }
    if (desired < this.#ceiling) return desired;
    if (n < this.#ceiling) {
      // One worker is below the tolerance band, and is the whole point of additive increase.
      this.forced = true;
      this.why = `after overload at ${this.#overloadAt}, one worker a second: ${this.#ceiling} workers`;
    }
    return this.#ceiling;
  }
}
