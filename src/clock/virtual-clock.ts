import { BinaryHeap } from "../internal/binary-heap.js";
import type { Clock } from "./clock.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { ms } from "../internal/option-fields.js";
import { type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";

const optionsShape = {
  /**
   * Put every timer on a grid of this many milliseconds and fire all the timers due at one instant
   * before promises settle: one macrotask per instant instead of one per timer, for simulations
   * with thousands of timers per virtual second (the scaling simulator uses 0.5). Delays are
   * rounded to the nearest grid point, so a 10 ms timer stays 10 ms. @defaultValue none: each
   * timer fires at its exact time and promises settle after each one
   */
  gridMs: ms({ above: true }).optional(),
};

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions extends OptionsInput<typeof optionsShape> {}

const optionsSchema = optionsObject(optionsShape);

interface VirtualTimer {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

// Captured at load so that fake timers installed later do not replace the flush it relies on.
const realSetImmediate = globalThis.setImmediate;

/** Lets every pending promise chain run: a macrotask runs only once the microtask queue is empty. */
export function settle(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/**
 * A clock whose time moves only when told to. Timers fire in time order (ties in the order they
 * were set), and all promise work settles between two timers, so a flow driven by it is
 * deterministic: the same inputs give the same trace.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const f = new Flow({ clock }).setProducer(items).setConsumer(store);
 * await f.start();
 * await clock.advance(5_000); // five virtual seconds, in microseconds of real time
 * ```
 */
export class VirtualClock implements Clock {
  /** Its time moves only when told to (see {@link Clock.virtual}). */
  readonly virtual = true;
  #now: number;
  #seq = 0;
  readonly #grid: number;
  readonly #heap = new BinaryHeap<VirtualTimer>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));

  constructor(startMs = 0, options?: VirtualClockOptions) {
    if (typeof startMs !== "number" || !Number.isFinite(startMs))
      throw new FlowConfigError(
        `VirtualClock: startMs = ${describeValue(startMs)}: expected a finite number`,
        {
          option: "startMs",
        },
      );
    this.#now = startMs;
    this.#grid = parseOptions(optionsSchema, options, "VirtualClock").gridMs ?? 0;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const now = this.#now;
    const grid = this.#grid;
    let at = now + Math.max(0, ms || 0);
    if (grid > 0) at = Math.max(now, Math.round(at / grid) * grid);
    const timer: VirtualTimer = { at, seq: this.#seq++, fn };
    this.#heap.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle !== null && typeof handle === "object" && "fn" in handle) (handle as VirtualTimer).fn = null;
  }

  /** Timers still to fire. */
  get pendingTimers(): number {
    let n = 0;
    for (const t of this.#heap.values()) if (t.fn) n++;
    return n;
  }

  /** Moves time forward by `ms`, firing every timer due on the way and settling promises after each. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /**
   * Moves time forward to `target`, firing every timer due on the way (with `gridMs`, all the
   * timers of one instant before promises settle).
   */
  async advanceTo(target: number): Promise<void> {
    await settle();
    const batch = this.#grid > 0;
    for (;;) {
      let next = this.#peekLive();
      if (!next || next.at > target) break;
      const at = next.at;
      this.#now = Math.max(this.#now, at);
      do {
        this.#heap.pop();
        const fn = next.fn!;
        next.fn = null;
        fn();
        next = batch ? this.#peekLive() : undefined;
      } while (next !== undefined && next.at === at);
      await settle();
    }
    this.#now = Math.max(this.#now, target);
    await settle();
  }

  /**
   * Advances in steps of `stepMs` until `done()` holds, or throws after `maxMs` of virtual time:
   * the way to await a flow under virtual time without guessing how long it needs.
   */
  async runUntil(done: () => boolean, { stepMs = 10, maxMs = 3_600_000 } = {}): Promise<void> {
    const limit = this.#now + maxMs;
    await settle();
    while (!done()) {
      if (this.#now >= limit) throw new Error(`VirtualClock.runUntil: condition not met after ${maxMs} ms`);
      await this.advance(stepMs);
    }
  }

  #peekLive(): VirtualTimer | undefined {
    const heap = this.#heap;
    while (heap.length > 0 && heap.peek()!.fn === null) heap.pop();
    return heap.peek();
  }
}
