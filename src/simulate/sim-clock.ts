import { BinaryHeap } from "../internal/binary-heap.js";
import type { Clock } from "../internal/clock.js";
import { settle } from "../internal/virtual-clock.js";

interface SimTimer {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

/**
 * The simulator's virtual clock. Unlike {@link VirtualClock} it puts every timer on a grid of
 * `resolutionMs` and fires all the timers due at one instant before letting promises settle, so
 * a run with thousands of items per simulated second costs one macrotask per instant rather
 * than one per timer. Time is exact on the grid: a 10 ms service stays 10 ms.
 */
export class SimClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #res: number;
  readonly #heap = new BinaryHeap<SimTimer>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));

  constructor(resolutionMs = 0.1) {
    this.#res = resolutionMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const res = this.#res;
    const due = this.#now + Math.max(0, ms || 0);
    const at = Math.max(this.#now, Math.round(due / res) * res);
    const timer: SimTimer = { at, seq: this.#seq++, fn };
    this.#heap.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle !== null && typeof handle === "object" && "fn" in handle) (handle as SimTimer).fn = null;
  }

  /** Fires every timer due up to `target`, an instant at a time, settling promises after each. */
  async runTo(target: number): Promise<void> {
    const heap = this.#heap;
    await settle();
    for (;;) {
      let next = heap.peek();
      while (next !== undefined && next.fn === null) {
        heap.pop();
        next = heap.peek();
      }
      if (next === undefined || next.at > target) break;
      const at = next.at;
      this.#now = Math.max(this.#now, at);
      while (next !== undefined && next.at === at) {
        heap.pop();
        const fn = next.fn;
        next.fn = null;
        fn?.();
        next = heap.peek();
      }
      await settle();
    }
    this.#now = Math.max(this.#now, target);
    await settle();
  }
}
