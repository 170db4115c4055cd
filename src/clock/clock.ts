/**
 * The one source of time for a flow. Every time read and every timer in the runtime goes
 * through a `Clock`, so a whole flow can run under virtual time (see {@link VirtualClock}).
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  /** Schedules `fn` after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer made by {@link Clock.setTimeout}; a spent or unknown handle is ignored. */
  clearTimeout(handle: unknown): void;
  /**
   * `true` for a clock whose time does not follow real time (a {@link VirtualClock}): the flow
   * then gives the event loop its turns by item count only, never because its time moved.
   */
  readonly virtual?: boolean;
}

/**
 * The real clock: `performance.now()` and the global timers, looked up at call time so that
 * `vi.useFakeTimers()` applies to a flow that uses it.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/**
 * A cheap, slightly stale reading of a clock for the hot path. Every real read refreshes it,
 * and the flow refreshes it at least once a tick, so a stamp taken from it is late by at most
 * the time since the last read anywhere in the flow.
 */
export class TimeCache {
  /** The last reading. */
  t: number;
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.t = clock.now();
  }

  /** Reads the clock for real and refreshes the cache. */
  read(): number {
    const t = this.#clock.now();
    this.t = t;
    return t;
  }
}
