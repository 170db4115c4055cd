import type { StageContext } from "../types.js";

/** A stage's call as a worker makes it: the item (or batch, or branch input) and its context. */
export type StageCall = (item: unknown, ctx: StageContext) => unknown;

/** An item's one final outcome, as tracing names it. */
export type ItemOutcome = "consumed" | "failed" | "dropped" | "skipped" | "expanded";

/**
 * What the runtime asks of an item tracer (flowrhythm/opentelemetry's `traceItems`). The flow
 * knows nothing of OpenTelemetry: it hands each worker's call to `wrap` once, when the worker
 * starts (so a run without a tracer pays nothing, and one with a tracer pays one call per
 * attempt, where the tracer decides whether the item is sampled), and tells `ended` every item's
 * final outcome. Neither may throw (the tracer guards its own code).
 */
export interface ItemTracer {
  wrap(stage: string, call: StageCall): StageCall;
  /** A `flatMap` made item `childId` from item `parentId`. */
  child(parentId: number, childId: number): void;
  ended(id: number, outcome: ItemOutcome): void;
}
