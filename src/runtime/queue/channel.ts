import type { TimeCache } from "../../clock/clock.js";
import type { QueueDiscipline } from "../../model/options.js";
import { BoundedQueue } from "./bounded-queue.js";
import type { StageQueue, Taker } from "./stage-queue.js";

/** What `Taker.wait` resolves with when there will be no item: the input ended or the worker retires. */
export const END: unique symbol = Symbol("flowrhythm.end");
export type End = typeof END;

/** What a batch stage's taker is woken with: a batch is ready (full, due, or the input ended). */
export const READY: unique symbol = Symbol("flowrhythm.ready");

/** The reader side's hooks, called synchronously on the hot path. */
export interface ChannelHooks {
  /** An item entered (queued, or handed straight to a waiting taker). */
  enqueued(): void;
  /** Every feeder of the channel is done: no more items will come. */
  inputEnded(): void;
}

interface Writer<T> {
  item: T;
  id: number;
  resolve: (accepted: boolean) => void;
}

/**
 * The hand-off between two stages, in memory (the first {@link StageQueue}): a bounded queue, the takers waiting for items, and the
 * writers waiting for room.
 *
 * Invariants: takers wait only while the queue is empty, so an item is never queued while a
 * taker waits; a writer starts waiting only when the queue is full, and is let in once the
 * queue has drained to `admitAt` (capacity − 1 for stage outputs, so a blocked worker resumes
 * as soon as there is room; lower for the producer, which then refills a batch synchronously
 * instead of waking once per item). Once `closed`, no new writer comes; once `shut` (on stop,
 * or when a `Last` cuts the stage off), nothing more is accepted.
 *
 * A batch stage's channel (any batch size, 1 included) never hands items over one by one: its takers wait
 * while fewer than a batch are queued and are woken with {@link READY} once a batch is there,
 * when the stage's flush timer says one is due, or when the input closes with items left.
 */
export class Channel<T> implements StageQueue<T> {
  readonly values = "shared" as const;
  readonly queue: BoundedQueue<T>;
  closed = false;
  shut = false;
  readonly #takers: Taker<T>[] = [];
  readonly #writers: Writer<T>[] = [];
  readonly #cache: TimeCache;
  readonly #hooks: ChannelHooks;
  /** Waiting writers are let in when the queue length is at most this. */
  #admitAt: number;
  #feeders = 0;
  /** A batch stage's size: takers are woken once this many items are queued. 0: items are handed straight over. */
  #batch = 0;

  constructor(capacity: number, discipline: QueueDiscipline<T>, cache: TimeCache, hooks: ChannelHooks) {
    this.queue = new BoundedQueue<T>(capacity, discipline);
    this.#cache = cache;
    this.#hooks = hooks;
    this.#admitAt = capacity - 1;
  }

  /**
   * Lets waiting writers in only once the queue has drained by `fraction` of its capacity
   * (at least one slot): for the producer, whose wake-ups are pure overhead.
   */
  setRefillFraction(fraction: number): void {
    const cap = this.queue.capacity;
    if (Number.isFinite(cap)) this.#admitAt = cap - Math.max(1, Math.floor(cap * fraction));
  }

  /** Makes this a batch stage's channel (see the class comment). */
  setBatchSize(size: number): void {
    this.#batch = size;
  }

  /** {@link Outlet.send}: `offer`, else `put`. */
  send(item: T, id: number, _label?: unknown, signal?: AbortSignal): true | Promise<boolean> {
    return this.offer(item, id) ? true : this.put(item, id, signal);
  }

