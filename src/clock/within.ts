import type { Clock } from "./clock.js";

/** What {@link within} resolves with when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol("flowrhythm.timedOut");

/**
 * Settles like `p`, or resolves {@link TIMED_OUT} once `ms` have passed on `clock`, whichever
 * comes first; the timer is cleared as soon as `p` settles.
 */
export function within<T>(clock: Clock, p: PromiseLike<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => resolve(TIMED_OUT), ms);
    p.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
