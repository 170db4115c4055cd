import type { StageStats } from "../../stats/stage-stats.js";
import { CENSORED, callCv, KNEE_HEADROOM, kneeEstimate, leastKnown, queueFill } from "./knee-estimate.js";

/** Below this the queue has stopped being full: demand is visible again, Little's law takes over. */
const VISIBLE = 0.25;
/** A queue this full makes the policy evaluate on every item event, so slow start sees it fill at once. */
const WATCH = 0.1;
/** A round's window counts at least this many completions (or one per worker, if fewer). */
const MIN_DONE = 64;
/** A round at least this close to the best throughput per worker quadruples the pool; else it doubles. */
const BOLD = 0.9;
/** A round whose throughput per worker fell below this share of the best is a knee (once confirmed). */
const KEEP = 0.75;
/** A backlog no arrival has added to for a call time counts as a full queue from this many items… */
const STILL_BACKLOG = 64;
/** …as a queue whose capacity is this many calls a worker (full at half of it, visible below a quarter). */
const STILL_CALLS = 16;
/** Call times a round that decides a knee (a second look, a retest) spans. */
const DECIDING = 3;
/** Calls timed in unloaded rounds that make their mean the unloaded call time. */
const POOLED = 16;
/** Calls timed in unloaded rounds that make their CV the unloaded calls' CV. */
const CV_CALLS = 8;
/** Calls a round must have timed for its reading to be held to its own call time (a worker times its first 8: two are enough to bound an over-read). */
const CLAMPED = 2;
/** A round's reading is held to this many times n workers' completions at its own mean call time. */
const PHYSICAL = 1.1;

/**
 * What {@link SlowStart.step} decided: `Off` (not running: the policy decides as usual), `Hold`
 * (a round is being measured), `Grow` (to `target`), `Cut` (a knee was confirmed: to `target`
 * at once, and slow start ends), `Recheck` (a round fell short: to `target` at once, below the
 * count that fell short, where the second look is measured; slow start goes on).
 */
export const SlowStartMove = { Off: 0, Hold: 1, Grow: 2, Cut: 3, Recheck: 4 } as const;
export type SlowStartMove = (typeof SlowStartMove)[keyof typeof SlowStartMove];

/**
 * Slow start (TCP's, for a worker pool): while the source is blocked on the stage's full queue,
 * arrivals equal completions, so λ·S only restates the pool the stage has and the backlog it can
 * see is at most the queue. Demand is censored; the only way to learn it is to try. So the pool
 * grows once per round — a round waits until every worker is ready, lets half a service time
 * pass for the newest workers' first completions, then measures throughput over one service time
 * (and at least one completion per worker, up to 64) — ×4 while the throughput per worker holds at
 * ≥ 90 % of the best measured in this slow start, ×2 at ≥ 75 %. A round below
 * that is looked at once more (a stall is not a knee), halfway back: at the geometric mean of its
 * count and the last good one, where calls past a knee wait half as long. Short there too, slow
 * start ends with a cut to the count that would deliver the measured throughput at the per-worker
 * rate of the last round that kept its growth: a dependency with 40 slots gives 4,000/s at 64
 * workers where one worker gave 100/s, so the knee is 40; a stage whose work never awaits gives
 * one worker's throughput at any count, so the knee is 1. Good there, the count that fell short is
 * measured once more, and cut from if it falls short again. Slow start ends without a cut when
 * the queue stops being full or workers block on a full downstream queue, and starts again when
 * the queue fills once more.
 */
export class SlowStart {
  /** The count of the last `Grow`, `Recheck` or `Cut`. */
  target = 0;
  /** At a cut: the most throughput a round measured, and the count it came from. */
  cutFromX = 0;
  cutFromN = 0;
  /**
   * At a cut: the time a call takes when nothing queues behind it (ms): the least of the call
   * times seen and the last good round's time a worker; the knee guard checks the cut with it.
   */
  cutUnloadedS = 0;
  /** At a cut: the CV of the calls timed in unloaded rounds (-1: fewer than {@link CV_CALLS} of them). */
  cutUnloadedCv = -1;
  /** Set with `Grow`, `Recheck` and `Cut`: why, in words. */
  why = "";

