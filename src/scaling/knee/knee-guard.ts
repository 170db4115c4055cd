import type { StageStats } from "../../stats/stage-stats.js";
import { CutCheck } from "./cut-check.js";
import { KneeHistory } from "./knee-history.js";
import { KneeWindow, NOISE_FLOOR } from "./knee-window.js";
import {
  brakeAt,
  CENSORED,
  KNEE_HEADROOM,
  kneeEstimate,
  LEAST_BIAS,
  leastKnown,
  queueFill,
  ROUND_LOSS,
  SOFT_LOSS,
} from "./knee-estimate.js";

/** Two windows whose mean processing times differ by more than this share: it is drifting. */
const DRIFT = 0.15;
/** Arrivals above this multiple of the throughput are demand the count does not meet. */
const DEMAND = 1.05;
/** Little's law read within this (relative) says a step that gave nothing by it left the knee where it was. */
const PRECISE = 0.03;
/** Calls within this share of the unloaded time (or twice their mean's noise) run unloaded: nothing queues them. */
const UNLOADED = 0.05;
/** A trim takes off at least this share (and more than its headroom), or is not made. */
const TRIM_LEAST = 0.05;

/**
 * The knee guard of the policy layer: it treats growth made while a backlog exists as an
 * experiment and undoes growth that did not raise throughput.
 *
 * It measures throughput at each worker count once the workers are ready and settled (after
 * max(2·S, 20 ms), over max(5·S, 100 ms)). Growth N0 → N1 from a count measured under a steady
 * backlog — made by the strategy or by the flow's worker budget — becomes a probe; when N1 is
 * measured, the growth stays only if X1/X0 − 1 ≥ η·(N1/N0 − 1). Otherwise the count drops at once
 * to the knee — where calls got slower, the count unloaded calls need (+21 %), else the fewest
 * workers measured to give ≥ 95 % of the best; never above N0 when the step gave nothing by the count
 * and by Little's law read precisely — and stays capped there for `holdMs`; then one +25 % step
 * probes again. A probe whose throughput fell by more than 10 % and the noise (the world changed,
 * not us) or whose backlog emptied is not a failure. A gain short of the need but within the noise
 * of it is settled by Little's law, within the noise of two mean call times: calls that slowed by
 * the whole step (X = N / S) fail it. A slow-start cut is checked, trimmed, or released (see `limit`).
 */
export class KneeGuard {
  /** Set by `limit` when it changed the recommendation: why, in words. */
  why: string | null = null;
  /** Set by `limit` when its answer must be applied at once (a knee cut). */
  forced = false;

  // Measurement of the current count.
  #n = -1;
  readonly #w = new KneeWindow();
  // The probe: growth from n0 (throughput x0) to n1; n1 = -1 when none is pending.
  #n0 = 0;
  #x0 = 0;
  #noise0 = NOISE_FLOOR;
  #s0 = 0;
  /** The relative noise of the mean processing time at the probe's start. */
  #sNoise0 = 1;
  #fill = 0;
  #grewFrom = 0;
  #sBefore = 0;
  /** The last window's mean processing time at any count, and that count. */
  #lastS = 0;
  #lastSN = 0;
  #n1 = -1;
  // Whether the current count has a throughput measured under a steady backlog.
  #testable = false;
  #ceiling = Number.POSITIVE_INFINITY;
  #ceilingUntil = 0;
  #reprobe = false;
  /** Until then a knee found lately makes every growth a +25 % step (TCP's congestion avoidance). */
  #cautiousUntil = Number.NEGATIVE_INFINITY;
  readonly #history: KneeHistory;
  /** A cut to check once measured. */
  readonly #cut = new CutCheck();
  /** The processing time (ms) that growth nothing tested was sized with (0: none; see `limit`). */
  #untestedS = 0;

  /**
   * `censoredGrowth`: something else grows the pool while the queue is at least half full (slow
   * start), so the arrivals then are no demand even before a knee.
   */
  constructor(
    readonly eta: number,
    readonly holdMs: number,
    readonly censoredGrowth = false,
  ) {
    this.#history = new KneeHistory(holdMs);
  }

