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
