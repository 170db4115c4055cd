/**
 * A binary min-heap under a caller-given order (`before(a, b)`: a leaves first). Used for the
 * priority queue discipline and the virtual clock's timers.
 */
export class BinaryHeap<T> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The entry that leaves next, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(entry: T): void {
    const h = this.#items;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Removes and returns the entry that leaves next; the caller checks `length` first. */
  pop(): T {
    const h = this.#items;
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
    return top;
  }

  /** Every entry, in no particular order (for scans outside the hot path). */
  values(): readonly T[] {
    return this.#items;
  }
}