  #active = false;
  /** Ended by a knee; re-armed once the queue stops being full. */
  #spent = false;
  #roundN = -1;
  #roundAt = 0;
  #markTimed = 0;
  #markTimedMs = 0;
  #markTimedSq = 0;
  #markAt = -1;
  #markOut = 0;
  #bestE = 0;
  /** Throughput per worker of the last round that kept its growth (the most completions: the best estimate). */
  #goodE = 0;
  #goodN = 1;
  /** That rate as a second look's reference: three quarters of it when the round counted fewer than 4 completions. */
  #goodRef = 0;
  #minS = 0;
  /** Calls timed in rounds whose throughput a worker held all but perfectly (unloaded), and their sum (ms). */
  #poolTimed = 0;
  #poolMs = 0;
  #poolSq = 0;
  #suspect = false;
  #suspectX = 0;
  /** The count whose round fell short, while its second look is measured below it. */
  #suspectN = 0;
  /** A count that fell short and whose second look was good: measured again, and if it falls short again, a knee. */
  #retestN = 0;
  #watching = false;
  /** Items received at the last evaluation, and when that count last moved. */
  #received = 0;
  #receivedAt = 0;

  /** Whether a round is running (the policy then evaluates on every item event). */
  get active(): boolean {
    return this.#active;
  }

  /** Whether the policy should evaluate on every item event: a round runs, or the queue is filling. */
  get eager(): boolean {
    return this.#active || this.#watching;
  }

