import { isThenable } from "../internal/is-thenable.js";
import { MAX_TIMER_MS } from "../internal/option-fields.js";
import { CallSignal } from "./call-signal.js";
import { END } from "./channel.js";
import { LastValue } from "./last.js";
import type { Outlet } from "./outlets.js";
import { Slot, type SlotKind } from "./reorder-buffer.js";
import { retryDelay } from "./retry.js";
import { Entry } from "./entry.js";
import type { Stage } from "./stage.js";
import type { StageContext, WorkerInfo, WorkerResource } from "./types.js";
import { RESUME, WaitingTaker } from "./waiting-taker.js";
import { closeResource, openResource } from "./worker-resource.js";

/** A worker's state; each worker is in exactly one, and the stage's stats count them. */
export const WorkerState = {
  Starting: 0,
  Idle: 1,
  Busy: 2,
  Blocked: 3,
  Exited: 4,
  Retrying: 5,
  RateLimited: 6,
} as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

const noop = (): void => {};
const RESOLVED: Promise<void> = Promise.resolve();

/** The worker's context as the runtime writes it (users see it read-only). */
type MutableContext = { -readonly [K in keyof StageContext]: StageContext[K] };

/** `takeAndCall` results that are not a call's result. */
export const WAIT: unique symbol = Symbol("wait");
export const EXIT: unique symbol = Symbol("exit");
export const FAILED: unique symbol = Symbol("failed");
/** `item` when the worker holds no item (an item may itself be `undefined`). */
export const NOTHING: unique symbol = Symbol("nothing");

/**
 * Whether `value` (a call's result, or what a wait resolved with) is the sentinel `s`. The type
 * test comes first so that the `===` only ever sees symbols: compared with a promise or a number
 * as well, it has no type feedback to go on and compiles to a call to the generic comparison
 * (measured ~140 instructions per item through three stages).
 */
