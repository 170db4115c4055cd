import { EventEmitter } from "eventemitter3";
import { systemClock } from "../internal/clock.js";
import { describeValue, FlowConfigError } from "../internal/flow-config-error.js";
import { FixedScaling } from "../scaling/fixed-scaling.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import { type DumpOptions, renderStats, renderStructure, type StageNode } from "../stats/render-dump.js";
import type { FlowStats, StageStats } from "../stats/stage-stats.js";
import type { ErrorHandler, FlowEvents } from "./events.js";
import { FlowRuntime } from "./flow-runtime.js";
import { isPerWorker, type PerWorker } from "./per-worker.js";
import type { StageSpec } from "./stage.js";
import {
  type FlowOptions,
  isStrategy,
  parseFlowOptions,
  parseStageOptions,
  type StageOptions,
} from "./options.js";
import type { Consumer, Source, Transformer } from "./types.js";

/** A stage's function or a per-worker factory. */
export type StageFn<In, Out> = Transformer<In, Out> | PerWorker<In, Out>;

interface StageDef {
  kind: "transformer" | "consumer";
  fn: StageFn<any, any>;
  options: StageOptions;
  /** The name the stage had when added (explicit or derived), before any `configure`. */
  name: string;
}

/** `run()` options. */
export interface RunOptions {
  /** Aborting it stops the flow (like `stop()`). */
  signal?: AbortSignal;
}

function checkSource(source: unknown, where: string): void {
  const s = source as Record<symbol, unknown> | null;
  const ok =
    typeof source === "function" ||
    (s !== null &&
      typeof s === "object" &&
      (typeof s[Symbol.asyncIterator] === "function" || typeof s[Symbol.iterator] === "function"));
  if (!ok)
    throw new FlowConfigError(
      `${where}: producer = ${describeValue(source)}: expected an AsyncIterable, an Iterable, or a function returning one`,
      { option: "producer" },
    );
}

function checkStageFn(fn: unknown, where: string): void {
  if (typeof fn !== "function" && !isPerWorker(fn))
    throw new FlowConfigError(
      `${where}: expected a function or perWorker(factory), got ${describeValue(fn)}`,
      {
        option: "fn",
      },
    );
}

