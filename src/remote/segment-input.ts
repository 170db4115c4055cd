import type { Acked } from "../model/item/acked.js";

/**
 * A remote segment's source: the items its stage server took from Redis, in the order they came,
 * each with the id it has in the feeder's run (`lastId`, read by the run as the item enters).
 */
export class SegmentInput implements AsyncIterable<Acked<unknown>> {
  readonly #items: { value: Acked<unknown>; id: number }[] = [];
  #waiter: ((r: IteratorResult<Acked<unknown>>) => void) | null = null;
  #ended = false;
  lastId = 0;

  /** Whether `end()` was called. */
  get ended(): boolean {
    return this.#ended;
  }

  push(value: Acked<unknown>, id: number): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      this.lastId = id;
      waiter({ value, done: false });
    } else this.#items.push({ value, id });
  }

  /** No more items: the run takes what is here, then ends. */
  end(): void {
    this.#ended = true;
    if (this.#waiter !== null && this.#items.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter({ value: undefined, done: true });
    }
  }

  /** Items pushed that the run never took (it stopped first). */
  takeLeft(): { value: Acked<unknown>; id: number }[] {
    return this.#items.splice(0);
  }

  [Symbol.asyncIterator](): AsyncIterator<Acked<unknown>> {
    return {
      next: () => {
        const next = this.#items.shift();
        if (next !== undefined) {
          this.lastId = next.id;
          return Promise.resolve({ value: next.value, done: false });
        }
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#waiter = resolve;
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
