import { isCallable } from "../internal/callable.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import { renderStructure } from "../plan/structure.js";
import { renderStats } from "../stats/render-stats.js";
import type { FlowStats, StageStats } from "../stats/stage-stats.js";
import type { Batch } from "../model/batch.js";
import type { Acked, Unacked } from "../model/item/acked.js";
import { type Composable, type StageFn, type StageLike, TREE } from "../model/composable.js";
import { type ErrorHandler, FLOW_EVENTS, type FlowEvents } from "../model/events.js";
import { FlowRuntime } from "../runtime/flow-runtime.js";
import { idleStats } from "../runtime/run-stats.js";
import type { EventEmitter } from "eventemitter3";
import { GuardedEmitter } from "./guarded-emitter.js";
import { checkSource, claimOneShot, stageLabel, unbounded } from "./checks.js";
import { whenAborted } from "../internal/shared-listener.js";
import {
  type DrainOptions,
  type DumpOptions,
  type FlowOptions,
  type FlowSettings,
  type PushOptions,
  parseDrainOptions,
  parseDumpOptions,
  parseFlowOptions,
  parsePushOptions,
  parseRunOptions,
  parseSignalOptions,
  parseStageOptions,
  parseStrategy,
  type RunOptions,
  type SignalOptions,
  type StageOptions,
} from "../model/options.js";
import type { PerWorker } from "../model/per-worker.js";
import { compilePlan, type Plan, structureOf } from "../plan/plan.js";
import { PushHandle } from "../runtime/push-handle.js";
import { listenForSignals } from "../runtime/signals.js";
import { type ComposedFlow, type StageDef, type StageNode, StageTree } from "../model/stage-tree.js";
import type { Consumer, Source } from "../model/types.js";
import { ITEM_TRACER, RUN_END_SINKS, runEnded, SEGMENT, TIMING_SINKS, type FlowHooks } from "./observe.js";
import type { SegmentLaunch } from "../runtime/stage-run.js";
import { defaultMaxThreads, runtimeConfig } from "./runtime-config.js";

/** The input type a stage appended to a `Flow<I, O>` must accept. */
type Next<O, A> = unknown extends O ? A : O;

/**
 * An auto-scaling pipeline: a producer, a chain of stages (transformers, routers, fan-outs,
 * batch stages, composed flows) and a consumer. Each stage has a bounded input queue and a pool
 * of workers sized live by its scaling strategy. The output type of each stage is the input
 * type of the next; a mismatch is a compile error.
 *
 * @example
 * ```ts
 * const f = new Flow({ defaultScalingStrategy: new UtilizationScaling({ maxWorkers: 8 }) })
 *   .setProducer(async function* () { for (let i = 0; i < 10; i++) yield i; })
 *   .addTransformer(async (x: number) => x * 2, { name: "double" })
 *   .setConsumer(async (x) => console.log("got", x));
 * await f.start();
 * await f.wait();
 * ```
 */
export class Flow<I = unknown, O = I> extends GuardedEmitter<FlowEvents> implements Composable<I, O> {
  /** @internal Carries the input and output types for inference; declared, never set. */
  declare readonly "~io": { readonly in: (item: I) => void; readonly out: O };
  /** @internal Exporters' timing sinks (`tapTimings` in flowrhythm/opentelemetry, /prometheus). */
  readonly [TIMING_SINKS]: FlowHooks[typeof TIMING_SINKS] = new Set();
  /** @internal Told each run's final stats before `drained`/`stopped` listeners (see `onRunEnd`). */
  readonly [RUN_END_SINKS]: FlowHooks[typeof RUN_END_SINKS] = new Set();
  /** @internal The item tracer (`traceItems` in flowrhythm/opentelemetry), or null. */
  [ITEM_TRACER]: FlowHooks[typeof ITEM_TRACER] = null;
  #options: FlowSettings;
  #segment: SegmentLaunch | null = null;
  readonly #tree = new StageTree();
  #source: Source<unknown> | null = null;
  #handler: ErrorHandler | undefined;
  #defaultStrategy: ScalingStrategy | undefined;
  #runtime: FlowRuntime | null = null;
  #push: PushHandle<I> | null = null;
  /** `handleSignals`: off, or whether to exit the process once drained or stopped. */
  #signals: { exit: boolean } | null = null;
  /** The run whose signals are being listened for. */
  #signalsFor: FlowRuntime | null = null;

