import { END, type End, type Taker } from "./channel.js";

/**
 * A taker that waits for one item at a time: the shared part of a worker and the stream reader.
 * At most one wait is pending; `deliver` and `release` settle it.
 */
export abstract class WaitingTaker<T> implements Taker<T> {
  #resolve: ((value: T | End) => void) | null = null;

  deliver(item: T, stamp: number): void {
    this.received(stamp);
    const resolve = this.#resolve!;
    this.#resolve = null;
    resolve(item);
  }

  release(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.(END);
  }

  /** Called synchronously when an item is handed over, before the wait resolves. */
  protected received(_stamp: number): void {}

  /** Resolves with the next handed-over item, or {@link END}. */
  protected waitForItem(): Promise<T | End> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
}
