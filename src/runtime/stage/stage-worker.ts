import { isThenable } from "../../internal/is-thenable.js";
import { CallSignal } from "./call-signal.js";
import { END } from "../queue/channel.js";
import { LastValue } from "../../model/item/last.js";
import { Skip } from "../../model/item/skip.js";
import type { Outlet } from "../outlet/outlets.js";
import { Slot, type SlotKind } from "../outlet/reorder-buffer.js";
import { Entry } from "../../plan/stage-spec.js";
import { type AttemptOwner, FAILED, noteOverload, retryItem, withDeadline, worthRetry } from "./attempts.js";
import { type PooledWorker, type WorkerHost, WorkerState } from "./worker-host.js";
import type { StageContext, WorkerInfo } from "../../model/types.js";
import { RESUME, WaitingTaker } from "../queue/waiting-taker.js";
import type { Lane } from "./call-site.js";
import { WorkerContext } from "./worker-context.js";
import { blockedUntil, giveUpSlot, handLast, whileBlocked } from "./hand-on.js";

const noop = (): void => {};
/**
 * A worker times this many calls whole before sampling one in `timingSampleEvery`: a pool that
 * grows learns the processing time of its newest workers at once (a round of slow start lasts a
 * call time or two, too short for one call in eight to say what a call costs).
 */
const WARM_TIMED = 8;
const RESOLVED: Promise<void> = Promise.resolve();

/** `takeAndCall` results that are not a call's result. */
export const WAIT: unique symbol = Symbol("wait");
export const EXIT: unique symbol = Symbol("exit");
/** `item` when the worker holds no item (an item may itself be `undefined`). */
export const NOTHING: unique symbol = Symbol("nothing");

/**
 * One async loop that takes items from its stage's input, runs the stage's function and hands
 * the result on. A worker is idle exactly while it waits for input, busy while it holds an item
 * it has not handed on, and blocked while it waits for room downstream (or in the stage's
 * reorder buffer).
 *
 * The loop awaits nothing of the framework's while input is queued and downstream has room:
 * only the user's function (and not even that when it returns a plain value).
 */
export class StageWorker extends WaitingTaker<unknown> implements PooledWorker, AttemptOwner {
  state: WorkerState = WorkerState.Starting;
  /** Set when the worker should exit after its current item. */
  retiring = false;
  readonly info: WorkerInfo;
  readonly ctx: WorkerContext;
  /** Settles once the worker has exited and its resource is closed. */
  exited: Promise<void> = Promise.resolve();
  protected handedStamp = 0;
  protected handedId = 0;
  protected fn: (item: unknown, ctx: StageContext) => unknown = noop;
  /** Calls until the next timed one; a worker times its first {@link WARM_TIMED} calls whole. */
  protected countdown = 1;
  #timed = 0;
  /** The entry in hand (for error reports), its timing start (-1: not timed), its error, its sequence number. */
  protected item: unknown = NOTHING;
  t0 = -1;
  protected error: unknown = undefined;
  seq = 0;
  /** Set when the stage's factory kept failing: calls fail with the stage's setup error. */
  broken = false;
  /** Behind `ctx.signal`; counts the calls a timeout left running. */
  calls: CallSignal | null = null;
  /**
   * Set when `stop()` gave up on the worker (it did not finish within `closeTimeoutMs`): its item
   * was reported, and whatever its code does after that is not.
   */
  abandoned = false;
  /** The resource is set up and its `close()` has not settled (for a report when abandoned). */
  resourceOpen = false;

  constructor(
    readonly stage: WorkerHost,
    id: number,
  ) {
    super();
    this.info = { id, data: {} };
    this.ctx = new WorkerContext(
      stage.run.signal,
      stage.name,
      this.info,
      stage.run.runId,
      stage.run.outcomes.lineage,
    );
  }

  /** Starts the loop; the stage has counted the worker as starting. */
  start(): void {
    this.exited = this.#run();
  }

  // An item handed over while the worker waited takes its place in the output order now, when it
  // leaves the channel, not when the worker's wait resolves a microtask later: another worker may
  // take the next item from the queue in between.
  protected override received(stamp: number, id: number): void {
    const stage = this.stage;
    stage.setState(this, WorkerState.Busy);
    this.handedStamp = stamp;
    this.handedId = id;
    if (stage.reorder !== null) this.seq = stage.reorder.take();
  }

