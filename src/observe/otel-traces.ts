import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import type { Flow } from "../flow/flow.js";
import { checkFlow } from "./check-flow.js";
import { type ItemOutcome, type ItemTracer, onRunEnd, type StageCall, traceWith } from "../flow/observe.js";
import { isCallable } from "../internal/callable.js";
import { between } from "../internal/option-fields.js";
import { check, optionsObject, parseOptions } from "../internal/parse-options.js";
import type { OptionsInput } from "../internal/parse-options.js";
import type { StageContext } from "../model/types.js";

const traceShape = {
  /**
   * Where the spans go. @defaultValue the global provider (`trace.getTracerProvider()`: a no-op
   * until the application registers an SDK)
   */
  tracerProvider: check<TracerProvider>(
    (v) => typeof v === "object" && v !== null && isCallable((v as TracerProvider).getTracer),
    "an OpenTelemetry TracerProvider (an object with getTracer(name))",
  ).optional(),
  /**
   * The share of items traced, from 0 to 1: an item is in or out for its whole life (every stage,
   * every attempt). The SDK's own sampler still applies to what is traced. @defaultValue 0.01
   */
  sampleRate: between(0, 1).optional(),
};

/** `traceItems` options. */
export interface TraceOptions extends OptionsInput<typeof traceShape> {}

/**
 * A traced item: its own span, the context its stages' spans start in, and its attempts whose
 * calls have not settled — at most one a stage, and a `fanOut`'s branches run at once. An
 * attempt the flow abandoned (a `timeoutMs` deadline, `stop()`: its call may never settle) ends
 * when the item moves on — its retry at that stage, or its outcome, both of which the flow
 * guarantees — failed with its signal's reason. No listener on the signal: Node's EventTarget
 * cost a traced call more than its spans, and its maps changed per run.
 */
class ItemTrace {
  readonly open: OpenAttempt[] = [];
  /** Set when the item reached its outcome with calls still running: where its tracer keeps it. */
  orphans: Set<ItemTrace> | null = null;
  constructor(
    readonly span: Span,
    readonly context: Context,
  ) {}

  /**
   * The item moved on: its retry at `stage` starts, or (null) it reached its outcome. The open
   * attempts at that stage (at every stage) whose signal aborted end, failed with its reason; one
   * still running unaborted (a `fanOut` branch the outcome did not wait for) ends when it settles.
   */
  movedOn(stage: string | null): void {
    const open = this.open;
    for (let i = open.length - 1; i >= 0; i--) {
      const a = open[i]!;
      if ((stage !== null && a.stage !== stage) || !a.signal.aborted) continue;
      open.splice(i, 1);
      failed(a.span, abortReason(a.signal));
    }
  }

  /** Ends the open attempts as they stand (tracing was turned off: they did not fail). */
  close(): void {
    for (const a of this.open) guarded(() => a.span.end());
    this.open.length = 0;
  }
}

/** One attempt's span, its stage, and the signal its call got. */
interface OpenAttempt {
  readonly span: Span;
  readonly stage: string;
  readonly signal: AbortSignal;
}

const abortReason = (signal: AbortSignal): unknown => signal.reason ?? new Error("aborted");

/** A deadline's abort: the flow failed the attempt then, whatever its call did later. */
const timedOut = (signal: AbortSignal): boolean =>
  signal.aborted && (signal.reason as { name?: unknown } | undefined)?.name === "TimeoutError";

/**
 * Items that reached their outcome lately, whose calls may still come (a `fanOut` branch that runs
 * on): such a call runs untraced instead of opening a second item span. The last this many are
 * kept; the run's end forgets them all (ids start again with the next run).
 */
const ENDED_KEPT = 4096;

/**
 * Expanded items whose context their children may still ask for: a `flatMap` reports its item
 * expanded once the children are made, often before they reach a stage. The last this many are
 * kept (bounded, whatever the flow does); a child that comes later starts a trace of its own.
 */
const EXPANDED_KEPT = 1024;

/** Whether item `id` is in the sample: a salted multiplicative hash of its id below `threshold`. */
const inSample = (id: number, salt: number, threshold: number): boolean =>
  Math.imul(id ^ salt, 0x9e3779b1) >>> 0 < threshold;

/** An outcome that is a failure of the item: its span's status is an error. */
const FAILURES: ReadonlySet<ItemOutcome> = new Set(["failed", "dropped"]);

/**
 * Spans for the items of a flow: each sampled item gets a span of its own (`<flow> item`), from
 * its first stage call to its final outcome (`flowrhythm.item.outcome`), and one child span per
 * stage attempt (`<flow> <stage>`), in whose context the stage's function runs — so a span the
 * user opens inside a stage nests under it (with a context manager registered, as the Node SDK
 * does). A `flatMap`'s child nests under its parent item while the parent's span is open.
 */
