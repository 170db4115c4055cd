import type { Outlet } from "../outlet/outlets.js";

/** What is queued where the stage's workers take from (for a remote queue: its local prefetch). */
export interface QueuedView {
  readonly length: number;
  readonly capacity: number;
  /** The enqueue stamp of the entry taken last (for queue wait). */
  readonly takenStamp: number;
  /** The id of the entry taken last (the item's, beside it). */
  readonly takenId: number;
  /** The enqueue stamp of the oldest entry queued, or `null` when none is. */
  oldestStamp(): number | null;
}

/** Something that waits for entries: a worker, or the reader of `stream()`. */
export interface Taker<T> {
  /** Hands over an entry taken for this taker; its wait resolves with it. */
  deliver(entry: T, stamp: number, id: number): void;
  /** Ends the wait with no entry (`END`). */
  release(): void;
}

/**
 * Where a stage's input queue lives: in memory today ({@link Channel}), in Redis next. Upstream
 * sees an {@link Outlet} (plus `offer`/`put`); the stage's workers take from it; the runtime
 * closes it or shuts it down.
 *
 * Every implementation gives these guarantees (the contract suite in `test/contracts` checks
 * them, and a new implementation must pass it):
 * - **Bounded.** Never more than `capacity` entries queued: a full queue refuses `offer` and makes
 *   `put` wait (backpressure reaches the writer).
 * - **Exactly once.** Every entry accepted (`offer` true, `put` resolved true) goes to exactly
 *   one taker or comes back from `shutDown`; a refused entry (false) is still the writer's.
 * - **Order.** `fifo` entries leave in the order they were accepted (`lifo` and priority as
 *   their discipline says).
 * - **Hand-over.** A taker that waits gets an entry as soon as one is accepted; once the queue is
 *   closed and empty, every taker is released, and `wait` refuses new ones.
 * - **Shutdown.** `shutDown` accepts nothing more, answers waiting writers `false`, releases
 *   takers, and hands what was queued to the caller to report.
 * - **Ids.** Each entry keeps the id it was accepted with: a taker gets it beside the entry
 *   (`deliver`'s `id`, or `queue.takenId` after `take`).
 *
 * Where a queue may differ (a queue in another process, as a BullMQ sketch against this interface
 * showed): `offer` may refuse whenever it cannot accept synchronously (a writer then `put`s);
 * `queue` is the local prefetch its workers take from, while the backlog lives elsewhere.
 *
 * What a queue in another process will add (designed here, built with it):
 * - Entries cross processes as `json` (BullMQ stores JSON: lossier than structured clone — no
 *   `Date`, `Map`, `undefined`, `BigInt`), so the build must refuse what cannot cross.
 * - Acknowledgement: a queue-level `settle(entry, outcome)` the stage calls at each entry's
 *   outcome here (handed on, failed, dropped), only for a queue that says it acknowledges — one
 *   branch on a per-stage constant, as `entryKind` is — so in-memory entries pay nothing. (An entry
 *   kind of its own was considered: kinds do not nest, a remote stage inside a fan-out branch
 *   would need two, and acknowledging is asynchronous.) An entry whose process died before
 *   acknowledging is handed out again when its lock expires (at least once); ids made of run,
 *   item and stage keep the flow's counts exactly once. Entries held in a prefetch or a retry
 *   backoff need their locks extended.
 * - `backlog()`, read on the tick, for what scaling sees; `shutDown` that keeps durable entries
 *   for the next run (an outcome of their own, so conservation still adds up); `wait` and `close`
 *   whose "empty" and "no more writers" are facts shared across processes (released eventually).
 * - Separate input and output types: writers send plain values, takers get entries.
 */
export interface StageQueue<T> extends Outlet {
  /**
   * `shared`: entries are the very values sent; `cloned`: structured-clone copies (another
   * thread); `json`: copies that went through JSON (another process).
   */
  readonly values: "shared" | "cloned" | "json";
  readonly queue: QueuedView;
  /** Set by `close` (and `shutDown`): no new writers. */
  readonly closed: boolean;
  /** Set by `shutDown`: nothing more is accepted. */
  readonly shut: boolean;
  /** Writers waiting for room. */
  readonly waitingWriters: number;
  /** Takes an entry (with its item's id) without waiting if there is room (or a waiting taker); false otherwise. */
  offer(entry: T, id: number): boolean;
  /** Waits for room after `offer` refused; false if shut meanwhile or `signal` aborted first. */
  put(entry: T, id: number, signal?: AbortSignal): Promise<boolean>;
  /** Removes the next entry (its id is then `queue.takenId`); the caller checked `queue.length`. */
  take(): T;
  /**
   * Registers `taker` for the next entry (the caller found nothing queued); false, without
   * registering, once closed and empty.
   */
  wait(taker: Taker<T>): boolean;
  /** Withdraws the longest-waiting taker and releases it (retiring an idle worker). */
  withdrawFirst(): Taker<T> | undefined;
  /** Wakes one waiting taker to look again (a batch fell due). */
  wakeTaker(): void;
  /** No more writers will come; what is queued still goes out. */
  close(): void;
  /** Refuses everything from now on; hands what was queued to `drop`, with each entry's id. */
  shutDown(drop: (entry: T, id: number) => void): void;
  /** Tuning: hand entries to takers only in batches of `size` (a batch stage). */
  setBatchSize(size: number): void;
  /** Tuning: let waiting writers in only after `fraction` of the capacity has drained. */
  setRefillFraction(fraction: number): void;
}
