/**
 * A sketch, not run: how a BullMQ-backed queue would implement `StageQueue`, written against the
 * interface so the compiler shows where it fits and where it cannot. The BullMQ surface used is
 * declared below (the shapes of bullmq 5: `Queue.add`, `Worker.getNextJob`, `Job.moveToCompleted`,
 * `moveToFailed`, `extendLock`), so this file compiles without the dependency.
 *
 * Marked in the code: FITS (a direct mapping), BENT (works, with a cost or a weaker guarantee),
 * CANNOT (the interface asks for something a remote queue cannot give).
 */
import type { QueuedView, StageQueue, Taker } from "../../../src/runtime/queue/stage-queue.js";

// ---- the BullMQ surface this sketch uses --------------------------------------------------
interface BullJob<D> {
  readonly id: string;
  readonly data: D;
  readonly timestamp: number;
  moveToCompleted(value: unknown, token: string, fetchNext: false): Promise<unknown>;
  moveToFailed(error: Error, token: string, fetchNext: false): Promise<void>;
  extendLock(token: string, ms: number): Promise<number>;
}
interface BullQueue<D> {
  add(
    name: string,
    data: D,
    opts: { jobId?: string; priority?: number; lifo?: boolean },
  ): Promise<BullJob<D>>;
  getWaitingCount(): Promise<number>;
}
interface BullWorker<D> {
  getNextJob(token: string, opts?: { block?: boolean }): Promise<BullJob<D> | undefined>;
  close(): Promise<void>;
}

/** What crosses: JSON, not structured clone (BullMQ stores `JSON.stringify(data)`). */
type Wire = { id: string; value: unknown };

/**
 * The entry a remote queue hands its takers: the value, and its acknowledgement (the "entry kind
 * of its own" of ADR 0028). The stage settles it on the paths it has: handed on, failed, dropped.
 */
export class RemoteEntry {
  constructor(
    readonly value: unknown,
    readonly job: BullJob<Wire>,
    readonly token: string,
  ) {}
  /** Output handed on downstream (its `add` resolved): the job is done. */
  ack(): Promise<unknown> {
    return this.job.moveToCompleted(null, this.token, false);
  }
  /** Failed or dropped for good. */
  nack(error: Error): Promise<void> {
    return this.job.moveToFailed(error, this.token, false);
  }
}

export class BullStageQueue implements StageQueue<RemoteEntry> {
  // BENT: BullMQ serialises with JSON — Dates become strings, Map/Set/undefined/BigInt are lost.
  // That is a third kind, not "cloned": the build would need to know which one to check for.
  readonly values = "cloned" as const;
  closed = false;
  shut = false;
  /** The local prefetch: entries already taken from Redis (active, locked by this process). */
  readonly #prefetch: RemoteEntry[] = [];
  readonly #takers: Taker<RemoteEntry>[] = [];
  readonly #writers: { entry: RemoteEntry | unknown; resolve: (ok: boolean) => void }[] = [];
  /** The backlog in Redis as last read (refreshed on the tick): what scaling should read. */
  #backlog = 0;
  #takenStamp = 0;
  #feeders = 0;

  constructor(
    private readonly bull: BullQueue<Wire>,
    private readonly worker: BullWorker<Wire>,
    /** Bound of the backlog in Redis (BullMQ has none: enforced here, approximately). */
    private readonly capacity: number,
    /** How many entries this process holds locked at once; each needs its lock extended. */
    private readonly prefetchSize: number,
    private readonly token: string,
    private readonly lockMs: number,
    private readonly newId: (value: unknown) => string,
  ) {}

  // FITS for the prefetch; CANNOT for the backlog: `length` and `oldestStamp()` are synchronous
  // reads, so they can only describe what is local. StageStats.queueLength (what every strategy
  // reads) would then say "prefetch" — near 0 — while Redis holds the backlog.
  get queue(): QueuedView {
    const prefetch = this.#prefetch;
    return {
      length: prefetch.length,
      capacity: this.prefetchSize,
      takenStamp: this.#takenStamp,
      takenId: 0, // the item's id would travel in the job's data
      oldestStamp: () => (prefetch.length === 0 ? null : prefetch[0]!.job.timestamp),
    };
  }

  get waitingWriters(): number {
    return this.#writers.length; // FITS (local writers)
  }

  // CANNOT: "takes an entry without waiting if there is room" — accepting means a Redis round trip.
  // Answering false always is the only honest synchronous answer; every send then goes through
  // `put` (a promise per item, which a remote queue pays anyway). The contract's first test
  // ("accepts capacity entries, then refuses offer") fails for it as written.
  offer(_entry: RemoteEntry): boolean {
    return false;
  }