  constructor(options: FlowOptions = {}) {
    super(FLOW_EVENTS);
    this.#options = parseFlowOptions(options);
    this.#handler = this.#options.errorHandler;
    this.#defaultStrategy = this.#options.defaultScalingStrategy;
    this.#signals = this.#options.handleSignals;
  }

  /** The `name` option: the label of this flow's metrics. */
  get name(): string {
    return this.#options.name;
  }

  /**
   * Sets the items: an async iterable, an iterable, or a function returning one (re-runnable).
   * Items wrapped in `acked(value, { ack, nack })` tell their source their final outcome.
   */
  setProducer<T extends I | Acked<I>>(
    source: Source<T>,
  ): Flow<Unacked<T>, unknown extends O ? Unacked<T> : O> {
    checkSource(source, "setProducer");
    this.#assertIdle("setProducer");
    this.#source = source as Source<unknown>;
    return this as unknown as Flow<Unacked<T>, unknown extends O ? Unacked<T> : O>;
  }

  /**
   * Appends a stage: a function `(item, ctx) => out`, `perWorker(factory)`, a `router(...)`,
   * `fanOut(...)` or `batch(...)`, or another `Flow` (its stages are inlined, named
   * `<name>.<stage>`, their own options kept unless configured here by the dotted name).
   */
  addTransformer<R, A = O>(
    stage: StageLike<Next<O, A>, R>,
    options?: StageOptions<Next<O, A>>,
  ): Flow<unknown extends I ? A : I, R> {
    const fallback = `stage${this.#tree.nodes.length + 1}`;
    let where = "";
    const settings = parseStageOptions(options, (o) => {
      where = `addTransformer, stage "${stageLabel(o.name, stage, fallback)}"`;
      return where;
    });
    this.#assertIdle(where);
    this.#tree.add(stage, settings, where);
    return this as unknown as Flow<unknown extends I ? A : I, R>;
  }

  /**
   * Sets the last stage (a function, `perWorker(...)` or `batch(...)`); its return value is
   * dropped. On a flow with no stages yet, the consumer's parameter type is the flow's input type.
   */
  setConsumer<A = O>(
    fn:
      | Consumer<Next<O, A>>
      | PerWorker<Next<O, A>, unknown>
      | Batch<Next<O, A>, unknown>
      | StageFn<Next<O, A>, unknown>,
    options?: StageOptions<Next<O, A>>,
  ): Flow<unknown extends I ? A : I, O> {
    let where = "";
    const settings = parseStageOptions(options, (o) => {
      where = `setConsumer, stage "${stageLabel(o.name, fn, "consumer")}"`;
      return where;
    });
    this.#assertIdle("setConsumer");
    this.#tree.setConsumer(fn, settings, where);
    return this as unknown as Flow<unknown extends I ? A : I, O>;
  }

  /** Receives `TransformerError`, `SourceError` and `Dropped` events. */
  setErrorHandler(handler: ErrorHandler): this {
    if (!isCallable(handler))
      throw new FlowConfigError(
        `setErrorHandler: handler = ${describeValue(handler)}: expected a function (event) => void | Promise<void>`,
        { option: "handler" },
      );
    this.#handler = handler;
    return this;
  }

  /** The strategy for every stage that sets none (each stage gets its own `clone()`). */
  setDefaultScalingStrategy(strategy: ScalingStrategy): this {
    this.#defaultStrategy = parseStrategy(strategy, "setDefaultScalingStrategy", "defaultScalingStrategy");
    return this;
  }

  /**
   * Changes a stage's options by name — any stage, the consumer, a router's classifier, a
   * fan-out's merge, or a stage inside an arm, branch or composed flow by its dotted name
   * (`"route.small"`, `"sub.parse"`). The new options merge over the old.
   */
  configure(stageName: string, options: StageOptions): this {
    if (typeof stageName !== "string")
      throw new FlowConfigError(
        `configure: stageName = ${describeValue(stageName)}: expected a stage's name; stages: ${this.#tree.names().join(", ")}`,
        { code: "ERR_FLOW_STAGE_NAME", option: "stageName" },
      );
    this.#assertIdle("configure");
    this.#tree.configure(stageName, options);
    return this;
  }