  /**
   * One evaluation. `n` is the current count, `s` the processing time to plan with, `max` the
   * most workers, `held` whether a knee found earlier still caps growth (slow start then waits),
   * `baseS` the unloaded processing time (0: not known yet), `blocked` whether workers were blocked
   * on a full downstream queue lately (the limit is then downstream, not demand).
   */
  step(
    stats: StageStats,
    n: number,
    s: number,
    max: number,
    held: boolean,
    baseS: number,
    blocked = stats.blockedWorkers > 0,
  ): SlowStartMove {
    const now = stats.now;
    let fill = queueFill(stats);
    // A backlog nothing is added to (a whole job queued at once, its source done) is demand that
    // Little's law sizes for one measured window at a time: slow start takes it like a blocked
    // source, while it holds a few calls a worker (a 400-item job in a queue of 1,024 grew by
    // 2 → 6 → 12 → 23 over 1.3 s, against 0.5 s for a guessed pool of 32).
    if (stats.received !== this.#received) {
      this.#received = stats.received;
      this.#receivedAt = now;
    } else if (now - this.#receivedAt >= s && stats.queueLength >= STILL_BACKLOG)
      fill = Math.max(fill, stats.queueLength / (STILL_CALLS * Math.max(n, 1)));
    this.#watching = fill >= WATCH && !this.#spent;
    // Workers just added take the queued items at once and the source takes a moment to refill
    // the queue: low for a call time after a step of ours is that, not demand becoming visible.
    const refilling = this.#active && this.#markAt < 0 && now - this.#roundAt < s;
    if (refilling && !blocked && fill < VISIBLE) return SlowStartMove.Hold;
    if (fill < VISIBLE || blocked) {
      this.#active = false;
      // A knee found in this backlog holds until the backlog is gone: the knee guard re-probes it.
      if (stats.queueLength === 0) this.#spent = false;
      return SlowStartMove.Off;
    }
    if (!this.#active) {
      if (fill < CENSORED || this.#spent || held || n <= 0 || n >= max) return SlowStartMove.Off;
      this.#active = true;
      this.#bestE = 0;
      this.#goodE = 0;
      this.#goodN = 1;
      this.#goodRef = 0;
      this.#minS = 0;
      this.#poolTimed = 0;
      this.#poolMs = 0;
      this.#poolSq = 0;
      this.#suspect = false;
      this.#suspectN = 0;
      this.#retestN = 0;
      this.#round(n, now);
    }
    // No worker at all (a stage whose workers cannot start): a round measures nothing.
    if (n <= 0) return SlowStartMove.Hold;
    // A count changed by someone else, or workers still starting: capacity on its way (and
    // workers leaving after a step down still finishing their items: capacity on its way out).
    const moving = stats.startingWorkers > 0 || stats.totalWorkers > n;
    if (n !== this.#roundN || moving) {
      this.#round(n, now);
      if (moving) return SlowStartMove.Hold;
    }
    // Half a service time lets the newest workers reach their first completion: a window of one
    // service time from there sees each worker finish about one item, old and new alike.
    if (this.#markAt < 0) {
      if (now - this.#roundAt < 0.5 * s) return SlowStartMove.Hold;
      this.#markAt = now;
      this.#markOut = stats.processed;
      this.#markTimed = stats.timedItems;
      this.#markTimedMs = stats.timedMs;
      this.#markTimedSq = stats.timedMsSquared;
      return SlowStartMove.Hold;
    }
    const done = stats.processed - this.#markOut;
    const span = now - this.#markAt;
    // Past a knee the processing time rises at once and the planning mean lags: the window
    // stretches to the mean of the items it has seen.
    const timed = stats.timedItems - this.#markTimed;
    const sWindow = timed > 0 ? (stats.timedMs - this.#markTimedMs) / timed : 0;
    // And it counts at least one completion per worker (up to 64): fewer make a noisy rate.
    // A second look and a retest decide a knee: they count three completions a worker, and end on
    // the completion that makes them up. Workers started together finish together, a call time
    // apart, and a window that ends on a span takes in one cohort where it spans nearly two (no
    // limit, 20 ms calls: 8 workers "gave" 220/s of 400, twice, and the pool was cut to 4).
    const calls = this.#suspect || n === this.#retestN ? DECIDING : 1;
    if (span < Math.max(s, sWindow, 1) || done < calls * Math.min(n, MIN_DONE)) return SlowStartMove.Hold;
    // The least call time seen in a round (the planning mean, or the round's own mean when it
    // timed a few items): the unloaded time, when the policy has none yet.
    for (const seen of [stats.processingTimeMs, timed >= 4 ? sWindow : 0, baseS])
      this.#minS = leastKnown(this.#minS, seen);
    // No worker finishes calls faster than one per call time. Workers started together finish
    // together, and on real timers late and in batches: a window about one call long may take in
    // a cohort of completions too many. A reading well above what n workers give at the round's
    // own mean call time is that, and is held to it.
    let x = (done * 1000) / span;
    if (timed >= CLAMPED) x = Math.min(x, (PHYSICAL * n * 1000) / sWindow);
    const e = x / n;
    // A second look halfway back is held to the last good round's rate a worker as well: the
    // best is taken only from rounds that timed their calls whole, and may lag it.
    const reference =
      this.#suspect && this.#suspectN > n ? Math.max(this.#bestE, this.#goodRef) : this.#bestE;
    if (e >= KEEP * reference) {
      // A round whose rate a worker held at the best is below any knee: its calls were unloaded.
      if (e >= BOLD * this.#bestE) {
        this.#poolTimed += timed;
        this.#poolMs += stats.timedMs - this.#markTimedMs;
        this.#poolSq += stats.timedMsSquared - this.#markTimedSq;
      }
      // A round is the reference for later ones only when it spanned the calls it timed: a
      // window shorter than the calls (the planning time unknown yet) over-reads a cohort of new
      // workers finishing together, and every honest round after it would look like a knee.
      if (e > this.#bestE && timed >= 4 && span >= sWindow) this.#bestE = e;
      else if (this.#bestE === 0) this.#bestE = e * KEEP;
      this.#goodE = e;
      // As a second look's reference, a round of fewer than 4 completions counts at three quarters,
      // as the best does: it may have ended on a few quick calls.
      this.#goodRef = done >= 4 ? e : e * KEEP;
      this.#goodN = n;
      const retest = this.#suspect && this.#suspectN > n ? this.#suspectN : 0;
      this.#suspect = false;
      this.#suspectN = 0;
      this.#retestN = retest;
      if (retest > 0) {
        // The second look, below the count that fell short, was good: that round was a stall, or
        // the knee lies between the two. Measure that count once more (falling short again, it
        // is a knee).
        this.target = retest;
        this.why = `slow start: queue full, ${n} workers gave ${Math.round(x)}/s → ${retest} workers again`;
        this.#round(retest, now);
        return SlowStartMove.Grow;
      }
      if (n >= max) {
        // Nothing left to find: a later round could only misread a stall as a knee.
        this.#active = false;
        this.#spent = true;
        return SlowStartMove.Off;
      }
      // Throughput per worker that held all but perfectly earns a bolder step.
      this.target = Math.min(max, (e >= BOLD * this.#bestE ? 4 : 2) * n);
      this.why = `slow start: queue full, ${n} workers gave ${Math.round(x)}/s → ${this.target} workers`;
      this.#round(this.target, now);
      return SlowStartMove.Grow;
    }
    if (!this.#suspect && n !== this.#retestN) {
      // Look once more before calling it a knee: one round is a service time or two, and a
      // process stalls that long now and then (a GC pause, a busy neighbour). The second look is
      // taken halfway back (the geometric mean of this count and the last good one): past a
      // knee every call waits behind the others, and a second round at this count would double
      // the time calls spend waiting, while halfway back they wait half as long. A knee at or
      // below halfway reads short there too; a stall does not.
      this.#suspect = true;
      this.#suspectX = x;
      this.#suspectN = n;
      const half = Math.round(Math.sqrt(n * this.#goodN));
      if (half > this.#goodN && half < n) {
        this.target = half;
        this.why = `slow start: ${n} workers gave ${Math.round(x)}/s, ${Math.round(e)}/s a worker (the best: ${Math.round(
          this.#bestE,
        )}/s); a second look at ${half}`;
        this.#round(half, now);
        return SlowStartMove.Recheck;
      }
      this.#round(n, now);
      return SlowStartMove.Hold;
    }
    // Sized for the better of the two readings: a stall pulls one down, never both.
    const second = x;
    x = Math.max(x, this.#suspectX);
    this.#active = false;
    this.#spent = true;
    // The fewer of two estimates: at the last good round's rate per worker, and at unloaded speed
    // (below the count that fell short first: the better reading may have come from it).
    const top = this.#suspectN > n ? this.#suspectN : n;
    const byRate = kneeEstimate(x, 0, (x / this.#goodE) * (1 + KNEE_HEADROOM), top);
    // The unloaded call time: the mean over the rounds that scaled all but perfectly, when they
    // timed enough calls (the least of noisy round means is low by about one and a half noises).
    const pooled = this.#poolTimed >= POOLED;
    const unloaded = pooled ? this.#poolMs / this.#poolTimed : this.#minS;
    let target = unloaded > 0 ? Math.min(byRate, kneeEstimate(x, unloaded, byRate, top)) : byRate;
    // No more throughput than the last good round gave: the knee is at or below its count.
    if (x <= (1 + KNEE_HEADROOM) * this.#goodE * this.#goodN) target = Math.min(target, this.#goodN);
    this.target = target;
    this.cutFromX = x;
    this.cutUnloadedS = pooled ? unloaded : leastKnown(this.#minS, 1000 / this.#goodE);
    this.cutUnloadedCv =
      this.#poolTimed >= CV_CALLS ? callCv(this.#poolTimed, this.#poolMs, this.#poolSq) : -1;
    this.cutFromN = x === second ? n : top;
    const good = `${this.#goodN} gave ${Math.round(this.#goodE * this.#goodN)}/s`;
    this.why =
      top > n
        ? `slow start found the knee: ${top} workers gave ${Math.round(this.#suspectX)}/s, ${n} gave ${Math.round(second)}/s, ${good}; ${this.target} deliver it`
        : `slow start found the knee: ${n} workers gave ${Math.round(x)}/s, ${good}; ${this.target} deliver it`;
    return SlowStartMove.Cut;
  }

  /** A knee was found by other means: no slow start until the queue has stopped being full. */
  spend(): void {
    this.#active = false;
    this.#spent = true;
  }

  #round(n: number, now: number): void {
    this.#roundN = n;
    this.#roundAt = now;
    this.#markAt = -1;
  }
}
