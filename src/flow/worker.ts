import { END } from "./channel.js";
import { LastValue } from "./last.js";
import type { Outlet } from "./outlets.js";
import { Slot, type SlotKind } from "./reorder-buffer.js";
import { Entry, type Stage } from "./stage.js";
import type { StageContext, WorkerInfo, WorkerResource } from "./types.js";
import { WaitingTaker } from "./waiting-taker.js";

/** A worker's state; each worker is in exactly one, and the stage's stats count them. */
export const WorkerState = { Starting: 0, Idle: 1, Busy: 2, Blocked: 3, Exited: 4 } as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

const noop = (): void => {};

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof (v as PromiseLike<unknown>).then === "function"
  );
}

/** `takeAndCall` results that are not a call's result. */
export const WAIT: unique symbol = Symbol("wait");
export const EXIT: unique symbol = Symbol("exit");
export const FAILED: unique symbol = Symbol("failed");

/**
 * One async loop that takes items from its stage's input, runs the stage's function and hands
 * the result on. A worker is idle exactly while it waits for input, busy while it holds an item
 * it has not handed on, and blocked while it waits for room downstream (or in the stage's
 * reorder buffer).
 *
 * The loop awaits nothing of the framework's while input is queued and downstream has room:
 * only the user's function (and not even that when it returns a plain value).
 */
export class Worker extends WaitingTaker<unknown> {
  state: WorkerState = WorkerState.Starting;
  /** Set when the worker should exit after its current item. */
  retiring = false;
  readonly info: WorkerInfo;
  readonly ctx: StageContext;
  /** Settles once the worker has exited and its resource is closed. */
  exited: Promise<void> = Promise.resolve();
  protected handedStamp = 0;
  protected fn: (item: unknown, ctx: StageContext) => unknown = noop;
  protected countdown: number;
  /** The entry in hand (for error reports), its timing start (-1: not timed), its error, its sequence number. */
  protected item: unknown = undefined;
  protected t0 = -1;
  protected error: unknown = undefined;
  protected seq = 0;

  constructor(
    readonly stage: Stage,
    id: number,
  ) {
    super();
    this.info = { id, data: {} };
    this.ctx = { signal: stage.run.signal, attempt: 1, stage: stage.name, worker: this.info };
    this.countdown = stage.run.sampleEvery;
  }

  /** Starts the loop; the stage has counted the worker as starting. */
  start(): void {
    this.exited = this.#run();
  }

  protected override received(stamp: number): void {
    this.stage.setState(this, WorkerState.Busy);
    this.handedStamp = stamp;
  }

