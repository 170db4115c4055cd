/** Slack on "a whole token": refills are sums of float products and land a hair under 1 when due. */
const EPSILON = 1e-9;

/**
 * A token bucket shared by a stage's workers. A token is taken at the moment its call starts
 * (synchronously before it), never reserved ahead: a worker woken late by its timer does not
 * leave a token spent in the past, so in any span of `w` ms at most `burst + w · perSecond / 1000`
 * calls start, however late the timers run.
 */
export class RateLimiter {
  /** Ms per token. */
  readonly #interval: number;
  #tokens: number;
  #refilledAt = Number.NEGATIVE_INFINITY;
  /** Workers waiting for a token: each newcomer waits behind them, so that they do not all wake at once. */
  waiting = 0;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
  ) {
    this.#interval = 1000 / perSecond;
    this.#tokens = burst;
  }

  /**
   * Takes a token at `now` when one is there and returns 0; else returns how long to wait before
   * asking again (its turn behind the workers already waiting), in ms.
   */
  take(now: number): number {
    if (now > this.#refilledAt) {
      this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#refilledAt) / this.#interval);
      this.#refilledAt = now;
    }
    if (this.#tokens >= 1 - EPSILON) {
      this.#tokens -= 1;
      return 0;
    }
    return (1 - this.#tokens + this.waiting) * this.#interval;
  }
}