class OtelItemTracer implements ItemTracer {
  readonly #items = new Map<number, ItemTrace>();
  readonly #expanded = new Map<number, Context>();
  readonly #ended = new Set<number>();
  /** Items past their outcome with calls still running (a `fanOut` branch): closed at the run's end. */
  readonly #orphans = new Set<ItemTrace>();
  /** Children of traced items: traced with their parent, whatever their own id's hash says. */
  readonly #children = new Set<number>();
  /** Items whose id hashes below this are sampled. */
  readonly #threshold: number;
  /** Drawn once: which ids are sampled differs between tracers, not between stages. */
  readonly #salt = (Math.random() * 2 ** 32) | 0;
  #on = true;

  constructor(
    private readonly tracer: Tracer,
    private readonly flowName: string,
    rate: number,
  ) {
    this.#threshold = rate >= 1 ? 2 ** 32 : Math.floor(rate * 2 ** 32);
  }

  /**
   * Whether item `id` is traced: a hash of its id, so every stage agrees without storing anything
   * for the items left out — or it is a child of a traced item, so a traced tree is whole.
   */
  sampled(id: number): boolean {
    if (!this.#on) return false;
    return inSample(id, this.#salt, this.#threshold) || (this.#children.size > 0 && this.#children.has(id));
  }

  /**
   * The worker's call, traced when its item is sampled. An item left out pays the hash and one
   * call more: the salt and threshold are read once here, not through `sampled` on every call.
   */
  wrap(stage: string, call: StageCall): StageCall {
    const name = `${this.flowName} ${stage}`;
    const salt = this.#salt;
    const threshold = this.#threshold;
    const children = this.#children;
    return (item, ctx) => {
      const id = ctx.id;
      // `inSample`, written out: through the call, items left out measured up to +160 instructions
      // each (steady state, medians of three, against a fixed baseline that moved +60 that run).
      if (Math.imul(id ^ salt, 0x9e3779b1) >>> 0 >= threshold && (children.size === 0 || !children.has(id)))
        return call(item, ctx);
      return this.#on ? this.#traced(name, stage, call, item, ctx) : call(item, ctx);
    };
  }

  child(parentId: number, childId: number): void {
    if (this.sampled(parentId)) this.#children.add(childId);
  }

  ended(id: number, outcome: ItemOutcome): void {
    if (!this.sampled(id)) return;
    this.#children.delete(id);
    const t = this.#items.get(id);
    if (t === undefined) return;
    this.#items.delete(id);
    this.#ended.add(id);
    if (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.values().next().value!);
    if (outcome === "expanded") {
      this.#expanded.set(id, t.context);
      if (this.#expanded.size > EXPANDED_KEPT) this.#expanded.delete(this.#expanded.keys().next().value!);
    }
    t.movedOn(null);
    if (t.open.length > 0) {
      t.orphans = this.#orphans;
      this.#orphans.add(t);
    }
    guarded(() => {
      t.span.setAttribute("flowrhythm.item.outcome", outcome);
      if (FAILURES.has(outcome)) t.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      t.span.end();
    });
  }

  /** Ends the spans of items still open, and traces nothing more. */
  off(): void {
    this.#on = false;
    this.runEnded();
  }

  /**
   * A run ended: every item has its outcome, so what is still open is a call that came after it
   * (older than the ids kept in `#ended`); it ends as it stands. Ids start again with the next run.
   */
  runEnded(): void {
    for (const t of this.#items.values()) {
      t.close();
      guarded(() => t.span.end());
    }
    for (const t of this.#orphans) t.close();
    this.#orphans.clear();
    this.#items.clear();
    this.#ended.clear();
    this.#expanded.clear();
    this.#children.clear();
  }

  #traced(name: string, stage: string, call: StageCall, item: unknown, ctx: StageContext): unknown {
    let t: ItemTrace;
    let attempt: OpenAttempt;
    let active: Context;
    try {
      if (this.#ended.size > 0 && this.#ended.has(ctx.id)) return call(item, ctx);
      t = this.#itemTrace(ctx);
      t.movedOn(stage);
      const attributes: Attributes = {
        "flowrhythm.stage.name": stage,
        "flowrhythm.item.id": ctx.id,
        "flowrhythm.attempt": ctx.attempt,
      };
      if (ctx.ids !== undefined) attributes["flowrhythm.batch.size"] = ctx.ids.length;
      const span = this.tracer.startSpan(name, { attributes }, t.context);
      active = trace.setSpan(t.context, span);
      attempt = { span, stage, signal: ctx.signal };
      t.open.push(attempt);
    } catch {
      // A tracer that throws must not cost the item its call: it runs untraced.
      return call(item, ctx);
    }
    // 0: not called yet, 1: the call returned, 2: it threw. A context manager that throws around
    // the call must not cost the item its call, nor drop what the call returned.
    let state = 0;
    let out: unknown;
    let thrown: unknown;
    try {
      context.with(
        active,
        (i: unknown, c: StageContext) => {
          try {
            out = call(i, c);
            state = 1;
          } catch (error) {
            thrown = error;
            state = 2;
          }
          return out;
        },
        undefined,
        item,
        ctx,
      );
    } catch {}
    if (state === 0) {
      try {
        out = call(item, ctx);
      } catch (error) {
        thrown = error;
        state = 2;
      }
    }
    if (state === 2) {
      settled(t, attempt, true, thrown);
      throw thrown;
    }
    if (out instanceof Promise) {
      // A side chain on the call's own promise: the worker awaits that promise, not one of ours,
      // so a traced item takes no more turns than an untraced one.
      out.then(
        () => settled(t, attempt, false, undefined),
        (error: unknown) => settled(t, attempt, true, error),
      );
      return out;
    }
    if (out === null || (typeof out !== "object" && typeof out !== "function")) {
      settled(t, attempt, false, undefined);
      return out;
    }
    // Another thenable: its `then` is called once, by the promise the worker then awaits.
    return Promise.resolve(out).then(
      (value) => {
        settled(t, attempt, false, undefined);
        return value;
      },
      (error: unknown) => {
        settled(t, attempt, true, error);
        throw error;
      },
    );
  }

  /** The item's trace: its span started at its first call, under its parent item's when open. */
  #itemTrace(ctx: StageContext): ItemTrace {
    const known = this.#items.get(ctx.id);
    if (known !== undefined) return known;
    const parentId = ctx.parentId;
    const parent =
      (parentId !== undefined && (this.#items.get(parentId)?.context ?? this.#expanded.get(parentId))) ||
      ROOT_CONTEXT;
    const attributes: Attributes = {
      "flowrhythm.flow.name": this.flowName,
      "flowrhythm.run.id": ctx.runId,
      "flowrhythm.item.id": ctx.id,
    };
    if (parentId !== undefined) attributes["flowrhythm.item.parent_id"] = parentId;
    const span = this.tracer.startSpan(`${this.flowName} item`, { attributes }, parent);
    const t = new ItemTrace(span, trace.setSpan(parent, span));
    this.#items.set(ctx.id, t);
    return t;
  }
}

/**
 * An attempt's call settled: its span ends — failed when the call failed, or when its deadline
 * passed first (the flow failed the attempt then, whatever the call did later; after `stop()` a
 * call that completes is what the flow goes by, and the item's span says what became of the
 * item) — unless the item already moved on and ended it.
 */
function settled(t: ItemTrace, attempt: OpenAttempt, isError: boolean, error: unknown): void {
  const i = t.open.indexOf(attempt);
  if (i < 0) return;
  t.open.splice(i, 1);
  if (t.open.length === 0) t.orphans?.delete(t);
  if (timedOut(attempt.signal)) failed(attempt.span, abortReason(attempt.signal));
  else if (isError) failed(attempt.span, error);
  else guarded(() => attempt.span.end());
}

/** Runs `fn`, ignoring what it throws: the tracer's failures never reach an item. */
function guarded(fn: () => void): void {
  try {
    fn();
  } catch {}
}

function failed(span: Span, error: unknown): void {
  try {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    span.end();
  } catch {}
}

/**
 * Traces a sample of `flow`'s items with OpenTelemetry, from its next run on, until the returned
 * function is called (it ends the spans still open). Cost: nothing for an item left out but a
 * hash of its id per call; a traced item pays its spans.
 *
 * @example
 * ```ts
 * import { traceItems } from "flowrhythm/opentelemetry";
 * const untrace = traceItems(flow, { sampleRate: 0.05 });
 * ```
 */
export function traceItems(flow: Flow<any, any>, options: TraceOptions = {}): () => void {
  checkFlow("traceItems", flow);
  const o = parseOptions(optionsObject(traceShape), options, "traceItems");
  const provider = o.tracerProvider ?? trace.getTracerProvider();
  const tracer = new OtelItemTracer(provider.getTracer("flowrhythm"), flow.name, o.sampleRate ?? 0.01);
  const untrace = traceWith(flow, tracer);
  const unwatch = onRunEnd(flow, () => tracer.runEnded());
  return () => {
    untrace();
    unwatch();
    tracer.off();
  };
}
