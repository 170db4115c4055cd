import type { z } from "zod";
import { between, whole } from "../internal/option-fields.js";
import { type OptionsInput, optionsObject } from "../internal/parse-options.js";

const rateLimitShape = {
  /** Calls per second the stage's workers may start, all of them together, retries included. A finite number > 0. */
  perSecond: between(0, Number.POSITIVE_INFINITY, { min: true }),
  /**
   * How many calls may start at once after a quiet spell (the bucket's size). 1 spaces every
   * call `1000 / perSecond` ms apart, which no server-side limit of `perSecond` a second can
   * refuse, whether it counts in fixed windows, sliding windows or buckets of its own.
   * @defaultValue 1
   */
  burst: whole(1).optional(),
};

/** A stage's `rateLimit` option. */
export interface RateLimitOptions extends OptionsInput<typeof rateLimitShape> {}

/** The `rateLimit` stage option, validated (`burst` filled in). */
export function rateLimitField(): z.ZodType<{ perSecond: number; burst: number }, RateLimitOptions> {
  return optionsObject(rateLimitShape).transform((o) => ({ perSecond: o.perSecond, burst: o.burst ?? 1 }));
}

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
