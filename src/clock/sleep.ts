import type { Clock } from "./clock.js";

/**
 * Resolves `true` after `ms` on `clock`, or `false` at once when `signal` aborts (its listener
 * removed either way). No wait asked (`ms` ≤ 0): `true` with no timer, which would be a whole
 * millisecond.
 */
export function sleepUnless(clock: Clock, signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onStop = (): void => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener("abort", onStop);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onStop, { once: true });
  });
}
