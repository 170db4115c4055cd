import type { z } from "zod";
import { isCallable } from "./callable.js";
import { check } from "./parse-options.js";

/**
 * The longest delay Node keeps as a timer, 2^31 − 1 ms (about 24.8 days). Node runs a longer
 * timer after 1 ms, so a 30-day timeout would fire at once: every millisecond option is at most this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const isNumberIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && v >= min && v <= max;

/**
 * A duration in milliseconds: finite, at least `min` (more than it when `above`), at most
 * `max` (default {@link MAX_TIMER_MS}); `Infinity` too when `infinity` says what it means.
 */
export function ms(
  o: { min?: number; above?: boolean; max?: number; infinity?: string; hint?: string } = {},
): z.ZodType<number, number> {
  const min = o.min ?? 0;
  const max = o.max ?? MAX_TIMER_MS;
  const ok = (v: unknown) =>
    (o.infinity !== undefined && v === Number.POSITIVE_INFINITY) ||
    (isNumberIn(v, min, max) && (!o.above || v > min));
  const limit = max === MAX_TIMER_MS ? `${max} (2^31 − 1, the longest timer Node keeps)` : String(max);
  return check<number>(
    ok,
    `a number of milliseconds ${o.above ? ">" : "≥"} ${min} and ≤ ${limit}${o.infinity ? `, or Infinity (${o.infinity})` : ""}${o.hint ? ` ${o.hint}` : ""}`,
  );
}

/** A whole number from `min` to `max`; `max` is left out of the message when it is only the safe-integer limit. */
export function whole(min: number, max = Number.MAX_SAFE_INTEGER, note = ""): z.ZodType<number, number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
  return check<number>(
    (v) => Number.isInteger(v) && isNumberIn(v, min, max),
    `a whole number ${range}${note}`,
  );
}

/** A number in a range: `[min, max]`, with either end open when asked. */
export function between(
  min: number,
  max: number,
  open: { min?: boolean; max?: boolean } = {},
): z.ZodType<number, number> {
  const ok = (v: unknown) => isNumberIn(v, min, max) && !(open.min && v === min) && !(open.max && v === max);
  const text =
    max === Number.POSITIVE_INFINITY
      ? `a finite number ${open.min ? ">" : "≥"} ${min}`
      : `a number in ${open.min ? "(" : "["}${min}, ${max}${open.max ? ")" : "]"}`;
  return check<number>((v) => ok(v) && Number.isFinite(v), text);
}

export const bool = (): z.ZodType<boolean, boolean> =>
  check<boolean>((v) => typeof v === "boolean", "true or false");

/** A function to call (not a class), described by its signature in `expected`. */
export const fn = <F>(expected: string): z.ZodType<F, F> => check<F>(isCallable, `a function ${expected}`);

/** A stage or shape name: a non-empty string. */
export const name = (): z.ZodType<string, string> =>
  check<string>((v) => typeof v === "string" && v.length > 0, "a non-empty string");
