import { END, type End } from "./channel.js";
import type { Taker } from "./stage-queue.js";

/** What a wait resolves with when the taker should look again (after the event loop's turn). */
export const RESUME: unique symbol = Symbol("flowrhythm.resume");

/**
 * A taker that waits for one item at a time: the shared part of a worker and the stream reader.
 * At most one wait is pending; `deliver` and `release` settle it.
 */
export abstract class WaitingTaker<T> implements Taker<T> {
  #resolve: ((value: T | End) => void) | null = null;

  deliver(item: T, stamp: number, id: number): void {
    this.received(stamp, id);
    const resolve = this.#resolve!;
    this.#resolve = null;
    resolve(item);
  }

  release(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.(END);
  }

  /** Ends the wait with {@link RESUME}: nothing was handed over; look again. */
  resume(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.(RESUME as T);
  }

  /** Called synchronously when an item is handed over, before the wait resolves. */
  protected received(_stamp: number, _id: number): void {}

  /** Resolves with the next handed-over item, or {@link END}. */
  protected waitForItem(): Promise<T | End> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
}