  // BENT: the value sent upstream is not a RemoteEntry: upstream sends plain values and this queue
  // makes the entry; StageQueue<T> uses one T for both directions.
  // FITS otherwise: room is checked against the last backlog read (approximate across
  // processes unless done in one Lua script), the id makes a redelivered upstream send a no-op.
  async put(entry: RemoteEntry | unknown, _id: number, signal?: AbortSignal): Promise<boolean> {
    if (this.shut || signal?.aborted) return false;
    while (this.#backlog >= this.capacity) {
      const ok = await new Promise<boolean>((resolve) => this.#writers.push({ entry, resolve }));
      if (!ok || this.shut) return false;
    }
    // From here the entry is in flight: an abort can no longer withdraw it (the contract's
    // "withdraws a writer whose signal aborts before it got in" holds only up to this line).
    const value = entry instanceof RemoteEntry ? entry.value : entry;
    await this.bull.add("item", { id: this.newId(value), value }, { jobId: this.newId(value) });
    this.#backlog++;
    return true;
  }

  // FITS, given the caller checked `queue.length` (the prefetch).
  take(): RemoteEntry {
    const entry = this.#prefetch.shift()!;
    this.#takenStamp = entry.job.timestamp;
    void this.#fill();
    return entry;
  }

  // BENT: "false once closed and empty" needs "and Redis is empty", an async fact. The taker is
  // registered instead and released later by `#fill` when Redis answers nothing and the input is
  // closed everywhere (a key in Redis, since writers may be other processes).
  wait(taker: Taker<RemoteEntry>): boolean {
    if (this.closed && this.#prefetch.length === 0 && this.#backlog === 0) return false;
    this.#takers.push(taker);
    void this.#fill();
    return true;
  }

  withdrawFirst(): Taker<RemoteEntry> | undefined {
    const t = this.#takers.shift(); // FITS
    t?.release();
    return t;
  }

  wakeTaker(): void {
    // FITS (batch stages wake a taker when a batch is due)
  }

  // BENT: local only. "No more writers" in a distributed queue is a fact about every writing
  // process: it needs a count of feeders in Redis (addFeeder/feederDone are per process today).
  close(): void {
    this.closed = true;
    if (this.#prefetch.length === 0 && this.#backlog === 0)
      for (const t of this.#takers.splice(0)) t.release();
  }

  // CANNOT as specified: "returns what was queued" for the caller to report dropped. What sits in
  // Redis is durable — the reason to use Redis — and should stay for the next run; the prefetched
  // entries should go back (their locks released), not be dropped. Neither is returned
  // synchronously, and neither is an outcome the flow's accounting knows (consumed, failed,
  // dropped): a fourth, "left in the queue", is needed.
  shutDown(): RemoteEntry[] {
    this.shut = true;
    this.closed = true;
    for (const w of this.#writers.splice(0)) w.resolve(false);
    for (const t of this.#takers.splice(0)) t.release();
    return this.#prefetch.splice(0); // what the interface allows: they are reported dropped
  }

  setBatchSize(_size: number): void {} // FITS: prefetch at least a batch
  setRefillFraction(_fraction: number): void {} // FITS (local writers)

  // Outlet
  send(value: unknown, id: number, _label?: unknown, signal?: AbortSignal): true | Promise<boolean> {
    return this.put(value, id, signal);
  }
  // BENT: a synchronous guess from the last backlog read (push mode's trySend).
  hasRoom(): boolean {
    return !this.shut && this.#backlog < this.capacity;
  }
  addFeeder(): void {
    this.#feeders++;
  }
  feederDone(): void {
    if (--this.#feeders === 0) this.close();
  }

  /** Keeps the prefetch full and hands entries to waiting takers; extends locks of what waits. */
  async #fill(): Promise<void> {
    while (
      !this.shut &&
      this.#prefetch.length + this.#takers.length > 0 &&
      this.#prefetch.length < this.prefetchSize
    ) {
      const job = await this.worker.getNextJob(this.token, { block: false });
      if (job === undefined) return;
      this.#backlog = Math.max(0, this.#backlog - 1);
      const entry = new RemoteEntry(job.data.value, job, this.token);
      const taker = this.#takers.pop();
      if (taker !== undefined) taker.deliver(entry, job.timestamp, 0);
      else this.#prefetch.push(entry);
      // A prefetched entry waits unprocessed while its lock runs: past lockMs BullMQ hands it to
      // another process (a duplicate), so each one needs extendLock on a timer — or a prefetch
      // no larger than the workers about to take it.
      void job.extendLock(this.token, this.lockMs);
    }
  }

  /** On the tick: the backlog in Redis, for stats and scaling (see `queue` above). */
  async refreshBacklog(): Promise<void> {
    this.#backlog = await this.bull.getWaitingCount();
    const w = this.#writers.shift();
    if (w !== undefined && this.#backlog < this.capacity) w.resolve(true);
  }
}
