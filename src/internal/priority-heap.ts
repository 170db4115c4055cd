import { BinaryHeap } from "./binary-heap.js";

interface HeapEntry<T> {
  item: T;
  stamp: number;
  priority: number;
  seq: number;
  id: number;
}

/**
 * Items ordered by priority, highest first; equal priorities leave in arrival order (the
 * sequence number breaks ties), so a priority queue whose items all score the same behaves
 * like a FIFO.
 */
export class PriorityHeap<T> {
  readonly #heap = new BinaryHeap<HeapEntry<T>>(
    (a, b) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq),
  );
  #seq = 0;
  /** The stamp of the entry removed by the last {@link PriorityHeap.pop}. */
  lastStamp = 0;
  /** The id of the entry removed by the last {@link PriorityHeap.pop}. */
  lastId = 0;

  get length(): number {
    return this.#heap.length;
  }

  push(item: T, stamp: number, priority: number, id: number): void {
    this.#heap.push({ item, stamp, priority, seq: this.#seq++, id });
  }

  /** Removes the entry to serve next; the caller checks `length` first. */
  pop(): T {
    const top = this.#heap.pop();
    this.lastStamp = top.stamp;
    this.lastId = top.id;
    return top.item;
  }

  /** The earliest stamp of any entry (a scan: for stats reads, not the hot path). */
  minStamp(): number | null {
    let min: number | null = null;
    for (const e of this.#heap.values()) if (min === null || e.stamp < min) min = e.stamp;
    return min;
  }
}
