import type { z } from "zod";
import { between, fn, ms, whole } from "../internal/option-fields.js";
import { issue, type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";
import { retryAfterMs } from "./overload.js";

/** The retry settings a stage runs with when `retry` leaves them out. */
export const RETRY_DEFAULTS = Object.freeze({
  attempts: 3,
  baseMs: 100,
  /** Raised to `baseMs` when that is more, rather than cutting the base to it. */
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
});

/** Everything but an abort is worth another try; a timeout (`TimeoutError`) is. */
export const transientUnlessAborted = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name !== "AbortError";

const backoffShape = {
  /** The wait before the second attempt. @defaultValue 100 */
  baseMs: ms().optional(),
  /** The longest wait, before jitter. @defaultValue 30000, or `baseMs` if that is more */
  maxMs: ms().optional(),
  /** Growth per attempt. @defaultValue 2 */
  factor: between(1, Number.POSITIVE_INFINITY).optional(),
  /** Spread as a fraction of the wait: 0.5 waits 50–150 % of it, so failed items do not return in step. @defaultValue 0.5 */
  jitter: between(0, 1).optional(),
};

function retryShape<T>() {
  return {
    /** Attempts in all, the first included. @defaultValue 3 */
    attempts: whole(1, Number.MAX_SAFE_INTEGER, " (attempts in all, the first included)").optional(),
    /** How long to wait between attempts: `baseMs · factor^(n−1)`, capped at `maxMs`, then ±`jitter`. */
    backoff: optionsObject(backoffShape)
      .check((ctx) => {
        const base = ctx.value.baseMs ?? RETRY_DEFAULTS.baseMs;
        const max = ctx.value.maxMs;
        if (max !== undefined && max < base)
          ctx.issues.push(issue("maxMs", max, `a number ≥ baseMs (${base})`));
      })
      .optional(),
    /**
     * Whether an error is worth another attempt (transient) or final (permanent); `item` is the
     * stage's input (a batch stage's: the batch). @defaultValue every error but an `AbortError`
     */
    retryOn: fn<(error: unknown, item: T) => boolean>("(error, item) => boolean").optional(),
  };
}

/** How long to wait between attempts: `baseMs · factor^(n−1)`, capped at `maxMs`, then ±`jitter`. */
export interface BackoffOptions extends OptionsInput<typeof backoffShape> {}

/** A stage's `retry` option. */
export interface RetryOptions<T = any> extends OptionsInput<ReturnType<typeof retryShape<T>>> {}

/** A stage's retry settings with every default filled in. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly retryOn: (error: unknown, item: unknown) => boolean;
}

/** The `retry` stage option: validated, and resolved to a {@link RetryPolicy} with the defaults filled in. */
export function retryField<T>(): z.ZodType<RetryPolicy, RetryOptions<T>> {
  return optionsObject(retryShape<T>()).transform((o): RetryPolicy => {
    const b = o.backoff ?? {};
    const baseMs = b.baseMs ?? RETRY_DEFAULTS.baseMs;
    return {
      attempts: o.attempts ?? RETRY_DEFAULTS.attempts,
      baseMs,
      maxMs: b.maxMs ?? Math.max(RETRY_DEFAULTS.maxMs, baseMs),
      factor: b.factor ?? RETRY_DEFAULTS.factor,
      jitter: b.jitter ?? RETRY_DEFAULTS.jitter,
      retryOn: (o.retryOn as RetryPolicy["retryOn"] | undefined) ?? transientUnlessAborted,
    };
  });
}

/** `retry` options resolved on their own (`null` for none): what a stage runs with. */
export function retryPolicy(options: RetryOptions | undefined): RetryPolicy | null {
  return options === undefined ? null : parseOptions(retryField(), options, "retry");
}

/** The wait after failed attempt `attempt` (1-based); `random` is uniform in [0, 1). */
export function backoffDelay(p: RetryPolicy, attempt: number, random: number): number {
  // 0 · factor^n is NaN once factor^n overflows to Infinity: a base of 0 stays 0.
  const capped = p.baseMs === 0 ? 0 : Math.min(p.maxMs, p.baseMs * p.factor ** (attempt - 1));
  return Math.max(0, capped * (1 + p.jitter * (2 * random - 1)));
}

/**
 * The wait after failed attempt `attempt` with `error`: the backoff, or — when the error carries a
 * `Retry-After` (see {@link retryAfterMs}) — at least that, capped at `maxMs`, plus up to
 * `jitter · baseMs` so that workers told the same time do not return in step.
 */
export function retryDelay(p: RetryPolicy, attempt: number, random: number, error: unknown): number {
  const backoff = backoffDelay(p, attempt, random);
  const asked = retryAfterMs(error);
  if (!(asked > 0)) return backoff;
  const floor = Math.min(asked, p.maxMs) + p.jitter * random * p.baseMs;
  return floor > backoff ? floor : backoff;
}
