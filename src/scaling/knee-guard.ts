import type { StageStats } from "../stats/stage-stats.js";

/** Counts measured under a backlog that the knee estimate may draw on. */
const HISTORY = 16;

/**
 * The knee guard of the policy layer: it treats growth made while a backlog exists as an
 * experiment and undoes growth that did not raise throughput.
 *
 * It measures throughput at each worker count once the workers are ready and settled (after
 * max(2·S, 20 ms), over max(5·S, 100 ms)). Growth N0 → N1 from a count measured under a steady
 * backlog — made by the strategy or by the flow's worker budget — becomes a probe; when N1 is
 * measured, the growth stays only if X1/X0 − 1 ≥ η·(N1/N0 − 1). Otherwise the count drops at once
 * to the fewest workers measured to give ≥ 95 % of the best throughput seen (the knee) and stays
 * capped there for `holdMs`; then one +25 % step probes again. A probe whose throughput fell by
 * more than 10 % (the world changed, not us) or whose backlog emptied is not a failure.
 */
export class KneeGuard {
  /** Set by `limit` when it changed the recommendation: why, in words. */
  why: string | null = null;
  /** Set by `limit` when its answer must be applied at once (a knee cut). */
  forced = false;

  // Measurement of the current count.
  #n = -1;
  #changedAt = 0;
  #markAt = -1;
  #markOut = 0;
  #markS = 0;
  #drained = false;
  #x = 0;
  #measured = false;
  // The probe: growth from n0 (throughput x0) to n1; n1 = -1 when none is pending.
  #n0 = 0;
  #x0 = 0;
  #n1 = -1;
  // Whether the current count has a throughput measured under a steady backlog.
  #testable = false;
  #ceiling = Number.POSITIVE_INFINITY;
  #ceilingUntil = 0;
  #reprobe = false;
  readonly #history: [workers: number, x: number, at: number][] = [];
  #historyN = -1;

  constructor(
    readonly eta: number,
    readonly holdMs: number,
  ) {}

  /** Follows the worker count and measures throughput at it; called on every evaluation. */
  observe(stats: StageStats, n: number, s: number, now: number): void {
    if (n !== this.#n) {
      // Growth from a count measured under a backlog is tested, whoever made it.
      if (n > this.#n && this.#n > 0 && this.#testable && this.#n1 < 0) {
        this.#n0 = this.#n;
        this.#x0 = this.#x;
        this.#n1 = n;
      } else if (n !== this.#n1) this.#n1 = -1;
      this.#testable = false;
      this.#n = n;
      this.#changedAt = now;
      this.#markAt = -1;
    }
    if (this.#markAt < 0) {
      if (stats.startingWorkers === 0 && now - this.#changedAt >= Math.max(2 * s, 20)) {
        this.#markAt = now;
        this.#markOut = stats.processed;
        this.#markS = s;
        this.#drained = false;
      }
    } else if (stats.queueLength === 0) this.#drained = true;
    this.#measured = this.#markAt >= 0 && now - this.#markAt >= Math.max(5 * s, 100);
    this.#x = this.#measured ? ((stats.processed - this.#markOut) * 1000) / (now - this.#markAt) : 0;
  }

  /**
   * Caps a recommendation: at the knee while one holds, at the current count while a probe or
   * the measurement that growth needs is pending, and at the knee at once when a probe fails.
   * `steadyS` says whether the processing time held still lately (a growth is tested only then).
   */
  limit(desired: number, n: number, s: number, now: number, backlogged: boolean, steadyS: boolean): number {
    this.why = null;
    this.forced = false;
    if (this.#ceiling !== Number.POSITIVE_INFINITY) {
      if (now >= this.#ceilingUntil) {
        this.#ceiling = Number.POSITIVE_INFINITY;
        this.#reprobe = true;
        this.#history.length = 0;
        this.#historyN = -1;
      } else if (desired > this.#ceiling) {
        desired = this.#ceiling;
        this.why = `held at the knee, ${this.#ceiling} workers`;
      }
    }
    const measured = this.#measured;
    const x = this.#x;
    if (measured && backlogged && !this.#drained && n !== this.#historyN) this.#remember(n, x, now);
    if (this.#n1 === n && n > 0) {
      if (!measured) desired = Math.min(desired, n);
      else {
        this.#n1 = -1;
        const gain = x / this.#x0 - 1;
        const need = this.eta * (n / this.#n0 - 1);
        if (!this.#drained && x >= 0.9 * this.#x0 && gain < need) {
          const knee = Math.min(n - 1, this.#knee(x));
          this.#ceiling = knee;
          this.#ceilingUntil = now + this.holdMs;
          this.forced = true;
          this.why = `knee: ${this.#n0} → ${n} workers moved throughput ${Math.round(this.#x0)} → ${Math.round(
            x,
          )}/s (needed +${Math.round(need * 100)}%); holding at ${knee}`;
          return knee;
        }
      }
    }
    const steady = backlogged && steadyS && Math.abs(s - this.#markS) <= 0.25 * this.#markS;
    this.#testable = measured && steady && !this.#drained && x > 0 && this.#n1 < 0;
    // Measure the current count before growing from it, so that the growth can be tested.
    if (this.#n1 < 0 && desired > n && steady && !measured) desired = n;
    return desired;
  }

  /** The growth cap: the first growth past an expired knee is a +25 % re-probe, not a ramp. */
  growthCap(n: number, cap: number): number {
    return this.#reprobe ? Math.min(cap, Math.max(n + 1, Math.ceil(n * 1.25))) : cap;
  }

  /** The count grew. */
  grew(): void {
    this.#reprobe = false;
  }

  #remember(n: number, x: number, now: number): void {
    this.#historyN = n;
    const h = this.#history;
    while (h.length > 0 && now - h[0]![2] > this.holdMs) h.shift();
    h.push([n, x, now]);
    if (h.length > HISTORY) h.shift();
  }

  // The fewest workers measured to deliver (nearly) the best throughput seen: the knee.
  #knee(x: number): number {
    const h = this.#history;
    let best = Math.max(x, this.#x0);
    for (const [, xi] of h) if (xi > best) best = xi;
    let knee = this.#x0 >= 0.95 * best ? this.#n0 : Number.POSITIVE_INFINITY;
    for (const [ni, xi] of h) if (xi >= 0.95 * best && ni < knee) knee = ni;
    return knee === Number.POSITIVE_INFINITY ? this.#n0 : knee;
  }
}
