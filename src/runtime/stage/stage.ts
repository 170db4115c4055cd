import { ScalingController } from "../scaling/scaling-controller.js";
import { StageMetrics } from "../../stats/stage-metrics.js";
import { Channel, type ChannelHooks } from "../queue/channel.js";
import type { StageQueue } from "../queue/stage-queue.js";
import type { DeadLetterSink, DropReason } from "../../model/events.js";
import { Envelope, type JoinRecord, type Spoil, settleEntry } from "../outlet/join-record.js";
import { DropOutlet, type DropTarget, type Outlet } from "../outlet/outlets.js";
import { RateLimiter } from "./rate-limiter.js";
import { ReorderBuffer } from "../outlet/reorder-buffer.js";
import type { RetryPolicy } from "../../model/retry.js";
import type { StageRun } from "../stage-run.js";
import { RateLimitedWorker } from "./rate-limited-worker.js";
import { type CallSite, InLoopCalls } from "./call-site.js";
import { ThreadCalls } from "../threads/thread-calls.js";
import { StageWorker } from "./stage-worker.js";
import { FlatMapWorker } from "./flat-map-worker.js";
import { type PooledWorker, type WorkerHost, WorkerState } from "./worker-host.js";
import { WorkerPool } from "./worker-pool.js";
import { Entry, type EntryKind, type StageSpec } from "../../plan/stage-spec.js";

const RESOLVED: Promise<void> = Promise.resolve();
const SKIPPED: Spoil = Object.freeze({ kind: "skipped" });

/**
 * A running stage: its input channel, its worker pool, the controller that sizes the pool, and
 * the outlet its outputs go to.
 * Its workers see it through {@link WorkerHost}; its {@link WorkerPool} spawns and retires them.
 */
export class Stage implements ChannelHooks, DropTarget, WorkerHost {
  readonly name: string;
  readonly input: StageQueue<unknown>;
  /** Where outputs go now: the wired outlet, or a drop outlet once the stage is cut off. */
  outlet!: Outlet;
  /** Whether the wired outlet is the end of the flow (outputs are consumed, never cut off). */
  terminal = false;
  readonly metrics: StageMetrics;
  readonly controller: ScalingController;
  readonly calls: CallSite;
  readonly entryKind: EntryKind;
  readonly classifier: boolean;
  readonly reorder: ReorderBuffer | null;
  readonly retry: RetryPolicy | null;
  readonly timeoutMs: number;
  /** Which call errors count as overload (`overloads`, `lastOverloadAt`). */
  readonly overloadOn: (error: unknown) => boolean;
  /** The token bucket the stage's workers share; null: no rate limit. */
  readonly limiter: RateLimiter | null;
  readonly inBranch: boolean;
  readonly deadLetter: DeadLetterSink | null;
  readonly pool: WorkerPool;
  /** Called once when the stage has no input left and every worker has exited. */
  onDone: () => void = () => {};
  done = false;
  /** Set once a `Last` elsewhere cut this stage off: its own `Last` values are dropped too. */
  cut = false;
  /** Set once one of this stage's calls returned `Last(...)` and the flow was cut upstream of it. */
  lastSeen = false;
  #wired!: Outlet;
  #dropOutlet: DropOutlet | null = null;
  /** What sets a worker up, for messages (see `PoolOwner.setupKind`). */
  get setupKind(): string {
    return this.spec.threads === null ? "perWorker factory" : "thread setup (its module's load and setup())";
  }

