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

/**
 * A token bucket shared by a stage's workers, kept as its theoretical arrival time (GCRA): each
 * call reserves the next slot and waits until it. A reservation is never moved, so a waiter that
 * wakes late does not push back the ones behind it, and the long-run rate is `perSecond` however
 * coarse the timers are. In any window of `w` ms, at most `burst + w · perSecond / 1000` calls start.
 */
export class RateLimiter {
  /** Ms per token. */
  readonly #interval: number;
  /** How far ahead of its slot a call may start: the burst. */
  readonly #tolerance: number;
  /** When the next slot is due, once the burst is spent. */
  #tat = Number.NEGATIVE_INFINITY;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
  ) {
    this.#interval = 1000 / perSecond;
    this.#tolerance = (burst - 1) * this.#interval;
  }

  /** Reserves a slot for a call at `now`; returns when the call may start (`now` or later). */
  reserve(now: number): number {
    const tat = this.#tat > now ? this.#tat : now;
    this.#tat = tat + this.#interval;
    const at = tat - this.#tolerance;
    return at > now ? at : now;
  }
}
