import type { StageStats } from "../stats/stage-stats.js";
import type { ResolvedPolicy } from "./policy-options.js";
import { BlockedGuard } from "./blocked-guard.js";
import { CENSORED, leastKnown, queueFill } from "./knee/knee-estimate.js";
import { KneeGuard } from "./knee/knee-guard.js";
import { OverloadGuard } from "./overload-guard.js";
import { SlowStart, SlowStartMove } from "./knee/slow-start.js";
import type { ScalingStrategy } from "./scaling-strategy.js";

/** Item events between two evaluations on the hot path (a power of two). */
const EVENTS_PER_EVALUATION = 16;
/** Item events never evaluate more often than this; the tick always does. */
const MIN_EVENT_GAP_MS = 10;
/** Events that came too soon before the first tick and let the 4th event after them look again. */
const EARLY_RETRIES = 512;
/** Rates are measured over this window, from the tick's counter samples. */
const RATE_WINDOW_MS = 1000;
/** Counter samples kept for the rate window (one per tick, at ticks ≥ 40 ms). */
const SAMPLES = 32;
/** Width of a down-stabilization bucket. */
const BUCKET_MS = 100;
/** The unloaded processing time is the least measured within one to two of these. */
const BASE_WINDOW_MS = 30_000;
/** Timed calls a mean for the unloaded processing time is taken over. */
const BASE_BLOCK = 128;
/** And over at least this long: a stage timing many calls a second takes few blocks, each exact. */
const BASE_BLOCK_MS = 1000;
/** Processing time assumed before any item was timed. */
const UNKNOWN_S_MS = 10;

/** Short-window rates the layer measures from the counters in `StageStats`. */
export interface Rates {
  /** Arrivals per second over the last second. */
  readonly arrival: number;
  /** Completions per second over the same window. */
  readonly completion: number;
}

/**
 * The policy layer every built-in adaptive strategy goes through. A subclass says how many
 * workers it would like (`recommend`, fractional is fine); the layer turns that into a change:
 *
 * 1. evaluation on the tick and on every 16th item event (at most every 10 ms; 1 ms before the
 *    first tick, with a bounded early retry); on every item event while slow start runs or the
 *    queue fills;
 * 2. the blocked guard (`BlockedGuard`): once ≥ 1 worker waits on a full downstream queue on
 *    average past a spell's first 500 ms, the count is capped at busy + 1, at once;
 * 3. slow start (`SlowStart`, `slowStart`): while the source is blocked on a full queue,
 *    the pool doubles (or quadruples) per measured round until throughput per worker falls;
 * 4. the knee guard (`KneeGuard`): growth made under a backlog that demand exceeds is an
 *    experiment, kept only if throughput rose with it beyond the measured noise; growth it cannot
 *    test stops at the latency brake (twice the count unloaded calls need for the throughput);
 * 5. bursts (`idleShrinkMs`): idle that long → `minWorkers` at once; items back → the count the
 *    last busy spell's arrivals needed, at once;
 * 6. a tolerance band (changes under `tolerance` of the count are ignored);
 * 7. asymmetric stabilization: up at once, down only to the highest count recommended within
 *    `downStabilizationMs`;
 * 8. a growth limit of max(+`maxGrowthPercent`%, +`maxGrowthWorkers`) per `growthPeriodMs` (+25 %
 *    per step for a while after a knee was found, or after growth slowed every call);
 * 9. `cooldownMs` and `dampening`, for compatibility with `UtilizationScaling` settings.
 *
 * Reasons are built only when the count changes, so an evaluation costs a few comparisons.
 */
export abstract class PolicyScaling implements ScalingStrategy {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  lastReason = "";
  /** The layer's settings, every default filled in. */
  readonly policy: ResolvedPolicy;
  /** The options the strategy was made with, as given (what `clone()` passes on). */
  readonly options: Readonly<object>;
  /**
   * Set by `recommend` to apply this recommendation as is, past the tolerance band and the down
   * window (a multiplicative decrease must not wait five seconds).
   */
  protected force = false;