  constructor(
    readonly spec: StageSpec,
    readonly run: StageRun,
  ) {
    this.name = spec.name;
    this.entryKind = spec.entry;
    this.classifier = spec.role === "classifier";
    this.retry = spec.retry;
    this.timeoutMs = spec.timeoutMs;
    this.overloadOn = spec.overloadOn;
    this.inBranch = spec.inBranch;
    this.deadLetter = spec.deadLetter;
    this.pool = new WorkerPool(this);
    const rl = spec.rateLimit;
    this.limiter = rl === null ? null : new RateLimiter(rl.perSecond, rl.burst);
    // The priority function is given what the stage's function gets (not a fan-out branch's
    // envelope or a merge's join record); one that throws or returns a non-number ranks the item
    // 0 (logged once) rather than failing the hand-off that is queueing it.
    const q = spec.queue;
    const discipline =
      typeof q === "object"
        ? {
            priority: (entry: unknown): number => {
              try {
                const p = q.priority(this.entryKind === Entry.Plain ? entry : this.arg(entry));
                if (typeof p === "number" && !Number.isNaN(p)) return p;
                throw new TypeError(`returned ${String(p)}; expected a number`);
              } catch (error) {
                run.workerFault(this.name, "the queue's priority function failed (the item ranks 0)", error);
                return 0;
              }
            },
          }
        : q;
    this.input = new Channel<unknown>(spec.queueSize, discipline, run.cache, this);
    // The reorder buffer holds at most a queue's worth of items: for a batch stage, whose slots
    // hold a batch each, that is queueSize / size slots.
    this.reorder = spec.ordered
      ? new ReorderBuffer(this, Math.max(1, Math.floor(spec.queueSize / (spec.batch?.size ?? 1))))
      : null;
    this.metrics = new StageMetrics(
      spec.name,
      this.input.queue,
      run.clock,
      run.statsWindowMs,
      this,
      run.timingSinks,
    );
    this.calls =
      spec.threads === null
        ? new InLoopCalls(spec.fn, spec.factory, this.pool)
        : new ThreadCalls(spec.threads, this.pool, this, this.metrics);
    this.controller = new ScalingController(spec.name, spec.strategy, this, this.metrics.live, {
      scaled: (event) => {
        if (event.to > this.metrics.peak) this.metrics.peak = event.to;
        if (event.to > event.from) this.metrics.lastScaleUpAt = run.cache.read();
        else this.metrics.lastScaleDownAt = run.cache.read();
        run.scaled(event);
      },
      fault: (error) => run.strategyFault(this.name, error),
      warn: (message) => run.workerFault(this.name, "scaling", message),
    });
  }

  /** Wires the stage's output; `terminal` when it is the end of the flow. */
  connect(outlet: Outlet, terminal: boolean): void {
    this.outlet = outlet;
    this.#wired = outlet;
    this.terminal = terminal;
    outlet.addFeeder();
  }

  /** Starts the initial workers. */
  start(): void {
    this.controller.start();
    this.pool.started();
  }

  get activeWorkers(): number {
    return this.pool.active;
  }

  get hasWork(): boolean {
    return this.input.queue.length > 0 || this.input.waitingWriters > 0;
  }

  /** The argument the stage's function gets for a queue entry. */
  arg(entry: unknown): unknown {
    if (this.entryKind === Entry.Plain) return entry;
    return this.entryKind === Entry.Envelope ? (entry as Envelope).value : (entry as JoinRecord).results;
  }

  /** What goes downstream when the function returned `out` for `entry`. */
  output(entry: unknown, out: unknown): unknown {
    switch (this.entryKind) {
      case Entry.Plain:
        return out;
      case Entry.Envelope:
        (entry as Envelope).value = out;
        return entry;
      default: {
        // A merge inside another fan-out's branch hands on the outer envelope.
        const outer = (entry as JoinRecord).item;
        if (!(outer instanceof Envelope)) return out;
        outer.value = out;
        return outer;
      }
    }
  }

  enqueued(): void {
    const m = this.metrics;
    // Enqueue stamps come from the time cache; refreshing it every 64 arrivals bounds how stale
    // they get when items move too fast for sampled timing to refresh it.
    if ((++m.received & 63) === 0) m.lastEnqueueAt = this.run.cache.read();
    else m.lastEnqueueAt = this.run.cache.t;
    this.controller.onEnqueue();
  }

  inputEnded(): void {
    this.closeInput();
  }

