import { PriorityHeap } from "../../internal/priority-heap.js";
import { RingBuffer } from "../../internal/ring-buffer.js";
import type { QueueDiscipline } from "../../model/options.js";

/**
 * A stage's input queue: bounded, ordered FIFO, LIFO or by priority, with each item's enqueue
 * stamp (for queue wait and the age of the oldest item) and its id kept beside it.
 *
 * The queue itself never refuses a push: the {@link Channel} around it checks `isFull()` first
 * and makes writers wait, which is where backpressure lives.
 */
export class BoundedQueue<T> {
  /** The most items the queue holds; `Infinity` opts out of the bound. */
  readonly capacity: number;
  /** The stamp of the item removed by the last {@link BoundedQueue.take}. */
  takenStamp = 0;
  /** The id of the item removed by the last {@link BoundedQueue.take}. */
  takenId = 0;
  readonly #ring: RingBuffer<T> | null;
  readonly #heap: PriorityHeap<T> | null;
  readonly #lifo: boolean;
  readonly #priority: ((item: T) => number) | null;

  constructor(capacity: number, discipline: QueueDiscipline<T> = "fifo") {
    this.capacity = capacity;
    this.#lifo = discipline === "lifo";
    if (typeof discipline === "object") {
      this.#priority = discipline.priority;
      this.#heap = new PriorityHeap<T>();
      this.#ring = null;
    } else {
      this.#priority = null;
      this.#heap = null;
      this.#ring = new RingBuffer<T>(Math.min(capacity, 1024));
    }
  }

  get length(): number {
    return this.#ring ? this.#ring.length : this.#heap!.length;
  }

  isFull(): boolean {
    return this.length >= this.capacity;
  }

  /** Adds an item; the caller has checked `isFull()`. */
  push(item: T, stamp: number, id: number): void {
    if (this.#ring) this.#ring.push(item, stamp, id);
    else this.#heap!.push(item, stamp, this.#priority!(item), id);
  }

  /** Removes the next item to serve and sets `takenStamp` and `takenId`; the caller has checked `length`. */
  take(): T {
    const ring = this.#ring;
    if (ring) {
      if (this.#lifo) {
        this.takenStamp = ring.tailStamp();
        this.takenId = ring.tailId();
        return ring.pop();
      }
      this.takenStamp = ring.headStamp();
      this.takenId = ring.headId();
      return ring.shift();
    }
    const heap = this.#heap!;
    const item = heap.pop();
    this.takenStamp = heap.lastStamp;
    this.takenId = heap.lastId;
    return item;
  }

  /** When the oldest item still queued was enqueued, or `null` when empty. */
  oldestStamp(): number | null {
    if (this.length === 0) return null;
    return this.#ring ? this.#ring.headStamp() : this.#heap!.minStamp();
  }
}
