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
import { FlowConfigError } from "../errors.js";
import { Flow } from "../flow/flow.js";
import { type ItemOutcome, type ItemTracer, type StageCall, traceWith } from "../flow/observe.js";
import { isCallable } from "../internal/callable.js";
import { describeValue } from "../internal/describe.js";
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

  /** Whether item `id` is traced: a hash of its id, so every stage agrees without storing anything. */
  sampled(id: number): boolean {
    return this.#on && Math.imul(id ^ this.#salt, 0x9e3779b1) >>> 0 < this.#threshold;
  }

  wrap(stage: string, call: StageCall): StageCall {
    const name = `${this.flowName} ${stage}`;
    return (item, ctx) =>
      this.sampled(ctx.id) ? this.#traced(name, stage, call, item, ctx) : call(item, ctx);
  }

  ended(id: number, outcome: ItemOutcome): void {
    if (!this.sampled(id)) return;
    const t = this.#items.get(id);
    if (t === undefined) return;
    this.#items.delete(id);
    if (outcome === "expanded") {
      this.#expanded.set(id, t.context);
      if (this.#expanded.size > EXPANDED_KEPT) this.#expanded.delete(this.#expanded.keys().next().value!);
    }
    try {
      t.span.setAttribute("flowrhythm.item.outcome", outcome);
      if (FAILURES.has(outcome)) t.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      t.span.end();
    } catch {}
  }

  /** Ends the spans of items still open, and traces nothing more. */
  off(): void {
    this.#on = false;
    for (const t of this.#items.values()) {
      try {
        t.span.end();
      } catch {}
    }
    this.#items.clear();
    this.#expanded.clear();
  }

  #traced(name: string, stage: string, call: StageCall, item: unknown, ctx: StageContext): unknown {
    let span: Span;
    let active: Context;
    try {
      const parent = this.#itemContext(ctx);
      const attributes: Attributes = {
        "flowrhythm.stage.name": stage,
        "flowrhythm.item.id": ctx.id,
        "flowrhythm.attempt": ctx.attempt,
      };
      if (ctx.ids !== undefined) attributes["flowrhythm.batch.size"] = ctx.ids.length;
      span = this.tracer.startSpan(name, { attributes }, parent);
      active = trace.setSpan(parent, span);
    } catch {
      // A tracer that throws must not cost the item its call: it runs untraced.
      return call(item, ctx);
    }
    let out: unknown;
    try {
      out = context.with(active, call, undefined, item, ctx);
    } catch (error) {
      failed(span, error);
      throw error;
    }
    if (out === null || (typeof out !== "object" && typeof out !== "function")) {
      span.end();
      return out;
    }
    // One `then` on the user's value, the promise's own: the worker awaits ours.
    return Promise.resolve(out).then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        failed(span, error);
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
  if (!(flow instanceof Flow))
    throw new FlowConfigError(
      `traceItems: flow = ${describeValue(flow)}: expected a Flow (new Flow(...) or flow(...))`,
      { option: "flow" },
    );
  const o = parseOptions(optionsObject(traceShape), options, "traceItems");
  const provider = o.tracerProvider ?? trace.getTracerProvider();
  const tracer = new OtelItemTracer(provider.getTracer("flowrhythm"), flow.name, o.sampleRate ?? 0.01);
  const untrace = traceWith(flow, tracer);
  return () => {
    untrace();
    tracer.off();
  };
}