  /** Spawns the workers and starts the producer. Calling it while running does nothing. */
  async start(): Promise<void> {
    if (this.#running()) return;
    if (!this.#source) {
      throw new FlowConfigError(
        "start(): no producer; call setProducer(source) first, run(source), or push()",
        { code: "ERR_FLOW_STATE", option: "producer" },
      );
    }
    this.#launch(false, this.#source);
  }

  /** Resolves once every item of the current run reached a terminal state. */
  wait(): Promise<void> {
    const never = () => new FlowConfigError("wait(): the flow was never started", { code: "ERR_FLOW_STATE" });
    return this.#runtime ? this.#runtime.wait() : Promise.reject(never());
  }

  /**
   * `setProducer(source)` + `start()` + `wait()`. Without a source it uses the producer already
   * set, and with none it runs unbounded: the first stage is called with `undefined` until
   * `drain()` or `stop()`.
   */
  async run(source?: Source<I | Acked<I>>, options?: RunOptions): Promise<void> {
    const { signal, total } = parseRunOptions(options);
    if (source !== undefined) this.setProducer(source);
    if (this.#running())
      throw new FlowConfigError("run(): the flow is already running", { code: "ERR_FLOW_STATE" });
    const runtime = this.#launch(false, this.#source ?? unbounded, 0, total);
    void runtime.finished.then(whenAborted(signal, () => void runtime.stop("abort")));
    await runtime.finished;
  }

  /**
   * The last stage's outputs as an AsyncIterable. Breaking out of the loop stops the flow and
   * closes every worker's resources. A flow with a consumer cannot be streamed.
   */
  stream(source?: Source<I | Acked<I>>): AsyncIterable<O> {
    if (this.#tree.consumer)
      throw new FlowConfigError(
        "stream(): this flow has a consumer; stream() yields the last transformer's outputs",
        { code: "ERR_FLOW_STATE" },
      );
    if (source !== undefined) this.setProducer(source);
    // This stream's source, as it is now: a later stream(other) makes another stream.
    const own = this.#source;
    if (!own) throw new FlowConfigError("stream(): no producer; pass a source", { code: "ERR_FLOW_STATE" });
    return {
      [Symbol.asyncIterator]: () => {
        if (this.#running())
          throw new FlowConfigError("stream(): the flow is already running", { code: "ERR_FLOW_STATE" });
        return this.#launch(true, own).reader() as AsyncIterator<O>;
      },
    };
  }

  /**
   * Starts the flow fed by hand (if it is not running yet) and returns the handle that feeds it:
   * `send(item)` waits while the first queue is full and says what became of the item,
   * `trySend(item)` never waits, `complete()` ends the input. Calling it again while the pushed
   * run goes on returns the same handle.
   *
   * @example
   * ```ts
   * await using input = flow.push();
   * const { status } = await input.send(event);
   * ```
   */
  push(options: PushOptions = {}): PushHandle<I> {
    const { maxWaitingSends } = parsePushOptions(options);
    if (this.#running()) {
      if (this.#push && !this.#push.completed) return this.#push;
      throw new FlowConfigError("push(): the flow is already running from a producer", {
        code: "ERR_FLOW_STATE",
      });
    }
    const runtime = this.#launch(false, null, maxWaitingSends);
    this.#push = new PushHandle<I>(runtime);
    return this.#push;
  }

  /**
   * Stops taking new items, finishes everything in flight (flushing partial batches), then
   * resolves. With `timeoutMs`, whatever is still in flight then is stopped, as by `stop()`: the
   * promise settles by the deadline, or within `closeTimeoutMs` after it where user code ignores
   * its signal.
   */
  drain(options?: DrainOptions): Promise<void> {
    const { timeoutMs } = parseDrainOptions(options);
    return this.#runtime ? this.#runtime.drain(timeoutMs) : Promise.resolve();
  }

  /**
   * Drains the flow on SIGINT or SIGTERM and then exits the process with code 0; a second
   * signal stops it at once (exit code 128 + the signal's number). With `{ exit: false }` the
   * process is left to exit on its own. The listeners live only while the flow runs.
   */
  handleSignals(options?: SignalOptions): this {
    this.#signals = parseSignalOptions(options);
    if (this.#running() && this.#signalsFor !== this.#runtime) this.#listenForSignals(this.#runtime!);
    return this;
  }

  /** Aborts: signals every in-flight item, drops what is queued, stops workers, runs every `close`. */
  stop(): Promise<void> {
    return this.#runtime ? this.#runtime.stop() : Promise.resolve();
  }

  /** A snapshot of the whole flow. */
  stats(): FlowStats {
    if (this.#runtime) return this.#runtime.stats();
    return idleStats(this.#options.clock.now(), this.#options.name);
  }

  /** A snapshot of one stage, or `undefined` when there is no such stage or the flow never ran. */
  stageStats(name: string): StageStats | undefined {
    if (typeof name !== "string")
      throw new FlowConfigError(`stageStats: name = ${describeValue(name)}: expected a stage's name`, {
        code: "ERR_FLOW_STAGE_NAME",
        option: "name",
      });
    return this.#runtime?.stages.find((s) => s.name === name)?.metrics.snapshot();
  }

  /**
   * Renders the structure — stages, routers with their arms, fan-outs with their branches and
   * merge, batch stages — as text, JSON (stages and edges) or a mermaid flowchart; or the live
   * stats as a table or JSON.
   */
  dump(options?: DumpOptions): string {
    const { mode, format } = parseDumpOptions(options);
    if (mode === "stats") return renderStats(this.stats(), format === "json" ? "json" : "text");
    return renderStructure(structureOf(this.#plan("dump")), format);
  }

  /** What another flow composing this one reads: its stages and its default strategy. */
  [TREE](): ComposedFlow {
    return { tree: this.#tree, defaultStrategy: this.#defaultStrategy };
  }

  /** @internal A flow of `nodes` and `consumer` with this one's settings, runs launched as `launch` says. */
  [SEGMENT](nodes: readonly StageNode[], consumer: StageDef | null, launch: SegmentLaunch): Flow {
    const f = new Flow();
    [f.#options, f.#handler, f.#defaultStrategy, f.#segment] = [
      this.#options,
      this.#handler,
      this.#defaultStrategy,
      launch,
    ];
    f.#tree.nodes.push(...nodes);
    f.#tree.consumer = consumer;
    f[ITEM_TRACER] = this[ITEM_TRACER];
    for (const sink of this[TIMING_SINKS]) f[TIMING_SINKS].add(sink);
    return f;
  }

  #plan(where: string): Plan {
    if (this.#tree.isEmpty)
      throw new FlowConfigError(`${where}: the flow has no stages; add a transformer or a consumer`, {
        code: "ERR_FLOW_STATE",
      });
    return compilePlan(this.#tree, this.#defaultStrategy, this.#options.maxThreads ?? defaultMaxThreads());
  }

  /** A run's end reaches the run-end sinks first (see `onRunEnd`), then the listeners. */
  override emit<T extends EventEmitter.EventNames<FlowEvents>>(
    event: T,
    ...args: EventEmitter.EventArgs<FlowEvents, T>
  ): boolean {
    if (event === "drained" || event === "stopped") runEnded(this);
    return super.emit(event, ...args);
  }

  /** A listener of one of this flow's events failed: the run counts and reports it. */
  protected override listenerFailed(event: keyof FlowEvents, error: unknown): void {
    if (this.#runtime) this.#runtime.listenerFailed(event, error);
    else console.error(`[flowrhythm] a "${event}" listener threw; ignored:`, error);
  }

  #launch(
    withSink: boolean,
    source: Source<unknown> | null,
    /** Push mode only (a run fed by a producer has no sends). */
    maxWaitingSends = 0,
    total: number | null = null,
  ): FlowRuntime {
    const plan = this.#plan("start()");
    if (source !== null) claimOneShot(source);
    const config = runtimeConfig(this.#options, this.#handler, this, maxWaitingSends, total, this.#segment);
    const runtime = new FlowRuntime(plan, source, config, withSink);
    this.#runtime = runtime;
    runtime.start();
    if (this.#signals) this.#listenForSignals(runtime);
    return runtime;
  }

  #listenForSignals(runtime: FlowRuntime): void {
    this.#signalsFor = runtime;
    listenForSignals(runtime, this.#signals!.exit);
  }

  #running(): boolean {
    const s = this.#runtime?.state;
    return s === "running" || s === "draining" || s === "stopping";
  }

  #assertIdle(where: string): void {
    if (this.#running())
      throw new FlowConfigError(`${where}: the flow is running; change it before start() or after it ends`, {
        code: "ERR_FLOW_STATE",
      });
  }
}