  /** {@link Outlet.hasRoom}: whether `offer` would take an item now. */
  hasRoom(): boolean {
    if (this.shut) return false;
    if (this.#takers.length > 0 && this.#batch === 0) return true;
    return this.queue.length < this.queue.capacity;
  }

  addFeeder(): void {
    this.#feeders++;
  }

  feederDone(): void {
    if (--this.#feeders === 0) this.#hooks.inputEnded();
  }

  /** Writers waiting for room. */
  get waitingWriters(): number {
    return this.#writers.length;
  }

  /** Takes an item without waiting, if one is ready; the fast path. */
  offer(item: T, id: number): boolean {
    if (this.shut) return false;
    const takers = this.#takers;
    if (takers.length > 0 && this.#batch === 0) {
      // A waiting taker means the queue is empty: hand over directly.
      const taker = takers.pop()!;
      taker.deliver(item, this.#cache.t, id);
      this.#hooks.enqueued();
      return true;
    }
    const q = this.queue;
    if (q.length >= q.capacity) return false;
    q.push(item, this.#cache.t, id);
    this.#pushed();
    return true;
  }

  #pushed(): void {
    this.#hooks.enqueued();
    if (this.#batch > 0 && this.#takers.length > 0 && this.queue.length >= this.#batch) this.wakeTaker();
  }

  /** Wakes the most recently waiting taker with {@link READY} (batch stages only). */
  wakeTaker(): void {
    const taker = this.#takers.pop();
    taker?.deliver(READY as T, this.#cache.t, 0);
  }

  /**
   * Waits for room, after `offer` refused. Resolves `false` if the channel was shut meanwhile, or
   * if `signal` aborted before the item got in (the writer is withdrawn).
   */
  put(item: T, id: number, signal?: AbortSignal): Promise<boolean> {
    if (this.shut) return Promise.resolve(false);
    if (this.offer(item, id)) return Promise.resolve(true);
    if (signal === undefined) return new Promise((resolve) => this.#writers.push({ item, id, resolve }));
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const writer: Writer<T> = {
        item,
        id,
        resolve: (accepted) => {
          signal.removeEventListener("abort", withdraw);
          resolve(accepted);
        },
      };
      const withdraw = (): void => {
        const i = this.#writers.indexOf(writer);
        if (i < 0) return;
        this.#writers.splice(i, 1);
        resolve(false);
      };
      signal.addEventListener("abort", withdraw, { once: true });
      this.#writers.push(writer);
    });
  }

  /** Removes the next item; the caller checked `queue.length`. Lets one waiting writer in. */
  take(): T {
    const q = this.queue;
    const item = q.take();
    if (this.#writers.length > 0 && q.length <= this.#admitAt) this.#admitWriter();
    return item;
  }

  /**
   * Registers `taker` to receive the next item. Returns `false`, without registering, when
   * the channel is closed and empty: there will be no next item.
   */
  wait(taker: Taker<T>): boolean {
    if (this.closed && this.queue.length === 0) return false;
    this.#takers.push(taker);
    return true;
  }

  /** Withdraws the longest-waiting taker (scale-down of an idle worker) and releases it. */
  withdrawFirst(): Taker<T> | undefined {
    const taker = this.#takers.shift();
    taker?.release();
    return taker;
  }

  /** No more writers will come: takers waiting on an empty queue are released. */
  close(): void {
    this.closed = true;
    if (this.queue.length === 0) this.#releaseTakers();
    else while (this.#takers.length > 0) this.wakeTaker(); // a batch stage: take the partial batches
  }

  /**
   * Stop: refuses everything from now on, releases takers and writers (writers get `false`),
   * and hands each item that was queued to `drop`, with its id, for the caller to report.
   */
  shutDown(drop: (entry: T, id: number) => void): void {
    this.shut = true;
    this.closed = true;
    const items: T[] = [];
    const ids: number[] = [];
    const q = this.queue;
    while (q.length > 0) {
      items.push(q.take());
      ids.push(q.takenId);
    }
    const writers = this.#writers.splice(0);
    for (const w of writers) w.resolve(false);
    this.#releaseTakers();
    for (let i = 0; i < items.length; i++) drop(items[i]!, ids[i]!);
  }

  #admitWriter(): void {
    const w = this.#writers.shift()!;
    this.queue.push(w.item, this.#cache.t, w.id);
    this.#pushed();
    w.resolve(true);
  }

  #releaseTakers(): void {
    const takers = this.#takers.splice(0);
    for (const t of takers) t.release();
  }
}