function isSentinel(value: unknown, s: symbol): boolean {
  return typeof value === "symbol" && value === s;
}

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
  readonly ctx: MutableContext;
  /** Settles once the worker has exited and its resource is closed. */
  exited: Promise<void> = Promise.resolve();
  protected handedStamp = 0;
  protected fn: (item: unknown, ctx: StageContext) => unknown = noop;
  protected countdown: number;
  /** The entry in hand (for error reports), its timing start (-1: not timed), its error, its sequence number. */
  protected item: unknown = NOTHING;
  protected t0 = -1;
  protected error: unknown = undefined;
  protected seq = 0;
  /** Set when the stage's factory kept failing: calls fail with the stage's setup error. */
  #broken = false;
  /** Behind `ctx.signal`; counts the calls a timeout left running. */
  #calls: CallSignal | null = null;
  /**
   * Set when `stop()` gave up on the worker (it did not finish within `closeTimeoutMs`): its item
   * was reported, and whatever its code does after that is not.
   */
  abandoned = false;
  /** The resource is set up and its `close()` has not settled (for a report when abandoned). */
  resourceOpen = false;

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

  // An item handed over while the worker waited takes its place in the output order now, when it
  // leaves the channel, not when the worker's wait resolves a microtask later: another worker may
  // take the next item from the queue in between.
  protected override received(stamp: number): void {
    const stage = this.stage;
    stage.setState(this, WorkerState.Busy);
    this.handedStamp = stamp;
    if (stage.reorder !== null) this.seq = stage.reorder.take();
  }

  async #run(): Promise<void> {
    const stage = this.stage;
    const calls = new CallSignal(stage.run.signal, stage.timeoutMs > 0);
    this.#calls = calls;
    this.ctx.signal = calls.signal;
    let resource: WorkerResource<unknown, unknown> | null = null;
    let exitReason = "input ended";
    try {
      // Stopped before the loop began: nothing to set up, nothing to close.
      if (stage.run.stopping) return;
      if (stage.factory && stage.setupError === null) {
        const opened = await openResource(this);
        if (typeof opened === "string") {
          exitReason = opened;
          return;
        }
        resource = opened;
        const r = resource;
        this.fn = (item, ctx) => r.process(item, ctx);
      } else if (stage.factory) {
        // No worker of this stage could start: its items fail with the setup error.
        this.#broken = true;
        const error = stage.setupError;
        this.fn = () => {
          throw error;
        };
      } else this.fn = stage.fn!;
      await this.#loop();
    } finally {
      calls.unlink();
      await closeResource(this, resource, calls);
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
    const inHand = this.takeInHand();
    for (const entry of inHand) stage.drop(entry, "STOPPED");
    // Its place in the output order will never be filled: what waits behind it goes now.
    if (inHand.length > 0 && stage.reorder !== null)
      stage.reorder.abandon(this.seq, (value) => stage.drop(value, "STOPPED"));
    if (this.resourceOpen)
      stage.resourceUnclosed("its worker did not finish within closeTimeoutMs after stop()");
    stage.workerExited(this, "did not finish within closeTimeoutMs");
  }

  /** Takes the entries in hand away from the worker (for an abandoned worker's report). */
  protected takeInHand(): unknown[] {
    const entry = this.item;
    this.item = NOTHING;
    return entry === NOTHING ? [] : [entry];
  }

  // The loop is split so that the async part holds almost nothing across its awaits: an
  // await saves every live local of the async function, and the per-item bookkeeping lives in
  // the synchronous helpers below, with the item's own state in fields.
  async #loop(): Promise<void> {
    for (;;) {
      let out = this.takeAndCall();
      while (isSentinel(out, WAIT)) {
        const entry = await this.waitForItem();
        if (isSentinel(entry, END)) return;
        out = this.callWaited(entry);
      }
      if (isSentinel(out, EXIT)) return;
      let pending: undefined | Promise<void>;
      if (isSentinel(out, FAILED)) pending = this.fail(this.error);
      else if (isThenable(out)) {
        try {
          out = await (this.stage.timeoutMs > 0 ? this.#deadline(out) : out);
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
      return this.call(entry, queue.takenStamp, --this.countdown === 0);
    }
    if (this.state !== WorkerState.Idle) stage.setState(this, WorkerState.Idle);
    return input.wait(this) ? WAIT : EXIT;
  }

  /** Calls the function on an entry handed over while the worker waited (or looks again). */
  protected callWaited(entry: unknown): unknown {
    if (isSentinel(entry, RESUME)) return this.resumed();
    return this.call(entry, this.handedStamp, true);
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
  protected call(entry: unknown, stamp: number, timed: boolean): unknown {
    const stage = this.stage;
    this.begin(stamp, timed);
    this.item = entry;
    // The same as `invoke`, written out: the hot path measured 25 % slower through the extra call.
    // `inCall` counts calls in their synchronous part (see FlowRuntime.stop); measured: ~2 % of
    // the per-item cost, and a module-level variable cost twice that.
    const run = stage.run;
    run.inCall++;
    try {
      const out = this.fn(stage.entryKind === Entry.Plain ? entry : stage.arg(entry), this.ctx);
      run.inCall--;
      return out;
    } catch (error) {
      run.inCall--;
      this.error = error;
      return FAILED;
    }
  }

  /** Calls the stage's function; returns its result, or FAILED (with `error` set) if it threw. */
  protected invoke(arg: unknown): unknown {
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

  /** What the function was called with for the item in hand (a batch stage's: the batch). */
  protected argInHand(): unknown {
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
      this.countdown = stage.run.sampleEvery;
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
  protected handOn(out: unknown): undefined | Promise<void> {
    // Given up by stop(): its item was reported then; whatever the call returned goes nowhere.
    if (this.abandoned) return undefined;
    const stage = this.stage;
    const entry = this.item;
    this.item = NOTHING;
    this.booked(1);
    if (out instanceof LastValue) return this.last(entry, out.value);
    let value = out;
    if (stage.classifier) value = entry;
    else if (stage.entryKind !== Entry.Plain) value = stage.output(entry, out);
    const reorder = stage.reorder;
    if (reorder !== null) return reorder.complete(this, this.seq, Slot.Single, value, out);
    return this.sendTo(stage.outlet, value, out);
  }

  /** The call for the item in hand failed with `error`: retried when the policy says so, else final. */
  protected fail(error: unknown): Promise<void> {
    this.error = undefined;
    if (this.abandoned) return RESOLVED;
    this.#noteOverload(error);
    if (this.stage.retry !== null && this.#worthRetry(error)) return this.#retry(error);
    return this.failFinal(error);
  }

  /** The item in hand failed for good. */
  protected failFinal(error: unknown): Promise<void> {
    const entry = this.item;
    this.item = NOTHING;
    return this.failEntry(entry, error, Slot.Hole);
  }

  /** Ends the item's attempts: returns the number to report and resets `ctx.attempt` for the next item. */
  protected endAttempts(): number {
    const n = this.#broken ? 0 : this.ctx.attempt;
    this.ctx.attempt = 1;
    return n;
  }

  /** Counts a failed attempt whose error the stage's `overloadOn` recognises. */
  #noteOverload(error: unknown): void {
    const stage = this.stage;
    // A stage whose factory never worked made no call: nothing behind it answered.
    if (this.#broken) return;
    let overloaded: boolean;
    try {
      overloaded = stage.overloadOn(error) === true;
    } catch (thrown) {
      stage.run.workerFault(stage.name, "overloadOn threw (the error is treated as no overload)", thrown);
      return;
    }
    if (!overloaded) return;
    const metrics = stage.metrics;
    metrics.overloads++;
    metrics.lastOverloadAt = stage.run.cache.read();
  }

  #worthRetry(error: unknown): boolean {
    const stage = this.stage;
    const policy = stage.retry!;
    if (this.#broken || stage.run.stopping || this.ctx.attempt >= policy.attempts) return false;
    try {
      return policy.retryOn(error, this.argInHand()) === true;
    } catch (thrown) {
      stage.run.workerFault(stage.name, "retryOn threw (the error is treated as final)", thrown);
      return false;
    }
  }

  // Waits out the backoff (counted as retrying, not busy) and calls again, until an attempt
  // succeeds, the policy gives up, or the flow stops (the item is then dropped as STOPPED).
  async #retry(error: unknown): Promise<void> {
    const stage = this.stage;
    const ctx = this.ctx;
    this.t0 = -1; // a retried call's latency would count the backoff: not timed
    for (;;) {
      stage.metrics.retries++;
      const delay = retryDelay(stage.retry!, ctx.attempt, stage.run.random(stage.name), error);
      stage.run.retrying(stage.name, this.argInHand(), ctx.attempt, error, delay);
      stage.setState(this, WorkerState.Retrying);
      let woke = await stage.run.sleep(delay);
      // The token is taken in the same synchronous step as the call below.
      while (woke && stage.limiter !== null) {
        const wait = stage.limiter.take(stage.run.cache.read());
        if (wait === 0) break;
        woke = await this.#waitForToken(wait);
      }
      stage.setState(this, WorkerState.Busy);
      if (!woke) return this.failFinal(error);
      ctx.attempt++;
      let out = this.invoke(this.argInHand());
      if (isSentinel(out, FAILED)) {
        error = this.error;
        this.error = undefined;
      } else {
        try {
          if (isThenable(out)) out = await (stage.timeoutMs > 0 ? this.#deadline(out) : out);
          if (this.abandoned) return;
          const pending = this.handOn(out);
          ctx.attempt = 1;
          return pending;
        } catch (e) {
          error = e;
        }
      }
      if (this.abandoned) return;
      this.#noteOverload(error);
      if (!this.#worthRetry(error)) return this.failFinal(error);
    }
  }

  /** Waits `ms` for a retry's token, counted as rate-limited; false if the flow stopped. */
  async #waitForToken(ms: number): Promise<boolean> {
    const stage = this.stage;
    const limiter = stage.limiter!;
    stage.setState(this, WorkerState.RateLimited);
    limiter.waiting++;
    const woke = await stage.run.sleep(Math.min(ms, MAX_TIMER_MS));
    limiter.waiting--;
    return woke;
  }

  // The call's promise, or a TimeoutError once `timeoutMs` passes: then `ctx.signal` aborts and
  // the worker goes on; the call, left running, is waited for (within the close deadline) before
  // the worker's resource closes.
  #deadline(call: PromiseLike<unknown>): Promise<unknown> {
    const stage = this.stage;
    const clock = stage.run.clock;
    const ms = stage.timeoutMs;
    return new Promise((resolve, reject) => {
      let open = true;
      const timer = clock.setTimeout(() => {
        if (!open) return;
        open = false;
        const error = new DOMException(
          `stage "${stage.name}": attempt ${this.ctx.attempt} timed out after ${ms} ms`,
          "TimeoutError",
        );
        const calls = this.#calls!;
        calls.timedOut(error, call);
        this.ctx.signal = calls.signal;
        reject(error);
      }, ms);
      call.then(
        (value) => {
          if (!open) return;
          open = false;
          clock.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (!open) return;
          open = false;
          clock.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Reports `entry` failed and completes its reorder slot (with `slot`'s outcome: a hole). */
  protected failEntry(entry: unknown, error: unknown, slot: SlotKind): Promise<void> {
    const stage = this.stage;
    const reported = stage.failed(entry, error, this.endAttempts());
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