  async #run(): Promise<void> {
    const stage = this.stage;
    const calls = new CallSignal(stage.run.signal, stage.timeoutMs > 0);
    this.calls = calls;
    this.ctx.signal = calls.signal;
    let lane: Lane | null = null;
    let exitReason = "input ended";
    try {
      // Stopped before the loop began: nothing to set up, nothing to close.
      if (stage.run.stopping) return;
      let opened = stage.calls.open(this);
      if (isThenable(opened)) opened = await opened;
      if (typeof opened === "string") {
        exitReason = opened;
        return;
      }
      lane = opened;
      const tracer = stage.run.outcomes.tracer;
      this.fn = tracer === null ? lane.call : tracer.wrap(stage.name, lane.call);
      this.broken = lane.broken;
      await this.#loop();
    } finally {
      calls.unlink();
      if (lane !== null) {
        // Waiting for calls a timeout abandoned before its resource closes, the worker holds no item
        // and takes none: no capacity, counted as gone (a strategy waiting for a step down to
        // finish held its count for closeTimeoutMs).
        if (calls.hasLate) stage.setState(this, WorkerState.Exited);
        await lane.close(calls);
      }
      if (!this.abandoned) stage.workerExited(this, exitReason);
    }
  }

  /**
   * `stop()` gave up waiting for this worker: its item in hand is dropped (`STOPPED`), an open
   * resource is reported as not closed, and the stage counts the worker gone. Its own code, when
   * it resumes, reports nothing more and closes the resource without being waited for.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    const stage = this.stage;
    if (this.dropInHand()) giveUpSlot(this);
    if (this.resourceOpen)
      stage.resourceUnclosed("its worker did not finish within closeTimeoutMs after stop()");
    stage.workerExited(this, "did not finish within closeTimeoutMs");
  }

  /** Drops the entries in hand (an abandoned worker's); whether there were any. */
  protected dropInHand(): boolean {
    const entry = this.item;
    this.item = NOTHING;
    if (entry === NOTHING) return false;
    this.stage.drop(entry, this.ctx.id, "STOPPED");
    return true;
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
          out = await (this.stage.timeoutMs > 0 ? withDeadline(this, out) : out);
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
    // Items that never wait (a synchronous function, room downstream) would keep this loop off
    // the event loop for good: past the flow's deadline, the worker waits for the event loop's
    // turn (timers and signals first) as it would for an item, and then looks again.
    if (stage.run.cache.t >= stage.run.yieldAt) {
      // A worker that never got a turn before the deadline is ready, not starting: counted as
      // starting, it would read as capacity still on its way for as long as a sibling hogs the loop.
      if (this.state === WorkerState.Starting) stage.setState(this, WorkerState.Idle);
      stage.run.awaitTurn(this);
      return WAIT;
    }
    const input = stage.input;
    const queue = input.queue;
    if (queue.length > 0) {
      if (this.state !== WorkerState.Busy) stage.setState(this, WorkerState.Busy);
      // The sequence number is taken with the item, in the order items leave the channel.
      if (stage.reorder !== null) this.seq = stage.reorder.take();
      const entry = input.take();
      return this.call(entry, queue.takenId, queue.takenStamp, --this.countdown === 0);
    }
    if (this.state !== WorkerState.Idle) stage.setState(this, WorkerState.Idle);
    return input.wait(this) ? WAIT : EXIT;
  }

  /** Calls the function on an entry handed over while the worker waited (or looks again). */
  protected callWaited(entry: unknown): unknown {
    if (entry === RESUME) return this.resumed();
    // Handed over in the turn stop() came in: a call now would start already aborted (see dropHanded).
    if (this.stage.run.stopping) return this.dropHanded(entry);
    return this.call(entry, this.handedId, this.handedStamp, true);
  }

  /** Drops an entry handed over as the flow stopped, and exits (code listening for `abort` would wait). */
  protected dropHanded(entry: unknown): typeof EXIT {
    this.stage.drop(entry, this.handedId, "STOPPED");
    giveUpSlot(this);
    return EXIT;
  }

  /** Woken without an item (the event loop's turn came): looks for the next one. */
  protected resumed(): unknown {
    return this.takeAndCall();
  }

  /**
   * Runs the function on a dequeued entry; returns its result, or FAILED if it threw. A stage with
   * a rate limit runs {@link RateLimitedWorker}s instead, which take a token first: a check here
   * measured ~0.7 % of the per-item cost of every stage, limited or not.
   */
  protected call(entry: unknown, id: number, stamp: number, timed: boolean): unknown {
    const stage = this.stage;
    this.begin(stamp, timed);
    this.item = entry;
    this.ctx.id = id;
    // The same as `invoke`, written out: the hot path measured 25 % slower through the extra call.
    // `inCall` counts calls in their synchronous part (see FlowRuntime.stop); measured: ~2 % of
    // the per-item cost, and a module-level variable cost twice that.
    const run = stage.run;
    run.inCall++;
    try {
      const out = this.fn(stage.entryKind === Entry.Plain ? entry : this.branchArg(entry), this.ctx);
      run.inCall--;
      return out;
    } catch (error) {
      run.inCall--;
      this.error = error;
      return FAILED;
    }
  }

  /** Calls the stage's function; returns its result, or FAILED (with `error` set) if it threw. */
  invoke(arg: unknown): unknown {
    const run = this.stage.run;
    run.inCall++;
    try {
      const out = this.fn(arg, this.ctx);
      run.inCall--;
      return out;
    } catch (error) {
      run.inCall--;
      this.error = error;
      return FAILED;
    }
  }

  /**
   * The argument for a fan-out's entry (a branch's envelope, a merge's record). Its `ctx.parentId`
   * is read now: another branch may settle the item (failing or skipping it) while this call runs.
   */
  protected branchArg(entry: unknown): unknown {
    this.ctx.pinParent();
    return this.stage.arg(entry);
  }

  idsInHand(): number | readonly number[] {
    return this.ctx.id;
  }

  takeError(): unknown {
    const error = this.error;
    this.error = undefined;
    return error;
  }

  /** What the function was called with for the item in hand (a batch stage's: the batch). */
  argInHand(): unknown {
    return this.stage.arg(this.item);
  }

  /** Books a dequeue (and starts timing the call when `timed` and the recorder has room). */
  protected begin(stamp: number, timed: boolean): void {
    const stage = this.stage;
    const metrics = stage.metrics;
    const cache = stage.run.cache;
    metrics.lastDequeueAt = cache.t;
    stage.controller.onDequeue();
    this.t0 = -1;
    if (timed) {
      this.countdown = ++this.#timed < WARM_TIMED ? 1 : stage.run.sampleEvery;
      // Read even when the recorder is full: the reading also keeps the fairness deadline honest.
      const t0 = cache.read();
      if (metrics.latency.hasRoom) {
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
  handOn(out: unknown): undefined | Promise<void> {
    // Given up by stop(): its item was reported then; whatever the call returned goes nowhere.
    if (this.abandoned) return undefined;
    const stage = this.stage;
    const entry = this.item;
    this.item = NOTHING;
    this.booked(1);
    const id = this.ctx.id;
    if (out === Skip) return this.skip(entry, id);
    if (out instanceof LastValue) return this.last(entry, id, out.value);
    let value = out;
    if (stage.classifier) value = entry;
    else if (stage.entryKind !== Entry.Plain) value = stage.output(entry, out);
    const reorder = stage.reorder;
    if (reorder !== null) return reorder.complete(this, this.seq, Slot.Single, value, out, id);
    return this.sendTo(stage.outlet, value, out, id);
  }

  /** The call for the item in hand failed with `error`: retried when the policy says so, else final. */
  protected fail(error: unknown): Promise<void> {
    this.error = undefined;
    if (this.abandoned) return RESOLVED;
    noteOverload(this, error);
    if (this.stage.retry !== null && worthRetry(this, error)) return retryItem(this, error);
    return this.failFinal(error);
  }

  /** The item in hand failed for good. */
  failFinal(error: unknown): Promise<void> {
    const entry = this.item;
    this.item = NOTHING;
    return this.failEntry(entry, this.ctx.id, error, Slot.Hole);
  }

  /** Ends the item's attempts: returns the number to report and resets `ctx.attempt` for the next item. */
  protected endAttempts(): number {
    const n = this.broken ? 0 : this.ctx.attempt;
    this.ctx.attempt = 1;
    return n;
  }

  /** Reports `entry` failed and completes its reorder slot (with `slot`'s outcome: a hole). */
  failEntry(entry: unknown, id: number, error: unknown, slot: SlotKind): Promise<void> {
    const stage = this.stage;
    const reported = stage.failed(entry, id, error, this.endAttempts());
    const reorder = stage.reorder;
    if (reorder === null) return reported;
    const r = reorder.complete(this, this.seq, slot, undefined, undefined, id);
    return r === undefined ? reported : Promise.all([reported, r]).then(noop);
  }

  /** The call for `entry` returned `Skip`: it ends here, and leaves no gap in the output order. */
  protected skip(entry: unknown, id: number): undefined | Promise<void> {
    const stage = this.stage;
    stage.skipped(entry, id);
    return stage.reorder?.complete(this, this.seq, Slot.Hole, undefined, undefined, id);
  }

  /** The call for `entry` (item `id`) returned `Last(value)`. */
  protected last(entry: unknown, id: number, value: unknown): undefined | Promise<void> {
    return handLast(this, entry, id, value);
  }

  /** Sends `value` (item `id`) to `outlet`; when it must wait, waits blocked and drops it if refused. */
  sendTo(outlet: Outlet, value: unknown, label: unknown, id: number): undefined | Promise<void> {
    const r = outlet.send(value, id, label);
    return r === true ? undefined : whileBlocked(this, r, value, id);
  }

  /** Waits, counted as blocked, until `p` settles. */
  waitBlocked(p: Promise<void>): Promise<void> {
    return blockedUntil(this, p);
  }
}
