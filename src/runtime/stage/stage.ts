import { ScalingController } from "../scaling/scaling-controller.js";
import type { ScalingStrategy } from "../../scaling/scaling-strategy.js";
import { StageMetrics } from "../../stats/stage-metrics.js";
import type { BatchSettings } from "../../model/batch.js";
import type { QueueDiscipline } from "../queue/bounded-queue.js";
import { Channel, type ChannelHooks } from "../queue/channel.js";
import type { DeadLetterSink, DropReason } from "../../model/events.js";
import { Envelope, type JoinRecord, settleEntry } from "../outlet/join-record.js";
import { DropOutlet, type DropTarget, type Outlet } from "../outlet/outlets.js";
import { RateLimiter } from "../../model/rate-limit.js";
import { ReorderBuffer } from "../outlet/reorder-buffer.js";
import type { RetryPolicy } from "../../model/retry.js";
import type { StageRun } from "../stage-run.js";
import type { StageContext, WorkerInfo, WorkerResource } from "../../model/types.js";
import { RateLimitedWorker } from "./rate-limited-worker.js";
import { Worker, WorkerState } from "./stage-worker.js";
import { Entry, type EntryKind } from "../../plan/stage-spec.js";

/** What a stage does with its items. */
export type StageRole = "transformer" | "consumer" | "classifier" | "merge";

/** Everything needed to build a running stage. */
export interface StageSpec {
  readonly name: string;
  readonly role: StageRole;
  readonly fn: ((item: any, ctx: StageContext) => unknown) | null;
  readonly factory:
    | ((worker: WorkerInfo) => WorkerResource<any, any> | PromiseLike<WorkerResource<any, any>>)
    | null;
  readonly strategy: ScalingStrategy;
  readonly queueSize: number;
  readonly queue: QueueDiscipline;
  readonly ordered: boolean;
  readonly batch: BatchSettings | null;
  readonly entry: EntryKind;
  /** Inside a fan-out branch: `Last` is not allowed there. */
  readonly inBranch: boolean;
  readonly retry: RetryPolicy | null;
  /** Per-attempt deadline in ms; 0: none. */
  readonly timeoutMs: number;
  /** The stage's own dead-letter sink (else the flow's). */
  readonly deadLetter: DeadLetterSink | null;
  /** Which call errors mean the service behind the stage is overloaded. */
  readonly overloadOn: (error: unknown) => boolean;
  /** Calls a second for the whole stage, and how many at once; null: no limit. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number } | null;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A `perWorker` factory that fails is tried again after 100 ms, 200 ms, … (at most 5 s); after
 * this many failures in a row with no worker of the stage running, the stage gives up: its items
 * fail with the setup error instead of waiting for a worker that never comes.
 */
export const SETUP_ATTEMPTS = 5;
const SETUP_BACKOFF_MS = 100;
const SETUP_BACKOFF_MAX_MS = 5000;

/** Which workers scale-down retires first when none is waiting for input. */
const RETIRE_ORDER = [
  WorkerState.Starting,
  WorkerState.Blocked,
  WorkerState.Busy,
  WorkerState.Retrying,
  WorkerState.RateLimited,
  WorkerState.Idle,
] as const;

/**
 * A running stage: its input channel, its worker pool, the controller that sizes the pool, and
 * the outlet its outputs go to.
 *
 * Invariant: `#active` counts workers that are neither retiring nor exited; the pool is
 * resized against it, so a retiring worker finishing its item never counts twice.
 */
export class Stage implements ChannelHooks, DropTarget {
  readonly name: string;
  readonly input: Channel<unknown>;
  /** Where outputs go now: the wired outlet, or a drop outlet once the stage is cut off. */
  outlet!: Outlet;
  /** Whether the wired outlet is the end of the flow (outputs are consumed, never cut off). */
  terminal = false;
  readonly metrics: StageMetrics;
  readonly controller: ScalingController;
  readonly fn: ((item: unknown, ctx: StageContext) => unknown) | null;
  readonly factory: StageSpec["factory"];
  readonly entryKind: EntryKind;
  readonly classifier: boolean;
  readonly reorder: ReorderBuffer | null;
  readonly retry: RetryPolicy | null;
  readonly timeoutMs: number;
  /** Which call errors count as overload (`overloads`, `lastOverloadAt`). */
  readonly overloadOn: (error: unknown) => boolean;
  /** The token bucket the stage's workers share; null: no rate limit. */
  readonly limiter: RateLimiter | null;
  /** Set once the `perWorker` factory failed {@link SETUP_ATTEMPTS} times in a row with no worker running. */
  setupError: Error | null = null;
  readonly workers = new Set<Worker>();
  /** Called once when the stage has no input left and every worker has exited. */
  onDone: () => void = () => {};
  done = false;
  /** Set once a `Last` elsewhere cut this stage off: its own `Last` values are dropped too. */
  cut = false;
  /** Set once one of this stage's calls returned `Last(...)` and the flow was cut upstream of it. */
  lastSeen = false;
  #wired!: Outlet;
  #dropOutlet: DropOutlet | null = null;
  #active = 0;
  #nextId = 1;
  /** The pool size last asked for. */
  #target = 0;
  /** Workers whose resource is set up and that have not exited. */
  #ready = 0;
  /** `perWorker` factory failures since the last success. */
  #setupFailures = 0;
  /** No worker is spawned before this time (a failed factory backs off). */
  #respawnAt = 0;
  /** Set once the initial pool has started. */
  #started = false;
  /** Brings the pool back to its target once a failed factory's backoff has passed. */
  #respawnTimer: unknown = null;