  #events = 0;
  #lastEvalAt = Number.NEGATIVE_INFINITY;
  #ticked = false;
  #earlyRetries = EARLY_RETRIES;
  #lastChangeAt = Number.NEGATIVE_INFINITY;
  // Counter samples for the rate window: time, received, processed (a ring).
  readonly #sampleT = new Float64Array(SAMPLES).fill(Number.NaN);
  readonly #sampleIn = new Float64Array(SAMPLES);
  readonly #sampleOut = new Float64Array(SAMPLES);
  #sampleNext = 0;
  // Down stabilization: the highest recommendation per bucket (a ring).
  readonly #bucketMax: Float64Array;
  readonly #bucketId: Float64Array;
  // Growth limit.
  #growthBase = 0;
  #growthFrom = Number.NEGATIVE_INFINITY;
  readonly #blocked = new BlockedGuard();
  readonly #overload: OverloadGuard | null;
  // Burst memory: when the stage went quiet, and the busiest arrival rate of the last busy spell.
  #idleSince: number | null = null;
  #spellRate = 0;
  #spellS = 0;
  // The unloaded processing time: the least of the current and the previous window (Envoy's minRTT).
  #baseS = 0;
  #baseSPrev = 0;
  #baseFrom = Number.NEGATIVE_INFINITY;
  #blockTimed = 0;
  /** The block of timed calls under way: since when (NaN: none yet), and the counters then. */
  #blockAt = Number.NaN;
  #blockMs = 0;
  readonly #knee: KneeGuard | null;
  readonly #slowStart: SlowStart | null;

  constructor(policy: ResolvedPolicy, options: object) {
    this.policy = policy;
    this.options = Object.freeze({ ...options });
    this.minWorkers = policy.minWorkers;
    this.maxWorkers = policy.maxWorkers;
    const buckets = Math.max(1, Math.ceil(policy.downStabilizationMs / BUCKET_MS) + 1);
    this.#bucketMax = new Float64Array(buckets);
    this.#bucketId = new Float64Array(buckets).fill(Number.NaN);
    this.#knee = policy.kneeGuard ? new KneeGuard(policy.kneeEta, policy.kneeHoldMs, policy.slowStart) : null;
    this.#slowStart = policy.slowStart ? new SlowStart() : null;
    this.#overload =
      policy.overloadDecrease < 1
        ? new OverloadGuard(policy.overloadDecrease, policy.minWorkers, policy.kneeHoldMs)
        : null;
  }

  /** The worker count this strategy would like, from the stats; fractional counts are rounded up. */
  protected abstract recommend(stats: StageStats, workers: number, rates: Rates): number;

  /** The reason in words for the last recommendation; called only when the count changes. */
  protected abstract explain(target: number): string;

  /** A fresh instance of the same class with the same options and none of the state. */
  clone(): this {
    return new (this.constructor as new (options: object) => this)(this.options);
  }

  initialWorkers(): number {
    return this.policy.initialWorkers;
  }

