/**
 * Events per second, smoothed with an exponentially weighted moving average whose time
 * constant is `tauMs` (the weight of a sample decays by e every `tauMs`). Fed a running count
 * on each tick, never per event, so it costs nothing on the hot path.
 */
export class RateMeter {
  /** The smoothed rate, per second. */
  rate = 0;
  #lastCount = 0;
  #lastAt: number | null = null;
  readonly #tauMs: number;

  constructor(tauMs = 1000) {
    this.#tauMs = tauMs;
  }

  /** Feeds the running total `count` as of `now`. */
  update(count: number, now: number): void {
    const lastAt = this.#lastAt;
    if (lastAt === null) {
      this.#lastAt = now;
      this.#lastCount = count;
      return;
    }
    const dt = now - lastAt;
    if (dt <= 0) return;
    const instant = ((count - this.#lastCount) * 1000) / dt;
    this.rate += (1 - Math.exp(-dt / this.#tauMs)) * (instant - this.rate);
    this.#lastAt = now;
    this.#lastCount = count;
  }
}
