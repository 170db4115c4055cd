import { END, type End, type Taker } from "./channel.js";
import type { Stage } from "./stage.js";
import type { StageContext, WorkerInfo, WorkerResource } from "./types.js";

/** A worker's state; each worker is in exactly one, and the stage's stats count them. */
export const WorkerState = { Starting: 0, Idle: 1, Busy: 2, Blocked: 3, Exited: 4 } as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

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
export class Worker<In = unknown, Out = unknown> implements Taker<In> {
  state: WorkerState = WorkerState.Starting;
  /** Set when the worker should exit after its current item. */
  retiring = false;
  readonly info: WorkerInfo;
  readonly ctx: StageContext;
  /** Settles once the worker has exited and its resource is closed. */
  exited: Promise<void> = Promise.resolve();
  #resolve: ((value: In | End) => void) | null = null;
  #handedStamp = 0;

  constructor(
    readonly stage: Stage<In, Out>,
    id: number,
  ) {
    this.info = { id, data: {} };
    this.ctx = { signal: stage.run.signal, attempt: 1, stage: stage.name, worker: this.info };
  }

  /** Starts the loop; the stage has counted the worker as starting. */
  start(): void {
    this.exited = this.#run();
  }

  deliver(item: In, stamp: number): void {
    this.stage.setState(this, WorkerState.Busy);
    this.#handedStamp = stamp;
    const resolve = this.#resolve!;
    this.#resolve = null;
    resolve(item);
  }

  release(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.(END);
  }

  #waitForItem(): Promise<In | End> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  async #run(): Promise<void> {
    const stage = this.stage;
    let resource: WorkerResource<In, Out> | null = null;
    try {
      let fn: (item: In, ctx: StageContext) => unknown;
      if (stage.factory) {
        try {
          resource = await stage.factory(this.info);
        } catch (error) {
          stage.setupFailed(error);
          return;
        }
        const r = resource;
        fn = (item, ctx) => r.process(item, ctx);
      } else fn = stage.fn!;
      await this.#loop(fn);
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

  async #loop(fn: (item: In, ctx: StageContext) => unknown): Promise<void> {
    const stage = this.stage;
    const input = stage.input;
    const queue = input.queue;
    const metrics = stage.metrics;
    const cache = stage.run.cache;
    const ctx = this.ctx;
    const sampleEvery = stage.run.sampleEvery;
    let countdown = sampleEvery;
    for (;;) {
      if (this.retiring) return;
      let item: In;
      let stamp: number;
      let timed: boolean;
      if (queue.length > 0) {
        if (this.state !== WorkerState.Busy) stage.setState(this, WorkerState.Busy);
        item = input.take();
        stamp = queue.takenStamp;
        timed = --countdown === 0;
      } else {
        if (this.state !== WorkerState.Idle) stage.setState(this, WorkerState.Idle);
        if (!input.wait(this)) return;
        const next = await this.#waitForItem();
        if (next === END) return;
        item = next;
        stamp = this.#handedStamp;
        timed = true;
      }
      metrics.lastDequeueAt = cache.t;
      stage.controller.onDequeue();
      let t0 = 0;
      if (timed) {
        countdown = sampleEvery;
        t0 = cache.read();
        metrics.queueWait.record(t0 - stamp);
      }
      let out: unknown;
      try {
        out = fn(item, ctx);
        if (isThenable(out)) out = await out;
      } catch (error) {
        await stage.failed(item, error, ctx.attempt);
        continue;
      }
      if (timed) metrics.latency.record(cache.read() - t0);
      metrics.processed++;
      const next = stage.next;
      if (next === null) {
        stage.run.consumed++;
      } else if (!next.offer(out as Out)) {
        stage.setState(this, WorkerState.Blocked);
        const accepted = await next.put(out as Out);
        stage.setState(this, WorkerState.Busy);
        if (!accepted) stage.dropOutput(out as Out);
      }
    }
  }
}
