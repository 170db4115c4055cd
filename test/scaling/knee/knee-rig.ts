import { KneeGuard } from "../../../src/scaling/knee/knee-guard.js";
import { type MutableStats, mutableStats } from "../policy/wish-strategy.js";

/** One evaluation of the knee guard as the rig saw it. */
export interface Verdict {
  readonly t: number;
  readonly out: number;
  readonly why: string | null;
  readonly forced: boolean;
}

/**
 * A knee guard over a hand-made stage, evaluated every `stepMs` the way the policy layer does
 * (`observe`, then `limit`). The stage completes `rate(n)` items a second, each taking
 * `callMs(n)`; the test moves `n` itself, as the layer would after a change.
 */
export class KneeRig {
  readonly guard: KneeGuard;
  readonly st: MutableStats;
  now = 0;
  n: number;
  /** The processing time the guard plans with (the layer's `serviceMs`). */
  s = 10;
  rate: (n: number) => number = (n) => n * 100;
  callMs: (n: number) => number = () => 10;
  /** The calls' coefficient of variation (their squares sum to done · callMs² · (1 + cv²)). */
  cv = 1;
  backlogged = true;
  baseS = 0;
  arrival = Number.POSITIVE_INFINITY;
  want = 1000;
  stepMs = 10;
  readonly seen: Verdict[] = [];

  constructor(n = 10, o: { eta?: number; holdMs?: number; censoredGrowth?: boolean } = {}) {
    this.n = n;
    this.guard = new KneeGuard(o.eta ?? 0.3, o.holdMs ?? 1000, o.censoredGrowth);
    this.st = mutableStats({ queueLength: 400, queueCapacity: 1000, oldestItemAgeMs: 500 });
  }

  /** Runs `ms` of evaluations; returns the last one. */
  run(ms: number): Verdict {
    const end = this.now + ms;
    let last = this.evaluate();
    while (this.now < end) {
      this.now += this.stepMs;
      const done = (this.rate(this.n) * this.stepMs) / 1000;
      this.st.processed += done;
      this.st.timedItems += done;
      this.st.timedMs += done * this.callMs(this.n);
      this.st.timedMsSquared += done * this.callMs(this.n) ** 2 * (1 + this.cv ** 2);
      last = this.evaluate();
    }
    return last;
  }

  /** Runs a step at a time until a verdict's reason starts with `why` (or `steps` ran out); returns the last verdict. */
  until(why: string, steps = 200): Verdict {
    let last = this.run(0);
    for (let i = 0; i < steps && !last.why?.startsWith(why); i++) last = this.run(this.stepMs);
    return last;
  }

  /** Runs until the guard lets growth past the current count (or `ms` ran out); returns how long that took. */
  untilGrowth(ms = 5000): number {
    const from = this.now;
    while (this.now - from < ms) {
      if (this.run(this.stepMs).out > this.n) return this.now - from;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Moves the count (as the layer would after a change) and runs `ms`; returns the first verdict that cut. */
  growTo(n: number, ms: number): Verdict | undefined {
    this.n = n;
    const from = this.seen.length;
    this.run(ms);
    return this.seen.slice(from).find((v) => v.forced);
  }

  evaluate(): Verdict {
    this.st.now = this.now;
    this.st.activeWorkers = this.n;
    this.guard.observe(this.st, this.n, this.s, this.now);
    const out = this.guard.limit(
      this.want,
      this.n,
      this.s,
      this.now,
      this.backlogged,
      this.baseS,
      this.arrival,
    );
    const v = { t: this.now, out, why: this.guard.why, forced: this.guard.forced };
    this.seen.push(v);
    return v;
  }
}