  setState(worker: { state: WorkerState }, state: WorkerState): void {
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
      case WorkerState.Retrying:
        m.retrying--;
        break;
      case WorkerState.RateLimited:
        m.rateLimited--;
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
      case WorkerState.Retrying:
        m.retrying++;
        break;
      case WorkerState.RateLimited:
        m.rateLimited++;
        break;
    }
    worker.state = state;
  }

  /** Sizes the pool (the controller's actuator); returns how many workers are active. */
  resize(target: number): number {
    return this.pool.resize(target);
  }

  /** A new worker for this stage. */
  createWorker(id: number): PooledWorker {
    if (this.spec.expand) return new FlatMapWorker(this, id);
    return this.limiter === null ? new StageWorker(this, id) : new RateLimitedWorker(this, id);
  }

  /** `worker` has exited; `why` says why, when no decision retired it. */
  workerExited(worker: PooledWorker, why: string): void {
    this.setState(worker, WorkerState.Exited);
    this.pool.exited(worker, why);
    this.#checkDone();
  }

  /** The input will get no more items. */
  closeInput(): void {
    this.input.close();
    this.#checkDone();
  }

  /** Refuses all further input: what is queued is dropped with `reason`, waiting writers refused. */
  shutInput(reason: DropReason): void {
    this.pool.disarm();
    this.input.shutDown((entry, id) => this.drop(entry, id, reason));
    this.closeInput();
  }

  /**
   * A `Last` returned downstream cut this stage off: nothing more comes in, what is queued is
   * dropped, and whatever its workers still produce is dropped (`UPSTREAM_TERMINATED`).
   */
  cutOff(): void {
    if (this.cut) return;
    this.cut = true;
    if (!this.terminal) this.outlet = this.#drops();
    this.shutInput("UPSTREAM_TERMINATED");
  }

  /**
   * The outlet for this stage's `Last` value; from now on the stage's other outputs are dropped
   * (a terminal stage keeps consuming what its workers already hold).
   */
  takeOutletForLast(): Outlet {
    const outlet = this.outlet;
    if (!this.terminal) this.outlet = this.#drops();
    return outlet;
  }

  #drops(): DropOutlet {
    this.#dropOutlet ??= new DropOutlet(this);
    return this.#dropOutlet;
  }

  protected finished(): void {}

  #checkDone(): void {
    if (this.done || !this.input.closed) return;
    if (this.hasWork) {
      // Items left and nobody to take them (every worker retired or failed to start).
      if (this.pool.active === 0 && !this.run.stopping)
        this.controller.regrow(Math.max(1, this.pool.target), "liveness: items left and no worker runs");
      return;
    }
    if (this.pool.workers.size > 0) return;
    this.done = true;
    this.pool.disarm();
    this.finished();
    this.#wired.feederDone();
    this.onDone();
  }

  /**
   * The stage's function threw for `entry` (after the flow stopped: the entry is dropped). The
   * stage counts every failed call; the item is reported once, even when several fan-out
   * branches fail it.
   */
  failed(entry: unknown, id: number, error: unknown, attempt: number, own = false): Promise<void> {
    if (this.run.stopping) return this.#reportDrop(entry, id, "STOPPED", own);
    const m = this.metrics;
    m.errors++;
    m.lastErrorAt = this.run.cache.t;
    const spoil = this.entryKind === Entry.Plain ? undefined : ({ kind: "failed", error, attempt } as const);
    const target = settleEntry(entry, this.name, spoil, own);
    if (target === null) return RESOLVED;
    return this.run.outcomes.itemFailed(target.item, id, error, target.stage, attempt, this.deadLetter);
  }

  /** A call for `entry` returned `Skip`: the item ends here, reported once (a fan-out's item too). */
  skipped(entry: unknown, id: number): void {
    if (this.entryKind === Entry.Plain) {
      // A filter's path: no fan-out record to settle, no target to build.
      this.metrics.skipped++;
      this.run.outcomes.itemSkipped(entry, id, this.name);
      return;
    }
    const target = settleEntry(entry, this.name, SKIPPED);
    if (target === null) return;
    this.metrics.skipped++;
    this.run.outcomes.itemSkipped(target.item, id, target.stage);
  }

  /** A `flatMap` call for `entry` gave `children` items in its place: the item ends `expanded`. */
  expanded(entry: unknown, id: number, children: number): void {
    this.metrics.expanded++;
    // In a fan-out's branch: the item as it entered the fan-out, under the fan-out's name.
    if (entry instanceof Envelope)
      this.run.outcomes.itemExpanded(entry.record.item, id, entry.record.name, children);
    else this.run.outcomes.itemExpanded(entry, id, this.name, children);
  }

  /**
   * Reports an entry (queued, in hand, or an output that could not go on) as dropped. `own`: a
   * `flatMap` in a fan-out branch dropping the item it was expanding (see `settleEntry`).
   */
  drop(entry: unknown, id: number, reason: DropReason, own = false): void {
    void this.#reportDrop(entry, id, reason, own);
  }

  #reportDrop(entry: unknown, id: number, reason: DropReason, own = false): Promise<void> {
    const spoil = this.entryKind === Entry.Plain ? undefined : ({ kind: "dropped", reason } as const);
    const target = settleEntry(entry, this.name, spoil, own);
    if (target === null) return RESOLVED;
    this.metrics.dropped++;
    return this.run.outcomes.itemDropped(target.item, id, target.stage, reason);
  }

  closeFailed(error: unknown): void {
    this.run.workerFault(this.name, "close() threw", error);
  }

  /** A threaded stage's thread failed outside any call: logged once per kind (it is replaced on the next call). */
  threadFailed(error: unknown): void {
    this.run.workerFault(
      this.name,
      "a worker thread failed between calls (a fresh one takes the next call)",
      error,
    );
  }

  /** A worker's resource will not be closed in time: counted (`unclosedResources`) and logged. */
  resourceUnclosed(why: string): void {
    this.metrics.unclosed++;
    const what = this.spec.threads === null ? "a perWorker resource" : "a thread";
    this.run.workerFault(this.name, `${what} was not closed: ${why}`, undefined);
  }

  /** `stop()` waited `closeTimeoutMs` for this stage's workers: those still there are given up. */
  abandonWorkers(): void {
    this.pool.abandonAll();
    this.calls.abandon?.();
  }
}
