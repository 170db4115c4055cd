import { ScalingController } from "../scaling/scaling-controller.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import { StageMetrics } from "../stats/stage-metrics.js";
import type { QueueDiscipline } from "./bounded-queue.js";
import { Channel, type ChannelHooks } from "./channel.js";
import type { DropReason } from "./events.js";
import type { StageRun } from "./stage-run.js";
import type { StageContext, WorkerInfo, WorkerResource } from "./types.js";
import { Worker, WorkerState } from "./worker.js";

/** Everything needed to build a running stage; what the builder keeps per stage. */
export interface StageSpec {
  readonly name: string;
  readonly kind: "transformer" | "consumer";
  readonly fn: ((item: any, ctx: StageContext) => unknown) | null;
  readonly factory:
    | ((worker: WorkerInfo) => WorkerResource<any, any> | PromiseLike<WorkerResource<any, any>>)
    | null;
  readonly strategy: ScalingStrategy;
  readonly queueSize: number;
  readonly queue: QueueDiscipline;
}

/**
 * A running stage: its input channel, its worker pool and the controller that sizes the pool.
 *
 * Invariant: `#active` counts workers that are neither retiring nor exited; the pool is
 * resized against it, so a retiring worker finishing its item never counts twice.
 */
export class Stage<In = unknown, Out = unknown> implements ChannelHooks {
  readonly name: string;
  readonly input: Channel<In>;
  /** The next stage's input, or `null` for the last stage (its outputs are consumed). */
  next: Channel<Out> | null = null;
  readonly metrics: StageMetrics;
  readonly controller: ScalingController;
  readonly fn: ((item: In, ctx: StageContext) => unknown) | null;
  readonly factory: StageSpec["factory"];
  readonly workers = new Set<Worker<In, Out>>();
  /** Called once when the stage has no input left and every worker has exited. */
  onDone: () => void = () => {};
  done = false;
  #active = 0;
  #nextId = 1;
  #setupFaults = 0;

  constructor(
    readonly spec: StageSpec,
    readonly run: StageRun,
  ) {
    this.name = spec.name;
    this.fn = spec.fn;
    this.factory = spec.factory;
    this.input = new Channel<In>(spec.queueSize, spec.queue, run.cache, this);
    this.metrics = new StageMetrics(spec.name, this.input.queue, run.clock, run.statsWindowMs);
    this.controller = new ScalingController(spec.name, spec.strategy, this, this.metrics.live, {
      scaled: (event) => {
        if (event.to > event.from) this.metrics.lastScaleUpAt = run.cache.read();
        else this.metrics.lastScaleDownAt = run.cache.read();
        run.scaled(event);
      },
      fault: (error) => run.strategyFault(this.name, error),
    });
  }

  /** Starts the initial workers. */
  start(): void {
    this.resize(this.controller.initialWorkers());
  }

  get activeWorkers(): number {
    return this.#active;
  }

  get hasWork(): boolean {
    return this.input.queue.length > 0 || this.input.waitingWriters > 0;
  }

  enqueued(): void {
    const m = this.metrics;
    // Enqueue stamps come from the time cache; refreshing it every 64 arrivals bounds how stale
    // they get when items move too fast for sampled timing to refresh it.
    if ((++m.received & 63) === 0) m.lastEnqueueAt = this.run.cache.read();
    else m.lastEnqueueAt = this.run.cache.t;
    this.controller.onEnqueue();
  }

  setState(worker: Worker<In, Out>, state: WorkerState): void {
    const m = this.metrics;
    switch (worker.state) {
      case WorkerState.Starting:
        m.starting--;
        break;
      case WorkerState.Idle:
        m.idle--;
        break;
      case WorkerState.Busy:
        m.busy--;
        break;
      case WorkerState.Blocked:
        m.blocked--;
        break;
    }
    switch (state) {
      case WorkerState.Starting:
        m.starting++;
        break;
      case WorkerState.Idle:
        m.idle++;
        break;
      case WorkerState.Busy:
        m.busy++;
        break;
      case WorkerState.Blocked:
        m.blocked++;
        break;
    }
    worker.state = state;
  }

  /** Spawns or retires workers until `target` are active. Retires idle workers first. */
  resize(target: number): void {
    if (this.run.stopping) return;
    while (this.#active < target) {
      if (this.input.closed && !this.hasWork) break;
      this.#spawn();
    }
    while (this.#active > target) this.#retireOne();
  }

  #spawn(): void {
    const worker = new Worker<In, Out>(this, this.#nextId++);
    this.workers.add(worker);
    this.#active++;
    this.metrics.starting++;
    worker.start();
  }

  #retireOne(): void {
    // Only workers wait on a stage's input. The wait resolves in a later microtask, so marking
    // the worker retiring right after the release still comes before it runs again.
    const idle = this.input.withdrawFirst() as Worker<In, Out> | undefined;
    if (idle) {
      idle.retiring = true;
      this.#active--;
      return;
    }
    // No idle worker: the one that will free up soonest is a starting one, then a blocked one
    // (its item is done), then a busy one; each leaves after its current item.
    for (const state of [WorkerState.Starting, WorkerState.Blocked, WorkerState.Busy, WorkerState.Idle]) {
      for (const w of this.workers) {
        if (!w.retiring && w.state === state) {
          w.retiring = true;
          this.#active--;
          return;
        }
      }
    }
  }

  workerExited(worker: Worker<In, Out>): void {
    this.setState(worker, WorkerState.Exited);
    this.workers.delete(worker);
    if (!worker.retiring) this.#active--;
    this.#checkDone();
  }

  /** The input will get no more items. */
  closeInput(): void {
    this.input.close();
    this.#checkDone();
  }

  #checkDone(): void {
    if (this.done || !this.input.closed) return;
    if (this.hasWork) {
      // Items left and nobody to take them (every worker retired or failed to start).
      if (this.#active === 0 && !this.run.stopping && this.#setupFaults < 3) this.resize(1);
      return;
    }
    if (this.workers.size > 0) return;
    this.done = true;
    this.onDone();
  }

  /** The stage's function threw for `item`. */
  failed(item: In, error: unknown, attempt: number): Promise<void> {
    const m = this.metrics;
    if (this.run.stopping) {
      m.dropped++;
      return this.run.dropped(item, this.name, "STOPPED");
    }
    m.errors++;
    m.lastErrorAt = this.run.cache.t;
    return this.run.failed(item, error, this.name, attempt);
  }

  /** Reports items removed from this stage's queue (on stop). */
  dropQueued(items: readonly In[], reason: DropReason): void {
    this.#drop(items, reason);
  }

  /** Reports outputs that could not be handed on (the flow stopped). */
  dropOutputs(items: readonly Out[], reason: DropReason): void {
    this.#drop(items, reason);
  }

  #drop(items: readonly unknown[], reason: DropReason): void {
    this.metrics.dropped += items.length;
    for (const item of items) void this.run.dropped(item, this.name, reason);
  }

  setupFailed(error: unknown): void {
    this.#setupFaults++;
    this.run.workerFault(this.name, "perWorker factory threw", error);
  }

  closeFailed(error: unknown): void {
    this.run.workerFault(this.name, "close() threw", error);
  }
}