  /**
   * Follows the worker count and measures throughput at it in back-to-back windows (so the
   * reference never goes stale while the count holds); called on every evaluation.
   */
  observe(stats: StageStats, n: number, s: number, now: number): void {
    const w = this.#w;
    if (n !== this.#n) {
      // Growth from a count measured under a backlog is tested, whoever made it.
      if (n > this.#n && this.#n > 0 && this.#testable && this.#n1 < 0) {
        this.#n0 = this.#n;
        this.#x0 = w.x;
        this.#noise0 = w.noise;
        this.#s0 = w.s;
        this.#sNoise0 = w.sNoise;
        this.#n1 = n;
        this.#untestedS = 0;
      } else {
        if (n !== this.#n1) this.#n1 = -1;
        // Growth from a count not yet measured (λ·S of a burst at the stage's start) goes untested.
        if (n > this.#n && this.#n > 0) this.#untestedS = w.measured ? 0 : s;
      }
      if (this.#cut.verify !== null && n !== this.#cut.verify[0]) this.#cut.verify = null;
      this.#testable = false;
      // Processing time before a growth, to see whether the growth slowed the calls down.
      if (n > this.#n && this.#lastS > 0) {
        if (this.#grewFrom === 0) {
          this.#grewFrom = this.#lastSN;
          this.#sBefore = this.#lastS;
        }
      } else this.#grewFrom = 0;
      this.#n = n;
      w.restart(now);
    }
    this.#fill = queueFill(stats);
    if (!w.observe(stats, s, now) || w.s <= 0) return;
    this.#lastS = w.s;
    this.#lastSN = n;
    // Our growth slowed every call: something behind the stage queues them. Until a test finds
    // the knee, grow in cautious steps.
    if (this.#grewFrom > 0 && n > this.#grewFrom) {
      const slowedBy = w.s / this.#sBefore - 1;
      if (slowedBy >= 0.5 * (n / this.#grewFrom - 1)) this.#cautiousUntil = now + this.holdMs;
      this.#grewFrom = 0;
    }
  }

  /**
   * Whether the processing time held still at this count over its last two windows: a growth
   * made while it moves on its own (a dependency that slowed, whoever's load it carries) would be
   * credited or blamed for the move, so it is made untested. Growth of ours that slows a
   * dependency moves it only across the change, so the windows at the new count show it steady.
   */
  #steady(): boolean {
    const a = this.#w.s;
    const b = this.#w.sPrev;
    return a === 0 || b === 0 || Math.abs(a - b) <= DRIFT * Math.min(a, b);
  }

  /**
   * Caps a recommendation: at the knee while one holds, at the current count while a probe or
   * the measurement that growth needs is pending, at the latency brake while growth cannot be
   * tested, and at the knee at once when a probe fails. `baseS` is the unloaded processing time
   * (ms; 0: not known), `arrival` the arrival rate per second.
   */
  limit(
    desired: number,
    n: number,
    s: number,
    now: number,
    backlogged: boolean,
    baseS = 0,
    arrival = Number.POSITIVE_INFINITY,
  ): number {
    this.why = null;
    this.forced = false;
    this.#cautious = now < this.#cautiousUntil;
    if (this.#ceiling !== Number.POSITIVE_INFINITY) {
      if (now >= this.#ceilingUntil) {
        this.#ceiling = Number.POSITIVE_INFINITY;
        this.#reprobe = true;
        this.#history.clear();
      } else if (desired > this.#ceiling) {
        desired = this.#ceiling;
        this.why = `held at the knee, ${this.#ceiling} workers`;
      }
    }
    const w = this.#w;
    const measured = w.measured;
    const x = w.x;
    // A window that emptied the queue or saw a worker blocked downstream measured no limit of ours.
    const drained = w.drained || w.blocked;
    // A knee sized for a hard limit (where unloaded calls deliver the throughput) is checked once,
    // at the cut: a limit that gives way as it is approached (a dependency that slows with every
    // call in flight) loses throughput there, and the count measured to deliver it comes back.
    if (this.#cut.n > 0 && n === this.#cut.n && measured && !w.blocked) {
      const back = this.#cut.back;
      // A trim read by N / S is checked by N / S, like with like: two counts a worker apart differ
      // by their noise (18 → 17 workers at 16 slots "lost" 14 % by them), while a trim that read
      // short (a loaded machine) must be undone when N / S says so. Any other cut's loss must show in
      // both readings, the count and N / S: in real time the window after a cut from 128 counted
      // 2,979/s of a 4,000/s limit, and the pool went back to 128.
      const xl = w.littleX(n);
      const xNow = this.#cut.little && xl > 0 ? xl : Math.max(x, xl);
      const lost =
        backlogged &&
        !drained &&
        xNow < this.#cut.x * (1 - Math.max(this.#cut.loss, this.#cut.noises * w.noise));
      const from = this.#cut.x;
      this.#cut.n = -1;
      if (lost) {
        // A limit that gives way: whether growth past it buys enough is for probes (+25 % steps).
        this.#ceiling = back;
        this.#ceilingUntil = now;
        // Going back is no probe: the count it returns to was measured already — but a slow-start
        // round is short and may have over-read (a cohort too many), so going back to one is checked.
        this.#testable = false;
        if (this.#cut.loss === ROUND_LOSS) this.#cut.verify = [back, n, x, w.noise];
        this.forced = true;
        this.why = `soft knee: ${n} workers gave ${Math.round(xNow)}/s, ${back} gave ${Math.round(from)}/s; back to ${back}`;
        return back;
      }
      // Delivered. A slow-start cut comes from short rounds (one may count a cohort too many): trimmed to this longer window's reading.
      const s0 = this.#cut.s > 0 ? this.#cut.s : baseS;
      // Its headroom covers the noise of the two call times it is sized from (the unloaded one from
      // ≥ 16 calls). The calls' CV is the lesser of two readings that can each only add to it: here
      // (calls queued at the knee wait) and slow start's unloaded rounds (rounds at several counts).
      const cv = this.#cut.cv >= 0 ? Math.min(this.#cut.cv, w.cv) : w.cv;
      const headroom = Math.min(KNEE_HEADROOM, cv / 4 + w.sNoise);
      // With every worker busy X = N / S: read that way where the mean call time is the closer
      // reading — unless it reads short of the count by more than twice the count's noise: N / S
      // reads short where timers run late (2 ms calls in real time: 7,700/s of 12,000, trimmed to 33
      // of 40 slots), while a count over-reads by a cohort at most (S5: 4 %).
      const xr = xl >= x * (1 - 2 * w.noise) ? xl : x;
      const trim =
        this.#cut.loss === ROUND_LOSS && !drained ? kneeEstimate(xr, s0, n, n + 1, true, headroom) : n;
      // (A trim within its own headroom, or 5 %, is not worth its risk: 40 trimmed to 39 at 40 slots
      // read a loss, went back untested, and λ·S — inflated by calls queued at the limit — ran to 155.)
      if (trim < n * (1 - Math.max(headroom, TRIM_LEAST))) {
        this.#cut.set(trim, xr, n, SOFT_LOSS, 1, xr !== x);
        this.#ceiling = trim;
        this.forced = true;
        this.why = `knee trimmed: ${n} workers gave ${Math.round(xr)}/s, ${trim} deliver it at unloaded speed`;
        return trim;
      }
      // Calls at the cut as quick as unloaded ones: nothing queues them, so no knee is here — the rounds
      // misread (a stall, a loaded machine). The hold ends; +25 % probes go on from the cut.
      if (this.#cut.loss === ROUND_LOSS && !drained && this.#unloaded(s0)) {
        this.#ceilingUntil = now;
        this.#cut.released = n;
        this.why = `no knee at ${n} workers: calls take ${w.s.toFixed(1)} ms, as unloaded (${s0.toFixed(1)} ms); probing on`;
      }
    }
    const verify = this.#cut.verify;
    if (verify !== null && n === verify[0] && measured && !w.blocked) {
      // Back at a slow-start round's count after its cut read a loss: no more than the cut gave says
      // the round over-read and the cut was the knee — unless the step back was within the noise,
      // which shows nothing: probes go on (heavy-tailed calls at 50 slots: 16 → 15 held 30 s).
      const [, cut, cutX, cutNoise] = verify;
      this.#cut.verify = null;
      const noise = Math.max(SOFT_LOSS, Math.hypot(cutNoise, w.noise));
      if (backlogged && !drained && x < cutX * (1 + noise)) {
        this.#holdAt(cut, now);
        // (So do calls at the round's count as quick as unloaded ones: nothing queued them.)
        const mute = n / cut - 1 <= noise || this.#unloaded(this.#cut.s > 0 ? this.#cut.s : baseS);
        if (mute) this.#ceilingUntil = now;
        this.forced = true;
        this.why = `round over-read: ${n} workers gave ${Math.round(x)}/s, ${cut} gave ${Math.round(cutX)}/s; back to ${cut}${mute ? ", probing on" : ""}`;
        return cut;
      }
    }
    // An untested count past the latency brake with the queue half full is cut to what unloaded calls
    // need, checked: a stage jumped 1 → 128 on a burst from the stage before, held 128 at 40 slots (R2).
    const s0 = leastKnown(baseS, this.#untestedS);
    if (this.#untestedS > 0 && measured && backlogged && this.#fill >= CENSORED && !drained && this.#n1 < 0) {
      const knee = kneeEstimate(x, s0 * (1 + LEAST_BIAS), n, n);
      if (n > brakeAt(x, s0) && w.s > brakeAt(1000, s0) && knee < n && this.#cut.n < 0 && !this.held(now)) {
        this.#untestedS = 0;
        this.#cut.set(knee, x, n, SOFT_LOSS);
        this.#holdAt(knee, now);
        this.forced = true;
        this.why = `untested past the latency brake: ${n} workers gave ${Math.round(x)}/s, ${knee} deliver it unloaded`;
        return knee;
      }
    }
    if (measured && backlogged && !drained && n !== this.#history.last) this.#history.remember(n, x, now);
    if (this.#n1 === n && n > 0) {
      if (!measured) desired = Math.min(desired, n);
      else {
        this.#n1 = -1;
        const gain = x / this.#x0 - 1;
        const need = this.eta * (n / this.#n0 - 1);
        // A step is judged only with a backlog throughout, and only on an effect beyond the noise.
        // Calls that got slower say something behind the stage queues them (the knee is then
        // where unloaded calls deliver the throughput); otherwise the workers no longer run at once.
        const slower = this.#s0 > 0 && w.s >= this.#s0 * (1 + need / 2);
        // A gain short of η but within the noise of it is a doubt, and Little's law settles it:
        // with every worker busy under the backlog X = N / S, so calls that slowed by the whole
        // step say it gave nothing, whatever the count of completions read. (Only once the
        // unloaded time is known: the first windows of a stage time its quickest calls first.) Its
        // noise is that of the two mean call times, not of the counts.
        const read = this.#s0 > 0 && w.s > 0 && baseS > 0;
        const little = read ? ((n / this.#n0) * this.#s0) / w.s - 1 : gain;
        // The noise of a gain is that of both readings.
        const noise = Math.hypot(this.#noise0, w.noise);
        // Past the latency brake the burden of proof turns: Little's law must show the gain beyond
        // the noise, not only fail to refute it.
        const past = baseS > 0 && this.#n0 >= brakeAt(this.#x0, baseS);
        const lnoise = read ? Math.hypot(this.#sNoise0, w.sNoise) : noise;
        const failed =
          gain + noise < need ||
          (gain - noise < need && little + (past ? -lnoise : lnoise) < need) ||
          this.#history.shortSince(n, x, noise, this.eta);
        // Throughput that fell by more than 10 % and the noise is the world changing, not us.
        if (!drained && x >= (0.9 - this.#noise0) * this.#x0 && failed) {
          // Sized for the better of the two throughputs: past a knee the reading dips, not rises.
          const best = Math.max(x, this.#x0);
          const measuredKnee = this.#history.knee(x, this.#n0, this.#x0);
          // (A dip within the noise says nothing about the knee: no lower than the count it came from.)
          const dip = Math.max(x / this.#x0, Math.min(1, x / this.#x0 + this.#noise0));
          const fallback = Math.min(measuredKnee, this.#n0 * dip);
          const estimate = kneeEstimate(best, baseS * (1 + LEAST_BIAS), fallback, n, slower);
          // A step that gave nothing by the count and, read precisely, by Little's law: no knee above its start.
          const nothing = read && gain <= noise && little <= lnoise && lnoise <= PRECISE;
          // (And a probe from a cut whose calls ran unloaded: that cut was measured to deliver.)
          const knee = nothing || this.#n0 === this.#cut.released ? Math.min(this.#n0, estimate) : estimate;
          this.#cut.released = -1;
          this.#cut.set(knee, best, Math.min(n, measuredKnee), Math.max(SOFT_LOSS, 2 * this.#noise0));
          this.#holdAt(knee, now);
          this.forced = true;
          this.why = `knee: ${this.#n0} → ${n} workers moved throughput ${Math.round(this.#x0)} → ${Math.round(
            x,
          )}/s (needed +${Math.round(need * 100)}%); holding at ${knee}`;
          return knee;
        }
      }
    }
    // Demand must exceed what the count delivers — arrivals above it, a queue that grew over the
    // window, or a source blocked on a full queue (which hides arrivals): a backlog that arrivals
    // below the throughput will clear is no experiment.
    const demand = arrival > DEMAND * x || w.grewQ || this.#fill >= CENSORED;
    this.#testable = measured && backlogged && demand && !drained && x > 0 && this.#n1 < 0 && this.#steady();
    // Measure the current count before growing from it under a backlog, so that the growth can be
    // tested — also while the processing time drifts (the growth then waits for one window, not
    // for the drift to end): untested growth every evaluation is how a pool runs to its maximum.
    // (Below the count the visible arrivals need by Little's law, growth is demand, not an
    // experiment — but not while the queue is at least half full, after a knee or where slow start
    // grows into censored demand: a source blocked on the queue sends as fast as items leave, or
    // catches up in bursts as room appears, so λ·S restates the pool, and calls queued at a limit
    // inflate S: in real time 128 workers grew to 256 at 40 slots on it. Without slow start,
    // λ·S is all the ramp there is: ThroughputScaling's T90 on S5 went 0.9 → 2.1 s without it.)
    const hidden = (this.#cautious || this.censoredGrowth) && this.#fill >= CENSORED;
    const visible = Number.isFinite(arrival) && !hidden ? (arrival * s) / 1000 : 0;
    if (this.#n1 < 0 && desired > n && backlogged && !measured && n >= visible) desired = n;
    // The latency brake (Envoy's and Gradient2's backstop): growth the test cannot judge stops at
    // twice the count that would deliver the measured throughput at unloaded speed; a dependency
    // that slows as load grows gives no more throughput past that, only slower calls. Growth the
    // test will judge goes no further than the brake in one step either (past it, it goes on
    // from there, step by tested step): one step from below the brake to far past it overshoots a
    // knee by all of that step before the test can see it.
    if (backlogged && measured && baseS > 0 && desired > n) {
      const brake = Math.ceil(brakeAt(x, baseS));
      if (desired > brake && (!this.#testable || n < brake)) {
        desired = Math.max(n, brake);
        this.why = `latency brake: ${Math.round(x)}/s needs ${Math.ceil((x * baseS) / 1000)} workers at ${baseS.toFixed(1)} ms a call; ${
          this.#testable ? "testing" : "holding below"
        } ${brake}`;
      }
    }
    return desired;
  }

  /** Whether the window's calls ran as quick as unloaded ones (`s0` ms): within 5 % or twice their mean's noise. */
  #unloaded(s0: number): boolean {
    return this.#w.s > 0 && this.#w.s <= s0 * (1 + Math.max(UNLOADED, 2 * this.#w.sNoise));
  }

  /** Whether a knee found earlier still caps the count. */
  held(now: number): boolean {
    return this.#ceiling !== Number.POSITIVE_INFINITY && now < this.#ceilingUntil;
  }

  /** Caps the count at `knee` for the hold, as a failed probe would (slow start found it, at `fromN` giving `fromX`/s). */
  hold(knee: number, now: number, fromX = 0, fromN = 0, unloadedS = 0, unloadedCv = -1): void {
    // A round of slow start is short (its rate within about 1/√64 at best): a larger loss says it.
    this.#cut.set(knee, fromX, fromN, ROUND_LOSS, 2, false, unloadedS, unloadedCv);
    this.#holdAt(knee, now);
    this.#n1 = -1;
    this.#testable = false;
    this.#untestedS = 0;
  }

  /** The growth cap: the first growth past an expired knee is a +25 % re-probe, not a ramp. */
  growthCap(n: number, cap: number): number {
    return this.#reprobe || this.#cautious ? Math.min(cap, Math.max(n + 1, Math.ceil(n * 1.25))) : cap;
  }

  /** The count grew. */
  grew(): void {
    this.#reprobe = false;
  }

  #cautious = false;
  /** Caps the count at `knee` for the hold, and makes growth +25 % steps for two. */
  #holdAt(knee: number, now: number): void {
    this.#ceiling = knee;
    this.#ceilingUntil = now + this.holdMs;
    this.#cautiousUntil = now + 2 * this.holdMs;
  }
}