  constructor(
    readonly spec: StageSpec,
    readonly run: StageRun,
  ) {
    this.name = spec.name;
    this.fn = spec.fn;
    this.factory = spec.factory;
    this.entryKind = spec.entry;
    this.classifier = spec.role === "classifier";
    this.retry = spec.retry;
    this.timeoutMs = spec.timeoutMs;
    this.overloadOn = spec.overloadOn;
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
    this.metrics = new StageMetrics(spec.name, this.input.queue, run.clock, run.statsWindowMs, this);
    this.controller = new ScalingController(spec.name, spec.strategy, this, this.metrics.live, {
      scaled: (event) => {
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
    this.#started = true;
  }

  get activeWorkers(): number {
    return this.#active;
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

  setState(worker: Worker, state: WorkerState): void {
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

  /**
   * Spawns or retires workers until `target` are active (retiring idle workers first); returns
   * how many are active. Spawning waits while a failed `perWorker` factory backs off.
   */
  resize(target: number): number {
    if (this.run.stopping) return this.#active;
    this.#target = target;
    while (this.#active < target) {
      if (this.input.closed && !this.hasWork) break;
      // A retiring worker still holds its item: no more workers than the maximum hold items at
      // once, so a replacement waits until it has left (see workerExited).
      if (this.workers.size >= this.controller.max) break;
      // While the factory keeps failing, one worker at a time probes it (like a half-open circuit
      // breaker): a failing dependency is not hit by the whole pool's setups at once.
      if (this.#setupFailures > 0 && this.metrics.starting > 0) break;
      if (this.run.cache.t < this.#respawnAt) {
        this.#armRespawn();
        break;
      }
      this.#spawn();
    }
    while (this.#active > target && this.#retireOne());
    return this.#active;
  }

  /** A new worker for this stage. */
  protected createWorker(id: number): Worker {
    return this.limiter === null ? new Worker(this, id) : new RateLimitedWorker(this, id);
  }

  #spawn(): void {
    const worker = this.createWorker(this.#nextId++);
    this.workers.add(worker);
    this.#active++;
    this.metrics.starting++;
    // Once the stage runs, a new worker's loop starts on a later microtask: a worker spawned by a
    // scaling decision made inside a hand-off must not take an item inside that hand-off, which
    // would re-enter the controller and take items out of the order they leave the channel in.
    // The initial pool starts at once: no hand-off is under way yet.
    if (this.#started) queueMicrotask(() => worker.start());
    else worker.start();
  }

  #retireOne(): boolean {
    // Only workers wait on a stage's input. The wait resolves in a later microtask, so marking
    // the worker retiring right after the release still comes before it runs again.
    const idle = this.input.withdrawFirst() as Worker | undefined;
    if (idle) {
      idle.retiring = true;
      this.#active--;
      return true;
    }
    // No idle worker: the one that will free up soonest is a starting one, then a blocked one
    // (its item is done), then a busy one, then one waiting out a retry or for a rate-limit token;
    // each leaves after its current item.
    for (const state of RETIRE_ORDER) {
      for (const w of this.workers) {
        if (!w.retiring && w.state === state) {
          w.retiring = true;
          this.#active--;
          return true;
        }
      }
    }
    return false;
  }

  /** `worker` has exited; `why` says why, when no decision retired it. */
  workerExited(worker: Worker, why: string): void {
    this.setState(worker, WorkerState.Exited);
    this.workers.delete(worker);
    if (!worker.retiring) {
      this.#active--;
      this.controller.exited(this.run.stopping ? "flow stopped" : why);
    } else if (this.#active < this.#target && !this.run.stopping) {
      this.controller.regrow(this.#target, "held growth: a retiring worker has left");
    }
    this.#checkDone();
  }

  /** The input will get no more items. */
  closeInput(): void {
    this.input.close();
    this.#checkDone();
  }

  /** Refuses all further input: what is queued is dropped with `reason`, waiting writers refused. */
  shutInput(reason: DropReason): void {
    this.#disarmRespawn();
    for (const entry of this.input.shutDown()) this.drop(entry, reason);
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
      if (this.#active === 0 && !this.run.stopping)
        this.controller.regrow(Math.max(1, this.#target), "liveness: items left and no worker runs");
      return;
    }
    if (this.workers.size > 0) return;
    this.done = true;
    this.#disarmRespawn();
    this.finished();
    this.#wired.feederDone();
    this.onDone();
  }

  /**
   * The stage's function threw for `entry` (after the flow stopped: the entry is dropped). The
   * stage counts every failed call; the item is reported once, even when several fan-out
   * branches fail it.
   */
  failed(entry: unknown, error: unknown, attempt: number): Promise<void> {
    if (this.run.stopping) return this.#reportDrop(entry, "STOPPED");
    const m = this.metrics;
    m.errors++;
    m.lastErrorAt = this.run.cache.t;
    const target = settleEntry(entry, this.name);
    if (target === null) return RESOLVED;
    return this.run.failed(target.item, error, target.stage, attempt, this.spec.deadLetter);
  }

  /** Reports an entry (queued, in hand, or an output that could not go on) as dropped. */
  drop(entry: unknown, reason: DropReason): void {
    void this.#reportDrop(entry, reason);
  }

  #reportDrop(entry: unknown, reason: DropReason): Promise<void> {
    const target = settleEntry(entry, this.name);
    if (target === null) return RESOLVED;
    this.metrics.dropped++;
    return this.run.dropped(target.item, target.stage, reason);
  }

  /** A worker's `perWorker` factory threw: back off before the next spawn, or give up. */
  setupFailed(error: unknown): void {
    const n = ++this.#setupFailures;
    this.run.workerFault(this.name, "perWorker factory threw", error);
    if (n >= SETUP_ATTEMPTS && this.#ready === 0) {
      this.setupError = new Error(
        `stage "${this.name}": the perWorker factory failed ${n} times in a row and no worker could start`,
        { cause: error },
      );
      this.#respawnAt = 0;
      this.#armRespawn();
      return;
    }
    const wait = Math.min(SETUP_BACKOFF_MS * 2 ** (n - 1), SETUP_BACKOFF_MAX_MS);
    this.#respawnAt = this.run.cache.read() + wait;
    this.#armRespawn();
  }

  // The pool returns to its target by itself once the backoff has passed: no strategy needs to ask
  // again, and the timer (unlike the tick) keeps the process alive while the flow needs it.
  #armRespawn(): void {
    if (this.#respawnTimer !== null || this.run.stopping || this.done) return;
    const ms = Math.max(0, this.#respawnAt - this.run.cache.read());
    this.#respawnTimer = this.run.clock.setTimeout(() => {
      this.#respawnTimer = null;
      if (this.run.stopping || this.done || this.#active >= this.#target) return;
      if (this.run.cache.read() < this.#respawnAt) this.#armRespawn();
      else this.controller.regrow(this.#target, "respawn: after the perWorker factory failed");
    }, ms);
  }

  #disarmRespawn(): void {
    if (this.#respawnTimer === null) return;
    this.run.clock.clearTimeout(this.#respawnTimer);
    this.#respawnTimer = null;
  }

  setupSucceeded(): void {
    const recovered = this.#setupFailures > 0;
    this.#setupFailures = 0;
    this.#ready++;
    // The probe worked: the pool may grow back to its target.
    if (recovered && this.#active < this.#target && !this.run.stopping)
      this.controller.regrow(this.#target, "respawn: the perWorker factory works again");
  }

  /** A worker whose resource was set up has exited. */
  readyExited(): void {
    this.#ready--;
  }

  closeFailed(error: unknown): void {
    this.run.workerFault(this.name, "close() threw", error);
  }

  /** A worker's resource will not be closed in time: counted (`unclosedResources`) and logged. */
  resourceUnclosed(why: string): void {
    this.metrics.unclosed++;
    this.run.workerFault(this.name, `a perWorker resource was not closed: ${why}`, undefined);
  }

  /** `stop()` waited `closeTimeoutMs` for this stage's workers: those still there are given up. */
  abandonWorkers(): void {
    for (const worker of [...this.workers]) worker.abandon();
  }
}
