import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { type Clock, TimeCache } from "../clock/clock.js";
import { Deferred } from "../internal/deferred.js";
import { FlowConfigError } from "../errors.js";
import type { FlowEvents, ScaleEvent } from "../model/events.js";
import { ThreadBudget } from "./scaling/thread-budget.js";
import { shareBudget } from "./scaling/worker-budget.js";
import { Ticker } from "./ticker.js";
import { MAX_WORKERS } from "../scaling/worker-limits.js";
import type { FlowEnd, FlowState, FlowStats } from "../stats/stage-stats.js";
import { runStats } from "./run-stats.js";
import { Channel } from "./queue/channel.js";
import type { OutletHost } from "./outlet/outlets.js";
import type { TimingSink } from "../stats/latency-recorder.js";
import { FAIR_SHARE_MS } from "./fair-share.js";
import { downstreamOf, type Plan } from "../plan/plan.js";
import { ProducerPump, type PumpHost } from "./producer-pump.js";
import { Reporter } from "./reporter.js";
import { type Outcomes, outcomesOf, tracedConsume } from "./outcomes.js";
import type { PushHost, RefusalReason, SendResult } from "./push-handle.js";
import { PushInput, type PushInputHost } from "./push-input.js";
import type { Stage } from "./stage/stage.js";
import type { RuntimeConfig, StageRun } from "./stage-run.js";
import { StreamReader } from "./stream-reader.js";
import type { Source } from "../model/types.js";
import { type Wiring, wirePlan } from "./wiring.js";
import { Turns } from "./turns.js";
import { sleepUnless } from "../clock/sleep.js";

const ABORT_REASON = "flow stopped";
const RESOLVED: Promise<void> = Promise.resolve();
/** The producer, once blocked on a full first queue, resumes when a quarter of it has drained. */
const PRODUCER_REFILL_FRACTION = 0.25;

/**
 * One run of a flow: the stages wired as the plan says, the producer pump (or push handle), the
 * tick, error reporting and the lifecycle (`drain`, `stop`, `Last`, completion). A `Flow`
 * builds a new one per `start()`.
 *
 * Conservation: every item the pump takes is counted in `itemsIn`, every child a `flatMap` makes
 * in `children`, and each ends in exactly one of `consumed`, `outcomes.failed`, `outcomes.dropped`,
 * `outcomes.skipped`, `outcomes.expanded`; `finished` resolves only when all of them add up (every
 * stage done, every handler call settled). Every item has an id, unique in the run (`#lastId`, or
 * in a remote stage's segment the feeder's id, which `config.segment` reads).
 */
