interface HeapEntry<T> {
  item: T;
  stamp: number;
  priority: number;
  seq: number;
}

/**
 * A binary max-heap on priority; equal priorities leave in arrival order (the sequence number
 * breaks ties), so a priority queue whose items all score the same behaves like a FIFO.
 */
export class PriorityHeap<T> {
  readonly #heap: HeapEntry<T>[] = [];
  #seq = 0;
  /** The stamp of the entry removed by the last {@link PriorityHeap.pop}. */
  lastStamp = 0;

  get length(): number {
    return this.#heap.length;
  }

  push(item: T, stamp: number, priority: number): void {
    const h = this.#heap;
    h.push({ item, stamp, priority, seq: this.#seq++ });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Removes the entry to serve next; the caller checks `length` first. */
  pop(): T {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    this.lastStamp = top.stamp;
    return top.item;
  }

  /** The earliest stamp of any entry (a scan: for stats reads, not the hot path). */
  minStamp(): number | null {
    let min: number | null = null;
    for (const e of this.#heap) if (min === null || e.stamp < min) min = e.stamp;
    return min;
  }

  #before(a: HeapEntry<T>, b: HeapEntry<T>): boolean {
    return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
  }
}