  async #run(): Promise<void> {
    const stage = this.stage;
    let resource: WorkerResource<unknown, unknown> | null = null;
    try {
      if (stage.factory) {
        try {
          resource = await stage.factory(this.info);
        } catch (error) {
          stage.setupFailed(error);
          return;
        }
        const r = resource;
        this.fn = (item, ctx) => r.process(item, ctx);
      } else this.fn = stage.fn!;
      await this.#loop();
    } finally {
      if (resource && typeof resource.close === "function") {
        try {
          await resource.close();
        } catch (error) {
          stage.closeFailed(error);
        }
      }
      stage.workerExited(this);
    }
  }

  // The loop is split so that the async part holds almost nothing across its awaits: an
  // await saves every live local of the async function, and the per-item bookkeeping lives in
  // the synchronous helpers below, with the item's own state in fields.
  async #loop(): Promise<void> {
    for (;;) {
      let out = this.takeAndCall();
      while (out === WAIT) {
        const entry = await this.waitForItem();
        if (entry === END) return;
        out = this.callWaited(entry);
      }
      if (out === EXIT) return;
      let pending: undefined | Promise<void>;
      if (out === FAILED) pending = this.fail(this.error);
      else if (isThenable(out)) {
        try {
          out = await out;
          pending = this.handOn(out);
        } catch (error) {
          pending = this.fail(error);
        }
      } else pending = this.handOn(out);
      if (pending !== undefined) await pending;
    }
  }

  /** Takes the next queued item and calls the function on it, or says to wait or to exit. */
  protected takeAndCall(): unknown {
    if (this.retiring) return EXIT;
    const stage = this.stage;
    const input = stage.input;
    const queue = input.queue;
    if (queue.length > 0) {
      if (this.state !== WorkerState.Busy) stage.setState(this, WorkerState.Busy);
      const entry = input.take();
      return this.#call(entry, queue.takenStamp, --this.countdown === 0);
    }
    if (this.state !== WorkerState.Idle) stage.setState(this, WorkerState.Idle);
    return input.wait(this) ? WAIT : EXIT;
  }

  /** Calls the function on an entry handed over while the worker waited. */
  protected callWaited(entry: unknown): unknown {
    return this.#call(entry, this.handedStamp, true);
  }

  /** Runs the function on a dequeued entry; returns its result, or FAILED if it threw. */
  #call(entry: unknown, stamp: number, timed: boolean): unknown {
    const stage = this.stage;
    this.begin(stamp, timed);
    this.item = entry;
    try {
      return this.fn(stage.entryKind === Entry.Plain ? entry : stage.arg(entry), this.ctx);
    } catch (error) {
      this.error = error;
      return FAILED;
    }
  }

  /** Books a dequeue (and starts timing the call when `timed` and the recorder has room). */
  protected begin(stamp: number, timed: boolean): void {
    const stage = this.stage;
    const metrics = stage.metrics;
    const cache = stage.run.cache;
    metrics.lastDequeueAt = cache.t;
    stage.controller.onDequeue();
    if (stage.reorder !== null) this.seq = stage.reorder.take();
    this.t0 = -1;
    if (timed) {
      this.countdown = stage.run.sampleEvery;
      if (metrics.latency.hasRoom) {
        const t0 = cache.read();
        this.t0 = t0;
        metrics.queueWait.record(t0 - stamp);
      }
    }
  }

  /** Books `count` completed items (and the call's latency when it was timed). */
  protected booked(count: number): void {
    const stage = this.stage;
    const metrics = stage.metrics;
    if (this.t0 >= 0) metrics.latency.record(stage.run.cache.read() - this.t0);
    metrics.processed += count;
  }

  /** Hands a call's result on; returns what to await before the next item, if anything. */
  protected handOn(out: unknown): undefined | Promise<void> {
    const stage = this.stage;
    const entry = this.item;
    this.item = undefined;
    this.booked(1);
    if (out instanceof LastValue) return this.last(entry, out.value);
    let value = out;
    if (stage.classifier) value = entry;
    else if (stage.entryKind !== Entry.Plain) value = stage.output(entry, out);
    const reorder = stage.reorder;
    if (reorder !== null) return reorder.complete(this, this.seq, Slot.Single, value, out);
    return this.sendTo(stage.outlet, value, out);
  }

  /** The call for the entry in hand threw `error`. */
  protected fail(error: unknown): Promise<void> {
    const entry = this.item;
    this.item = undefined;
    this.error = undefined;
    return this.failEntry(entry, error, Slot.Hole);
  }

  /** Reports `entry` failed and completes its reorder slot (with `slot`'s outcome: a hole). */
  protected failEntry(entry: unknown, error: unknown, slot: SlotKind): Promise<void> {
    const stage = this.stage;
    const reported = stage.failed(entry, error, this.ctx.attempt);
    const reorder = stage.reorder;
    if (reorder === null) return reported;
    const r = reorder.complete(this, this.seq, slot, undefined, undefined);
    return r === undefined ? reported : Promise.all([reported, r]).then(noop);
  }

  /** The call for `entry` returned `Last(value)`. */
  protected last(entry: unknown, value: unknown): undefined | Promise<void> {
    const stage = this.stage;
    if (stage.classifier || stage.spec.inBranch) {
      const where = stage.classifier
        ? "a router's classifier"
        : "a stage inside a fan-out branch (return it from the merge instead)";
      return this.failEntry(entry, new Error(`Last() cannot be returned by ${where}`), Slot.Hole);
    }
    stage.run.lastReturned(stage);
    const out = stage.entryKind === Entry.Plain ? value : stage.output(entry, value);
    if (stage.reorder !== null) return stage.reorder.complete(this, this.seq, Slot.Last, out, out);
    return this.sendTo(stage.takeOutletForLast(), out, out);
  }

  /** Sends `value` to `outlet`; when it must wait, waits blocked and drops it if refused. */
  sendTo(outlet: Outlet, value: unknown, label: unknown): undefined | Promise<void> {
    const r = outlet.send(value, label);
    if (r === true) return undefined;
    return this.#whileBlocked(r, value);
  }

  async #whileBlocked(r: Promise<boolean>, value: unknown): Promise<void> {
    const stage = this.stage;
    stage.setState(this, WorkerState.Blocked);
    const accepted = await r;
    stage.setState(this, WorkerState.Busy);
    if (!accepted) stage.drop(value, stage.run.refusalReason());
  }

  /** Waits, counted as blocked, until `p` settles. */
  async waitBlocked(p: Promise<void>): Promise<void> {
    const stage = this.stage;
    stage.setState(this, WorkerState.Blocked);
    await p;
    stage.setState(this, WorkerState.Busy);
  }
}
