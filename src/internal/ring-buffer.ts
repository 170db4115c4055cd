/**
 * A growable ring buffer of items, each with a timestamp and an id kept in parallel arrays, used as a
 * double-ended queue. Capacity is a power of two and doubles when full; it never shrinks, so
 * a queue that once held n items keeps room for n (bounded by the queue's own capacity).
 *
 * Invariant: the live entries are at indexes head, head+1, …, head+length-1 (mod capacity).
 */
export class RingBuffer<T> {
  #items: (T | undefined)[];
  #stamps: Float64Array;
  // A plain array, not a Float64Array: ids are small integers (Smis), and a float read would be
  // boxed wherever it is passed on — an allocation per item.
  #ids: number[];
  #mask: number;
  #head = 0;
  #length = 0;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.#items = new Array(cap);
    this.#stamps = new Float64Array(cap);
    this.#ids = new Array<number>(cap).fill(0);
    this.#mask = cap - 1;
  }

  get length(): number {
    return this.#length;
  }

  /** Appends at the tail. */
  push(item: T, stamp: number, id: number): void {
    if (this.#length > this.#mask) this.#grow();
    const i = (this.#head + this.#length) & this.#mask;
    this.#items[i] = item;
    this.#stamps[i] = stamp;
    this.#ids[i] = id;
    this.#length++;
  }

  /** The stamp of the head entry; the caller checks `length` first. */
  headStamp(): number {
    return this.#stamps[this.#head]!;
  }

  /** The stamp of the tail entry; the caller checks `length` first. */
  tailStamp(): number {
    return this.#stamps[(this.#head + this.#length - 1) & this.#mask]!;
  }

  /** The id of the head entry; the caller checks `length` first. */
  headId(): number {
    return this.#ids[this.#head]!;
  }

  /** The id of the tail entry; the caller checks `length` first. */
  tailId(): number {
    return this.#ids[(this.#head + this.#length - 1) & this.#mask]!;
  }

  /** Removes the head entry; the caller checks `length` first. */
  shift(): T {
    const i = this.#head;
    const item = this.#items[i] as T;
    this.#items[i] = undefined;
    this.#head = (i + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes the tail entry; the caller checks `length` first. */
  pop(): T {
    const i = (this.#head + this.#length - 1) & this.#mask;
    const item = this.#items[i] as T;
    this.#items[i] = undefined;
    this.#length--;
    return item;
  }

  #grow(): void {
    const cap = this.#mask + 1;
    const items: (T | undefined)[] = new Array(cap * 2);
    const stamps = new Float64Array(cap * 2);
    const ids = new Array<number>(cap * 2).fill(0);
    for (let k = 0; k < this.#length; k++) {
      const i = (this.#head + k) & this.#mask;
      items[k] = this.#items[i];
      stamps[k] = this.#stamps[i]!;
      ids[k] = this.#ids[i]!;
    }
    this.#items = items;
    this.#stamps = stamps;
    this.#ids = ids;
    this.#head = 0;
    this.#mask = cap * 2 - 1;
  }
}