  onEnqueue(stats: StageStats): number {
    if ((++this.#events & (EVENTS_PER_EVALUATION - 1)) !== 0 && !this.#slowStart?.eager) return 0;
    return this.#evaluate(stats, false);
  }

  onDequeue(stats: StageStats): number {
    if ((++this.#events & (EVENTS_PER_EVALUATION - 1)) !== 0 && !this.#slowStart?.eager) return 0;
    return this.#evaluate(stats, false);
  }

  onTick(stats: StageStats): number {
    return this.#evaluate(stats, true);
  }

  /** The processing time to plan with: the measured mean, or 10 ms before any item was timed. */
  protected serviceMs(stats: StageStats): number {
    return stats.processingTimeMs > 0 ? stats.processingTimeMs : UNKNOWN_S_MS;
  }

  /**
   * Whether items pile up: more queued than workers, the oldest older than S — or the queue half full
   * with no worker idle (a pool larger than its queue went untested: 64 → 256 workers at 40 slots).
   */
  protected backlogged(stats: StageStats, workers: number): boolean {
    return (
      (stats.queueLength > workers && stats.oldestItemAgeMs > this.serviceMs(stats)) ||
      (queueFill(stats) >= CENSORED && stats.idleWorkers === 0)
    );
  }

  #rates(stats: StageStats, now: number, tick: boolean): Rates {
    const t = this.#sampleT;
    // The newest sample at least a window old, else the oldest there is.
    const best = this.#sampleBefore(now, RATE_WINDOW_MS);
    let rates: Rates = { arrival: stats.arrivalRate, completion: stats.throughput };
    if (best >= 0) {
      const dt = (now - t[best]!) / 1000;
      rates = {
        arrival: (stats.received - this.#sampleIn[best]!) / dt,
        completion: (stats.processed - this.#sampleOut[best]!) / dt,
      };
    }
    if (tick) {
      if (now - this.#baseFrom >= BASE_WINDOW_MS) {
        this.#baseFrom = now;
        this.#baseSPrev = this.#baseS;
        this.#baseS = 0;
      }
      // The least mean of blocks of BASE_BLOCK timed calls: the least of noisy means is low by
      // one and a half times their noise, so each mean is taken over enough calls to make it small
      // (the knee guard raises a knee sized from it by about as much).
      const timed = stats.timedItems - this.#blockTimed;
      const first = Number.isNaN(this.#blockAt);
      if (first || (timed >= BASE_BLOCK && now - this.#blockAt >= BASE_BLOCK_MS)) {
        const mean = (stats.timedMs - this.#blockMs) / timed;
        if (!first && (this.#baseS === 0 || mean < this.#baseS)) this.#baseS = mean;
        this.#blockAt = now;
        this.#blockTimed = stats.timedItems;
        this.#blockMs = stats.timedMs;
      }
      const i = this.#sampleNext;
      t[i] = now;
      this.#sampleIn[i] = stats.received;
      this.#sampleOut[i] = stats.processed;
      this.#sampleNext = (i + 1) % SAMPLES;
    }
    return rates;
  }

  #evaluate(stats: StageStats, tick: boolean): number {
    const now = stats.now;
    // Before the first tick item events look 1 ms apart, not 10, and one that came too soon lets
    // the 4th event after it look again, not the 16th (for the first EARLY_RETRIES): a job queued
    // at once arrives within a few ms, and the next 16 events at the pool it started with may be
    // far apart.
    if (tick) this.#ticked = true;
    else if (now - this.#lastEvalAt < (this.#slowStart?.active || !this.#ticked ? 1 : MIN_EVENT_GAP_MS)) {
      if (!this.#ticked && this.#earlyRetries > 0) {
        this.#earlyRetries--;
        this.#events |= EVENTS_PER_EVALUATION - 4;
      }
      return 0;
    }
    this.#lastEvalAt = now;
    const p = this.policy;
    const n = stats.activeWorkers;
    const s = this.serviceMs(stats);
    const knee = this.#knee;
    knee?.observe(stats, n, s, now);
    const rates = this.#rates(stats, now, tick);
    this.force = false;
    let desired = this.recommend(stats, n, rates);
    let why: string | null = null;
    let forced = this.force;

    let resumed = false;
    // Bursts: idle for idleShrinkMs → the minimum at once; items back → the last spell's count.
    if (p.idleShrinkMs > 0) {
      const quiet =
        stats.queueLength === 0 &&
        stats.busyWorkers === 0 &&
        stats.retryingWorkers === 0 &&
        stats.rateLimitedWorkers === 0 &&
        stats.blockedWorkers === 0;
      if (!quiet) {
        if (this.#idleSince !== null && now - this.#idleSince >= p.idleShrinkMs && this.#spellRate > 0) {
          // Back from idle: what the last busy spell's arrivals needed, by Little's law.
          const r = (this.#spellRate * this.#spellS) / 1000;
          const back = Math.ceil(r + Math.sqrt(r));
          if (back > n) {
            desired = Math.max(desired, back);
            forced = true;
            resumed = true;
            why = `items back after idle: the last spell's ${Math.round(this.#spellRate)}/s needed ${back} workers`;
          }
          this.#spellRate = 0;
        }
        this.#idleSince = null;
        if (tick && rates.arrival > this.#spellRate) {
          this.#spellRate = rates.arrival;
          this.#spellS = s;
        }
      } else {
        this.#idleSince ??= now;
        if (now - this.#idleSince >= p.idleShrinkMs && rates.arrival * s < 1000 * 0.1 && n > p.minWorkers) {
          desired = p.minWorkers;
          forced = true;
          why = `idle for ${((now - this.#idleSince) / 1000).toFixed(1)} s`;
        }
      }
    }

    const blocked = this.#blocked;
    blocked.observe(stats, s, now);
    if (p.blockedGuard) {
      desired = blocked.limit(desired, stats, n, now, p.tolerance);
      if (blocked.why !== null) why = blocked.why;
      forced ||= blocked.forced;
    }

    // Workers waiting for a rate-limit token hold an item each and are no demand: the rate, not
    // the pool, is the limit. One spare worker is enough to take a token the moment it comes.
    const limited = stats.rateLimitedWorkers;
    if (limited > 0 && desired > n - limited + 1) {
      desired = n - limited + 1;
      why = `${limited} worker${limited === 1 ? "" : "s"} waiting for rate-limit tokens`;
    }

    // Slow start: while demand is censored, it decides growth (and may find the knee).
    const ss = this.#slowStart;
    let move: SlowStartMove = SlowStartMove.Off;
    if (ss !== null) {
      // Workers blocked downstream lately or waiting for tokens: the limit is elsewhere; slow start
      // ends (and starts afresh later, not in a round left over from before).
      const elsewhere = blocked.lately || blocked.engaged || limited > 0;
      move = ss.step(stats, n, s, p.maxWorkers, knee?.held(now) ?? false, this.#unloadedS(), elsewhere);
      if (move === SlowStartMove.Cut) {
        desired = ss.target;
        why = ss.why;
        forced = true;
        knee?.hold(ss.target, now, ss.cutFromX, ss.cutFromN, ss.cutUnloadedS, ss.cutUnloadedCv);
      } else if (move === SlowStartMove.Grow || move === SlowStartMove.Recheck) {
        // (A recheck steps down for a second look at a round that fell short, at once.)
        desired = ss.target;
        why = ss.why;
        forced = true;
      } else if (move === SlowStartMove.Hold) {
        // A round is being measured at this count: neither grow nor shrink under it.
        desired = n;
        forced = true;
      }
    }

    if (knee !== null && move === SlowStartMove.Off && !resumed) {
      const backlogged = n > 0 && this.backlogged(stats, n);
      desired = knee.limit(desired, n, s, now, backlogged, this.#unloadedS(), rates.arrival);
      if (knee.why !== null) why = knee.why;
      if (knee.forced) ss?.spend();
      forced ||= knee.forced;
    }

    const overload = this.#overload;
    if (overload !== null) {
      desired = overload.limit(desired, stats, n, s, now);
      if (overload.why !== null) why = overload.why;
      if (overload.cut) ss?.spend();
      forced ||= overload.forced;
    }

    let target = Math.min(Math.max(Math.ceil(desired - 1e-9), p.minWorkers), p.maxWorkers);
    if (forced) this.#stabilize(target, n, now);
    else {
      if (target !== n && n > 0 && Math.abs(desired - n) <= p.tolerance * n) target = n;
      target = this.#stabilize(target, n, now);
      if (target > n) {
        if (now - this.#growthFrom >= p.growthPeriodMs) {
          this.#growthFrom = now;
          this.#growthBase = n;
        }
        const base = this.#growthBase;
        let cap = Math.max(Math.ceil(base * (1 + p.maxGrowthPercent / 100)), base + p.maxGrowthWorkers);
        // The workers measured arrivals keep busy (λ·S) are demand seen, not a guess: no limit
        // holds growth below them (a burst from an idle pool would otherwise queue for a ramp) —
        // but a knee found lately: calls queued behind it are slow, and λ·S restates the pool.
        if (this.#slowStart !== null) cap = Math.max(cap, Math.ceil((rates.arrival * s) / 1000 - 1e-9));
        if (knee !== null) cap = knee.growthCap(n, cap);
        target = Math.max(n, Math.min(target, cap));
      }
    }
    if (target === n) return 0;
    if (now - this.#lastChangeAt < p.cooldownMs) return 0;
    let delta = target - n;
    if (p.dampening < 1) delta = Math.sign(delta) * Math.max(1, Math.floor(Math.abs(delta) * p.dampening));
    if (delta > 0) knee?.grew();
    this.#lastChangeAt = now;
    this.lastReason = why ?? this.explain(n + delta);
    return delta;
  }

  // The least processing time measured lately: what a call costs when nothing queues behind it.
  #unloadedS(): number {
    return leastKnown(this.#baseS, this.#baseSPrev);
  }

  // The newest counter sample at least `age` ms old; failing that the oldest one before `now`; -1 if none.
  #sampleBefore(now: number, age: number): number {
    const t = this.#sampleT;
    let best = -1;
    let oldest = -1;
    for (let i = 0; i < SAMPLES; i++) {
      const ti = t[i]!;
      if (Number.isNaN(ti) || ti >= now) continue;
      if (now - ti >= age) {
        if (best < 0 || ti > t[best]!) best = i;
      } else if (oldest < 0 || ti < t[oldest]!) oldest = i;
    }
    return best >= 0 ? best : oldest;
  }

  // Records the recommendation; a shrink goes only as low as the highest one in the window.
  #stabilize(target: number, n: number, now: number): number {
    const id = Math.floor(now / BUCKET_MS);
    const ids = this.#bucketId;
    const max = this.#bucketMax;
    const slot = id % ids.length;
    if (ids[slot] !== id) {
      ids[slot] = id;
      max[slot] = target;
    } else if (target > max[slot]!) max[slot] = target;
    if (target >= n) return target;
    const oldest = id - ids.length + 1;
    let highest = target;
    for (let i = 0; i < ids.length; i++) if (ids[i]! >= oldest && max[i]! > highest) highest = max[i]!;
    return Math.min(n, highest);
  }
}