/**
 * An auto-scaling pipeline: a producer, a chain of transformer stages and a consumer. Each
 * stage has a bounded input queue and a pool of workers sized live by its scaling strategy.
 * The output type of each stage is the input type of the next; a mismatch is a compile error.
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
export class Flow<I = unknown, O = I> extends EventEmitter<FlowEvents> {
  readonly #options: FlowOptions;
  readonly #defs: StageDef[] = [];
  #consumer: StageDef | null = null;
  #source: Source<unknown> | null = null;
  #handler: ErrorHandler | undefined;
  #defaultStrategy: ScalingStrategy | undefined;
  #runtime: FlowRuntime | null = null;

  constructor(options: FlowOptions = {}) {
    super();
    this.#options = parseFlowOptions(options);
    this.#handler = this.#options.errorHandler;
    this.#defaultStrategy = this.#options.defaultScalingStrategy;
  }

  /** Sets the items: an async iterable, an iterable, or a function returning one (re-runnable). */
  setProducer<T extends I>(source: Source<T>): Flow<T, unknown extends O ? T : O> {
    checkSource(source, "setProducer");
    this.#assertIdle("setProducer");
    this.#source = source as Source<unknown>;
    return this as unknown as Flow<T, unknown extends O ? T : O>;
  }

  /** Appends a stage. */
  addTransformer<R, A = O>(
    fn: StageFn<unknown extends O ? A : O, R>,
    options?: StageOptions<unknown extends O ? A : O>,
  ): Flow<unknown extends I ? A : I, R> {
    this.#addStage(
      "transformer",
      fn,
      options,
      `addTransformer, stage "${stageLabel(options, fn, `stage${this.#defs.length + 1}`)}"`,
    );
    return this as unknown as Flow<unknown extends I ? A : I, R>;
  }

  /** Sets the last stage; its return value is dropped. It takes the same options as a transformer. */
  setConsumer(fn: Consumer<O> | PerWorker<O, unknown>, options?: StageOptions<O>): this {
    const where = `setConsumer, stage "${stageLabel(options, fn, "consumer")}"`;
    checkStageFn(fn, where);
    this.#assertIdle("setConsumer");
    const opts = parseStageOptions(options, where);
    const name = opts.name ?? "consumer";
    this.#assertNameFree(name, "setConsumer", this.#consumer);
    this.#consumer = { kind: "consumer", fn: fn as StageFn<any, any>, options: opts, name };
    return this;
  }

  /** Receives `TransformerError`, `SourceError` and `Dropped` events. */
  setErrorHandler(handler: ErrorHandler): this {
    if (typeof handler !== "function")
      throw new FlowConfigError(`setErrorHandler: expected a function, got ${describeValue(handler)}`, {
        option: "handler",
      });
    this.#handler = handler;
    return this;
  }

  /** The strategy for every stage that sets none (each stage gets its own `clone()`). */
  setDefaultScalingStrategy(strategy: ScalingStrategy): this {
    if (!isStrategy(strategy))
      throw new FlowConfigError(
        `setDefaultScalingStrategy: expected a ScalingStrategy, got ${describeValue(strategy)}`,
        {
          option: "defaultScalingStrategy",
        },
      );
    this.#defaultStrategy = strategy;
    return this;
  }

  /** Changes a stage's options by name (the consumer included); the new options merge over the old. */
  configure(stageName: string, options: StageOptions): this {
    this.#assertIdle("configure");
    const def = this.#find(stageName);
    if (!def)
      throw new FlowConfigError(
        `configure: no stage named ${describeValue(stageName)}; stages: ${this.#names().join(", ")}`,
        {
          code: "ERR_FLOW_STAGE_NAME",
          option: "stageName",
        },
      );
    const opts = parseStageOptions(options, `configure, stage "${stageName}"`);
    if (opts.name !== undefined && opts.name !== stageName) this.#assertNameFree(opts.name, "configure", def);
    def.options = { ...def.options, ...opts };
    return this;
  }

  /** Spawns the workers and starts the producer. Calling it while running does nothing. */
  async start(): Promise<void> {
    if (this.#running()) return;
    if (!this.#source) {
      throw new FlowConfigError("start(): no producer; call setProducer(source) first, or run(source)", {
        code: "ERR_FLOW_STATE",
        option: "producer",
      });
    }
    this.#launch(false, this.#source);
  }

  /** Resolves once every item of the current run reached a terminal state. */
  wait(): Promise<void> {
    if (!this.#runtime)
      return Promise.reject(
        new FlowConfigError("wait(): the flow was never started", { code: "ERR_FLOW_STATE" }),
      );
    return this.#runtime.finished;
  }

  /**
   * `setProducer(source)` + `start()` + `wait()`. Without a source it uses the producer already
   * set, and with none it runs unbounded: the first stage is called with `undefined` until
   * `drain()` or `stop()`.
   */
  async run(source?: Source<I>, options: RunOptions = {}): Promise<void> {
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw new FlowConfigError(`run: option "signal" = ${describeValue(signal)}: expected an AbortSignal`, {
        option: "signal",
      });
    if (source !== undefined) this.setProducer(source);
    if (this.#running())
      throw new FlowConfigError("run(): the flow is already running", { code: "ERR_FLOW_STATE" });
    const runtime = this.#launch(false, this.#source ?? unbounded);
    if (signal) {
      if (signal.aborted) void runtime.stop();
      else signal.addEventListener("abort", () => void runtime.stop(), { once: true });
    }
    await runtime.finished;
  }

  /**
   * The last stage's outputs as an AsyncIterable. Breaking out of the loop stops the flow and
   * closes every worker's resources. A flow with a consumer cannot be streamed.
   */
  stream(source?: Source<I>): AsyncIterable<O> {
    if (this.#consumer)
      throw new FlowConfigError(
        "stream(): this flow has a consumer; stream() yields the last transformer's outputs",
        {
          code: "ERR_FLOW_STATE",
        },
      );
    if (source !== undefined) this.setProducer(source);
    if (!this.#source)
      throw new FlowConfigError("stream(): no producer; pass a source", { code: "ERR_FLOW_STATE" });
    return {
      [Symbol.asyncIterator]: () => {
        if (this.#running())
          throw new FlowConfigError("stream(): the flow is already running", { code: "ERR_FLOW_STATE" });
        return this.#launch(true, this.#source!).reader() as AsyncIterator<O>;
      },
    };
  }

  /** Stops taking input, finishes everything in flight, then resolves. */
  drain(): Promise<void> {
    return this.#runtime ? this.#runtime.drain() : Promise.resolve();
  }

  /** Aborts: signals every in-flight item, drops what is queued, stops workers, runs every `close`. */
  stop(): Promise<void> {
    return this.#runtime ? this.#runtime.stop() : Promise.resolve();
  }

  /** A snapshot of the whole flow. */
  stats(): FlowStats {
    if (this.#runtime) return this.#runtime.stats();
    const now = (this.#options.clock ?? systemClock).now();
    return {
      state: "idle",
      now,
      startedAt: null,
      itemsIn: 0,
      consumed: 0,
      failed: 0,
      dropped: 0,
      inFlight: 0,
      stages: [],
    };
  }

  /** A snapshot of one stage, or `undefined` when there is no such stage or the flow never ran. */
  stageStats(name: string): StageStats | undefined {
    return this.#runtime?.stages.find((s) => s.name === name)?.metrics.snapshot();
  }

  /** Renders the structure (text, json, mermaid) or the live stats (text, json). */
  dump(options: DumpOptions = {}): string {
    const mode = options.mode ?? "structure";
    const format = options.format ?? "text";
    if (mode === "stats") {
      if (format === "mermaid")
        throw new FlowConfigError('dump: format "mermaid" is for mode "structure" only', {
          option: "format",
        });
      return renderStats(this.stats(), format);
    }
    if (mode !== "structure")
      throw new FlowConfigError(`dump: mode = ${describeValue(mode)}: expected "structure" or "stats"`, {
        option: "mode",
      });
    const nodes: StageNode[] = [{ name: "producer", kind: "producer" }];
    for (const spec of this.#specs()) {
      nodes.push({
        name: spec.name,
        kind: spec.kind,
        queueSize: spec.queueSize,
        queue: typeof spec.queue === "string" ? spec.queue : "priority",
        strategy:
          spec.strategy.constructor?.name && spec.strategy.constructor !== Object
            ? spec.strategy.constructor.name
            : "custom",
        minWorkers: spec.strategy.minWorkers ?? 1,
        maxWorkers: spec.strategy.maxWorkers ?? 1024,
      });
    }
    return renderStructure(nodes, format);
  }

  #launch(withSink: boolean, source: Source<unknown>): FlowRuntime {
    const specs = this.#specs();
    if (specs.length === 0)
      throw new FlowConfigError("start(): the flow has no stages; add a transformer or a consumer", {
        code: "ERR_FLOW_STATE",
      });
    const o = this.#options;
    const runtime = new FlowRuntime(
      specs,
      source,
      {
        clock: o.clock ?? systemClock,
        tickMs: o.tickMs ?? 100,
        statsIntervalMs: o.statsIntervalMs ?? 1000,
        statsWindowMs: o.statsWindowMs ?? 10_000,
        sampleEvery: o.timingSampleEvery ?? 8,
        handler: this.#handler,
        events: this,
      },
      withSink,
    );
    this.#runtime = runtime;
    runtime.start();
    return runtime;
  }

  #specs(): StageSpec[] {
    const defs = this.#consumer ? [...this.#defs, this.#consumer] : this.#defs;
    return defs.map((def) => {
      const o = def.options;
      const fallback = this.#defaultStrategy;
      const strategy =
        o.scalingStrategy ?? (fallback ? (fallback.clone?.() ?? fallback) : new FixedScaling({ workers: 1 }));
      const perWorker = isPerWorker(def.fn) ? def.fn : null;
      return {
        name: o.name ?? def.name,
        kind: def.kind,
        fn: perWorker ? null : (def.fn as StageSpec["fn"]),
        factory: perWorker ? perWorker.factory : null,
        strategy,
        queueSize: o.queueSize ?? 1024,
        queue: o.queue ?? "fifo",
      };
    });
  }

  #addStage(kind: "transformer", fn: unknown, options: unknown, where: string): void {
    checkStageFn(fn, where);
    this.#assertIdle(where);
    const opts = parseStageOptions(options, where);
    let name = opts.name;
    if (name === undefined) {
      const base = (typeof fn === "function" && fn.name) || `stage${this.#defs.length + 1}`;
      name = base;
      for (let k = 2; this.#find(name); k++) name = `${base}-${k}`;
    }
    this.#assertNameFree(name, where, null);
    this.#defs.push({ kind, fn: fn as StageFn<any, any>, options: opts, name });
  }

  #find(name: string): StageDef | undefined {
    const all = this.#consumer ? [...this.#defs, this.#consumer] : this.#defs;
    return all.find((d) => (d.options.name ?? d.name) === name);
  }

  #names(): string[] {
    const all = this.#consumer ? [...this.#defs, this.#consumer] : this.#defs;
    return all.map((d) => d.options.name ?? d.name);
  }

  #assertNameFree(name: string, where: string, self: StageDef | null): void {
    const found = this.#find(name);
    if (found && found !== self)
      throw new FlowConfigError(`${where}: a stage named ${describeValue(name)} already exists`, {
        code: "ERR_FLOW_STAGE_NAME",
        option: "name",
      });
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

/** The stage's name for messages, before its options are validated. */
function stageLabel(options: unknown, fn: unknown, fallback: string): string {
  const name = (options as { name?: unknown } | undefined)?.name;
  if (typeof name === "string" && name.length > 0) return name;
  return (typeof fn === "function" && fn.name) || fallback;
}

function* unbounded(): Generator<undefined> {
  for (;;) yield undefined;
}