export class FlowRuntime implements StageRun, PumpHost, OutletHost, PushHost, PushInputHost {
  readonly clock: Clock;
  readonly cache: TimeCache;
  readonly sampleEvery: number;
  readonly closeTimeoutMs: number;
  readonly statsWindowMs: number;
  readonly timingSinks: ReadonlySet<TimingSink>;
  readonly stages: Stage[];
  readonly startedAt: number;
  state: FlowState = "running";
  stopping = false;
  halted = false;
  itemsIn = 0;
  /** How many items the source will give, when known (`run()`'s `total`, or the source's size). */
  total: number | null;
  readonly name: string;
  consumed = 0;
  readonly runId: string;
  readonly #idOf: (() => number) | null;
  #lastId = 0;
  inCall = 0;
  yieldAt: number;
  readonly #fairShareMs: number;
  readonly #turns = new Turns(() => {
    this.yieldAt = this.cache.read() + this.#fairShareMs;
  });
  /** What ended the run; the first cause wins. */
  endedBy: FlowEnd | null = null;
  readonly #config: RuntimeConfig;
  readonly #abort = new AbortController();
  readonly #finished = new Deferred<void>();
  readonly #stopSignal = new Deferred<void>();
  readonly #pump: ProducerPump<unknown> | null;
  readonly #push: PushInput | null;
  readonly #sink: Channel<unknown> | null;
  readonly #plan: Plan;
  readonly #wiring: Wiring;
  #inputClosed = false;
  /** With a stream reader: the reader has taken every output (or was released by `stop()`). */
  #sinkDrained = false;
  readonly outcomes: Outcomes;
  /** After `stop()`: gives up on the workers still there once `closeTimeoutMs` has passed. */
  #graceTimer: unknown = null;
  readonly #ticker: Ticker;
  #stopPromise: Promise<void> | null = null;
  #ended = false;

  /** `source` null: fed by a push handle. `withSink`: outputs go to a stream reader. */
  constructor(plan: Plan, source: Source<unknown> | null, config: RuntimeConfig, withSink: boolean) {
    this.#config = config;
    this.runId = config.segment?.runId ?? randomUUID();
    this.#idOf = config.segment?.idOf ?? null;
    this.clock = config.clock;
    this.cache = new TimeCache(config.clock);
    const { handler, deadLetter, handlerTimeoutMs: ms, events, tracer } = config;
    const reporter = new Reporter(config.clock, handler, deadLetter, ms, this.#stopSignal.promise);
    this.outcomes = outcomesOf(events, reporter, this.cache, this.runId, tracer);
    if (tracer) this.consume = tracedConsume(this.consume.bind(this), tracer);
    this.name = config.name;
    this.total = config.total;
    this.timingSinks = config.timingSinks;
    this.sampleEvery = config.sampleEvery;
    this.closeTimeoutMs = config.closeTimeoutMs;
    this.statsWindowMs = config.statsWindowMs;
    this.startedAt = this.cache.t;
    // Fairness is about the real event loop: under a virtual clock only the producer's count applies.
    this.#fairShareMs = config.clock.virtual === true ? Number.POSITIVE_INFINITY : FAIR_SHARE_MS;
    this.yieldAt = this.startedAt + this.#fairShareMs;

    this.#plan = plan;
    const lastSpec = plan.stages[plan.stages.length - 1]!.spec;
    // The stream reader's channel closes when every stage is done (see #stageDone).
    this.#sink = withSink
      ? new Channel<unknown>(lastSpec.queueSize, "fifo", this.cache, { enqueued() {}, inputEnded() {} })
      : null;
    this.#wiring = wirePlan(plan, this, this.#sink);
    this.stages = [...this.#wiring.stages];
    for (const stage of this.stages) stage.onDone = () => this.#stageDone();
    const threaded = this.stages.filter((s) => s.spec.threads !== null);
    const budgets = [
      shareBudget(this.stages, config.maxTotalWorkers),
      shareBudget(
        threaded,
        config.maxThreads,
        "maxThreads",
        config.maxThreadsAsked,
        (limit) => new ThreadBudget(limit, threaded),
      ),
    ].filter((b) => b !== null);
    this.#ticker = new Ticker(this, config.tickMs, config.statsIntervalMs, budgets, config.events);
    // Every in-flight call may listen on the flow's one signal (fetch does), and every worker of a stage
    // with timeoutMs links its own to it: twice the workers there can be (past that, a leak: Node warns).
    let workers = 0;
    for (const stage of this.stages) workers += stage.controller.max;
    setMaxListeners(Math.min(2 * workers, 2 * MAX_WORKERS) + 10, this.#abort.signal);
    this.#wiring.entryStage?.input.setRefillFraction(PRODUCER_REFILL_FRACTION);
    const { entry, entryOwner } = this.#wiring;
    this.#pump = source ? new ProducerPump(source, entry, entryOwner, this) : null;
    this.#push = source ? null : new PushInput(this, entry, entryOwner, config.maxWaitingSends);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Settles when every item reached a terminal state (after the input ended, `drain()` or `stop()`). */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /** `wait()`: the end of the run; from inside a stage's call, a clear error instead of a hang. */
  wait(): Promise<void> {
    if (this.inCall === 0) return this.#finished.promise;
    return Promise.reject(
      new FlowConfigError(
        "wait() was called from inside one of the flow's own stages: the run cannot end while that call waits for it (use drain() or stop(), which resolve at once there, or Last(...))",
        { code: "ERR_FLOW_STATE" },
      ),
    );
  }

  start(): void {
    for (const stage of this.stages) stage.start();
    this.#ticker.start();
    void this.#pump?.run();
  }

  /** The flow's input ended: the producer finished (or was halted), or the push handle completed. */
  inputDone(): void {
    if (this.#inputClosed) return;
    this.#inputClosed = true;
    this.endedBy ??= "source";
    if (this.#push !== null) this.#push.close();
    else this.#wiring.entry.feederDone();
  }

  /** Push mode: counts `item` in and sends it to the entry, waiting for room. */
  push(item: unknown, signal: AbortSignal | undefined): SendResult | Promise<SendResult> {
    return this.#push!.send(item, signal);
  }

  tryPush(item: unknown): SendResult {
    return this.#push!.trySend(item);
  }

  refusal(): RefusalReason | null {
    if (this.stopping) return "STOPPED";
    if (this.#inputClosed || this.#ended) return this.endedBy === "last" ? "UPSTREAM_TERMINATED" : "CLOSED";
    return null;
  }

  readonly endInput = (): void => this.inputDone();

  refusalReason(): "STOPPED" | "UPSTREAM_TERMINATED" {
    return this.stopping ? "STOPPED" : "UPSTREAM_TERMINATED";
  }

  /**
   * `stage` returned `Last(...)`: the flow takes no more input and every stage its outputs cannot reach
   * is cut off (queues and outputs dropped), its own queue too; one cut off already cuts nothing.
   */
  lastReturned(stage: Stage): void {
    if (stage.cut || stage.lastSeen || this.stopping) return;
    stage.lastSeen = true;
    this.endedBy ??= "last";
    this.#haltInput(false);
    const own = this.#plan.stages[this.stages.indexOf(stage)]!;
    const keep = downstreamOf(own);
    for (const ps of this.#plan.stages) if (ps !== own && !keep.has(ps)) this.stages[ps.index]!.cutOff();
    stage.shutInput("UPSTREAM_TERMINATED");
  }

  // Takes no more input. A graceful halt (drain) lets a `next()` in progress deliver its item.
  #haltInput(graceful: boolean): void {
    this.halted = true;
    const pump = this.#pump;
    if (pump === null) this.inputDone();
    else {
      pump.halt();
      if (!graceful && pump.pendingNext) pump.abandon();
    }
  }

  /** Outputs of the last stage, when the run was built with a sink. */
  reader(): StreamReader<unknown> {
    return new StreamReader(this.#sink!, this);
  }

  /**
   * `drain()`: take no more input, finish everything in flight. With `timeoutMs`, whatever is
   * still in flight when it passes is stopped (`stop()`), so the promise settles by then.
   */
  drain(timeoutMs?: number, cause: FlowEnd = "drain"): Promise<void> {
    if (!this.#ended && !this.halted) {
      this.endedBy ??= cause;
      this.state = "draining";
      this.#haltInput(true);
    } else if (!this.#ended && !this.stopping) {
      // Cut off by `Last`: the input is closed already; a drain waits like any other.
      this.endedBy ??= cause;
    }
    if (timeoutMs !== undefined && !this.#ended && !this.stopping) {
      const timer = this.clock.setTimeout(() => void this.stop(cause), timeoutMs);
      void this.#finished.promise.then(() => this.clock.clearTimeout(timer));
    }
    return this.#whenOver();
  }

  /**
   * The end of the run, as `drain()` and `stop()` return it. Called from inside a stage's call
   * (its synchronous part), they resolve at once instead: the run cannot end while the calling
   * item waits for it, and awaiting would hang that stage for good.
   */
  #whenOver(): Promise<void> {
    return this.inCall > 0 ? RESOLVED : this.#finished.promise;
  }

  turn(): Promise<void> {
    return this.#turns.turn();
  }

  awaitTurn(taker: { resume(): void }): void {
    this.#turns.park(taker);
  }

  random(stage: string): number {
    try {
      const r = this.#config.random();
      if (typeof r === "number" && r >= 0 && r < 1) return r;
      throw new RangeError(`returned ${String(r)}; expected a number in [0, 1)`);
    } catch (error) {
      this.workerFault(stage, "the flow's random source failed (the draw reads as 0.5)", error);
      return 0.5;
    }
  }

  sleep(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return sleepUnless(this.clock, this.#abort.signal, ms);
  }

  /** `stop()`: abort in-flight work, drop what is queued, wait for every worker to exit. */
  stop(cause: FlowEnd = "stop"): Promise<void> {
    if (this.#stopPromise) return this.#whenOver();
    if (this.#ended) {
      // Every item has its outcome; the run may still wait for handler calls: give them up.
      this.#stopSignal.resolve();
      return this.#whenOver();
    }
    this.endedBy ??= cause;
    this.stopping = true;
    this.halted = true;
    this.state = "stopping";
    this.#abort.abort(new DOMException(ABORT_REASON, "AbortError"));
    this.#stopSignal.resolve();
    this.#haltInput(false);
    for (const stage of this.stages) stage.shutInput("STOPPED");
    if (this.#sink) {
      this.#dropSink();
      // Every stage may be done already, the run waiting only for the reader, which may never
      // read again (it left its loop, or paused): nothing is left to wait for.
      if (this.stages.every((st) => st.done)) void this.#end();
    }
    // stop() is prompt whatever user code does: a call that ignores its signal, a factory or a
    // close() that never settles is given up after closeTimeoutMs (its item dropped, its resource
    // reported as not closed).
    this.#graceTimer = this.clock.setTimeout(() => {
      this.#graceTimer = null;
      for (const stage of this.stages) stage.abandonWorkers();
    }, this.closeTimeoutMs);
    this.#stopPromise = this.#finished.promise;
    return this.#whenOver();
  }

  /** Called by the stream reader once the sink is closed and empty, or released by `stop()`. */
  sinkDrained(): void {
    this.#sinkDrained = true;
    if (this.stages.every((s) => s.done)) void this.#end();
  }

  // On a natural end stages finish in chain order; on stop() they may finish in any order, and
  // the run ends only when the last one has (every worker exited, every close() run) — and, with
  // a stream reader, once the reader has taken every output or was released by stop().
  #stageDone(): void {
    if (!this.stages.every((s) => s.done)) return;
    const sink = this.#sink;
    if (sink !== null && !this.stopping && !this.#sinkDrained) {
      sink.close();
      return;
    }
    void this.#end();
  }

  // Outputs waiting for the stream's reader when the flow stops: dropped by the last stage.
  #dropSink(): void {
    const last = this.stages[this.stages.length - 1]!;
    this.#sink!.shutDown((item, id) => last.drop(item, id, "STOPPED"));
  }

  async #end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#ticker.stop();
    if (this.#graceTimer !== null) this.clock.clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    // Let every handler call finish (each is bounded by handlerTimeoutMs), unless the flow was stopped.
    if (!this.stopping) await this.outcomes.reporter.settled();
    for (const stage of this.stages) stage.metrics.tick(this.cache.read());
    this.state = this.stopping ? "stopped" : "drained";
    this.#config.events.emit(this.stopping ? "stopped" : "drained");
    this.#finished.resolve();
  }

  stats(): FlowStats {
    return runStats(this, this.#lastId - this.itemsIn);
  }

  /** An item enters the flow (from the source or a push): counted, and given its id. */
  admit(): number {
    this.itemsIn++;
    ++this.#lastId;
    return this.#idOf === null ? this.#lastId : this.#idOf();
  }

  newId(): number {
    return ++this.#lastId;
  }

  consume(id: number): void {
    this.consumed++;
    if (this.outcomes.lineage.active) this.outcomes.lineage.settle(id, null);
  }

  scaled(event: ScaleEvent): void {
    this.#config.events.emit("scale", event);
  }

  strategyFault(stage: string, error: unknown): void {
    this.outcomes.strategyFault(stage, error);
  }

  workerFault(stage: string, what: string, error: unknown): void {
    this.outcomes.workerFault(stage, what, error);
  }

  listenerFailed(event: keyof FlowEvents, error: unknown): void {
    this.outcomes.listenerFailed(event, error);
  }

  sourceFailed(error: unknown): void {
    this.outcomes.sourceFailed(error);
  }
}
