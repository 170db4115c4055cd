import { type Channel, END } from "./channel.js";
import type { Stage } from "./stage.js";
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

/**
 * One async loop that takes items from its stage's input, runs the stage's function and hands
 * the result on. A worker is idle exactly while it waits for input, busy while it holds an item
 * it has not handed on, and blocked while it waits for room downstream.
 *
 * The loop awaits nothing of the framework's while input is queued and downstream has room:
 * only the user's function (and not even that when it returns a plain value).
 */
export class Worker<In = unknown, Out = unknown> extends WaitingTaker<In> {
  state: WorkerState = WorkerState.Starting;
  /** Set when the worker should exit after its current item. */
  retiring = false;
  readonly info: WorkerInfo;
  readonly ctx: StageContext;
  /** Settles once the worker has exited and its resource is closed. */
  exited: Promise<void> = Promise.resolve();
  #handedStamp = 0;
  #fn: (item: In, ctx: StageContext) => unknown = noop;
  #countdown: number;
  /** The item in hand (for error reports), its timing start (-1: not timed), its error. */
  #item: In | undefined = undefined;
  #t0 = -1;
  #error: unknown = undefined;

  constructor(
    readonly stage: Stage<In, Out>,
    id: number,
  ) {
    super();
    this.info = { id, data: {} };
    this.ctx = { signal: stage.run.signal, attempt: 1, stage: stage.name, worker: this.info };
    this.#countdown = stage.run.sampleEvery;
  }

  /** Starts the loop; the stage has counted the worker as starting. */
  start(): void {
    this.exited = this.#run();
  }

  protected override received(stamp: number): void {
    this.stage.setState(this, WorkerState.Busy);
    this.#handedStamp = stamp;
  }

  async #run(): Promise<void> {
    const stage = this.stage;
    let resource: WorkerResource<In, Out> | null = null;
    try {
      if (stage.factory) {
        try {
          resource = await stage.factory(this.info);
        } catch (error) {
          stage.setupFailed(error);
          return;
        }
        const r = resource;
        this.#fn = (item, ctx) => r.process(item, ctx);
      } else this.#fn = stage.fn!;
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
    const stage = this.stage;
    for (;;) {
      let out = this.#takeAndCall();
      if (out === WAIT) {
        const item = await this.waitForItem();
        if (item === END) return;
        out = this.#call(item, this.#handedStamp, true);
      }
      if (out === EXIT) return;
      if (out === FAILED) {
        await stage.failed(this.#item as In, this.#error, this.ctx.attempt);
        continue;
      }
      if (isThenable(out)) {
        try {
          out = await out;
        } catch (error) {
          await stage.failed(this.#item as In, error, this.ctx.attempt);
          continue;
        }
      }
      const next = this.#complete();
      if (next !== null && !next.offer(out as Out)) {
        stage.setState(this, WorkerState.Blocked);
        const accepted = await next.put(out as Out);
        stage.setState(this, WorkerState.Busy);
        if (!accepted) stage.dropOutputs([out as Out], "STOPPED");
      }
    }
  }

  /** Takes the next queued item and calls the function on it, or says to wait or to exit. */
  #takeAndCall(): unknown {
    if (this.retiring) return EXIT;
    const stage = this.stage;
    const input = stage.input;
    const queue = input.queue;
    if (queue.length > 0) {
      if (this.state !== WorkerState.Busy) stage.setState(this, WorkerState.Busy);
      const item = input.take();
      return this.#call(item, queue.takenStamp, --this.#countdown === 0);
    }
    if (this.state !== WorkerState.Idle) stage.setState(this, WorkerState.Idle);
    return input.wait(this) ? WAIT : EXIT;
  }

  /** Runs the function on a dequeued item; returns its result, or FAILED if it threw. */
  #call(item: In, stamp: number, timed: boolean): unknown {
    const stage = this.stage;
    const metrics = stage.metrics;
    const cache = stage.run.cache;
    metrics.lastDequeueAt = cache.t;
    stage.controller.onDequeue();
    this.#item = item;
    this.#t0 = -1;
    if (timed) {
      this.#countdown = stage.run.sampleEvery;
      if (metrics.latency.hasRoom) {
        const t0 = cache.read();
        this.#t0 = t0;
        metrics.queueWait.record(t0 - stamp);
      }
    }
    try {
      return this.#fn(item, this.ctx);
    } catch (error) {
      this.#error = error;
      return FAILED;
    }
  }

  /** Books a completed item; returns where its output goes (`null`: it was consumed). */
  #complete(): Channel<Out> | null {
    const stage = this.stage;
    const metrics = stage.metrics;
    if (this.#t0 >= 0) metrics.latency.record(stage.run.cache.read() - this.#t0);
    metrics.processed++;
    this.#item = undefined;
    const next = stage.next;
    if (next === null) stage.run.consumed++;
    return next;
  }
}

const WAIT: unique symbol = Symbol("wait");
const EXIT: unique symbol = Symbol("exit");
const FAILED: unique symbol = Symbol("failed");
