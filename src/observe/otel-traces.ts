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
import { type ItemOutcome, type ItemTracer, type StageCall, traceWith } from "../flow/observe.js";
import { isCallable } from "../internal/callable.js";
import { between } from "../internal/option-fields.js";
import { SharedListener } from "../internal/shared-listener.js";
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

/** The item's own span, and the context its stages' spans start in. */
interface ItemTrace {
  readonly span: Span;
  readonly context: Context;
}

/**
 * Expanded items whose context their children may still ask for: a `flatMap` reports its item
 * expanded once the children are made, often before they reach a stage. The last this many are
 * kept (bounded, whatever the flow does); a child that comes later starts a trace of its own.
 */
const EXPANDED_KEPT = 1024;

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
    if (Math.imul(id ^ this.#salt, 0x9e3779b1) >>> 0 < this.#threshold) return true;
    return this.#children.size > 0 && this.#children.has(id);
  }

  wrap(stage: string, call: StageCall): StageCall {
    const name = `${this.flowName} ${stage}`;
    return (item, ctx) =>
      this.sampled(ctx.id) ? this.#traced(name, stage, call, item, ctx) : call(item, ctx);
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
    if (outcome === "expanded") {
      this.#expanded.set(id, t.context);
      if (this.#expanded.size > EXPANDED_KEPT) this.#expanded.delete(this.#expanded.keys().next().value!);
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
    for (const t of this.#items.values()) guarded(() => t.span.end());
    this.#items.clear();
    this.#expanded.clear();
    this.#children.clear();
  }

  #traced(name: string, stage: string, call: StageCall, item: unknown, ctx: StageContext): unknown {
    let attempt: AttemptSpan;
    let active: Context;
    try {
      const parent = this.#itemContext(ctx);
      const attributes: Attributes = {
        "flowrhythm.stage.name": stage,
        "flowrhythm.item.id": ctx.id,
        "flowrhythm.attempt": ctx.attempt,
      };
      if (ctx.ids !== undefined) attributes["flowrhythm.batch.size"] = ctx.ids.length;
      const span = this.tracer.startSpan(name, { attributes }, parent);
      active = trace.setSpan(parent, span);
      attempt = new AttemptSpan(span, ctx.signal);
    } catch {
      // A tracer that throws must not cost the item its call: it runs untraced.
      return call(item, ctx);
    }
    let out: unknown;
    try {
      out = context.with(active, call, undefined, item, ctx);
    } catch (error) {
      attempt.end(error);
      throw error;
    }
    if (out instanceof Promise) {
      // A side chain on the call's own promise: the worker awaits that promise, not one of ours,
      // so a traced item takes no more turns than an untraced one.
      out.then(
        () => attempt.end(),
        (error: unknown) => attempt.end(error),
      );
      return out;
    }
    if (out === null || (typeof out !== "object" && typeof out !== "function")) {
      attempt.end();
      return out;
    }
    // Another thenable: its `then` is called once, by the promise the worker then awaits.
    return Promise.resolve(out).then(
      (value) => {
        attempt.end();
        return value;
      },
      (error: unknown) => {
        attempt.end(error);
        throw error;
      },
    );
  }

  /** The item's context: its span started at its first call, under its parent item's when open. */
  #itemContext(ctx: StageContext): Context {
    const known = this.#items.get(ctx.id);
    if (known !== undefined) return known.context;
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
    const t = { span, context: trace.setSpan(parent, span) };
    this.#items.set(ctx.id, t);
    return t.context;
  }
}

/**
 * One attempt's span, ended once: when the call settles, or when its signal aborts first (a
 * `timeoutMs` deadline or `stop()`: the attempt has failed then, whatever the call does later,
 * and a call that never settles still gets its span ended).
 */
class AttemptSpan {
  #open = true;
  readonly #aborted = (): void => this.end(this.signal.reason ?? new Error("aborted"));

  constructor(
    private readonly span: Span,
    private readonly signal: AbortSignal,
  ) {
    if (signal.aborted) this.#aborted();
    else aborts.add(signal, this.#aborted);
  }

  /** Ends the span, failed when `error` is given (a throw of the tracer's is ignored). */
  end(...failure: [] | [unknown]): void {
    if (!this.#open) return;
    this.#open = false;
    aborts.delete(this.signal, this.#aborted);
    const span = this.span;
    guarded(() => (failure.length > 0 ? failed(span, failure[0]) : span.end()));
  }
}

/**
 * The open attempts of each signal, behind one 'abort' listener a signal: without a `timeoutMs`,
 * every worker's calls share the run's signal, and a listener per traced call in flight would
 * trip its MaxListenersExceededWarning on a wide stage. The listener comes off when the signal's
 * last open attempt ends: the run's signal lives for the run, and must not gather one per lull.
 */
const aborts = new SharedListener<AbortSignal>(
  (signal, fire) => signal.addEventListener("abort", fire, { once: true }),
  (signal, fire) => signal.removeEventListener("abort", fire),
);

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
  return () => {
    untrace();
    tracer.off();
  };
}
