import type { EventEmitter } from "eventemitter3";
import type { TimeCache } from "../clock/clock.js";
import {
  type DeadLetter,
  type DeadLetterSink,
  type DropReason,
  type Dropped,
  emptyDropCounts,
  type Expanded,
  type FlowEvents,
  type ListenerError,
  type Skipped,
  type TransformerError,
} from "../model/events.js";
import { Lineage } from "./lineage.js";
import type { Reporter } from "./reporter.js";
import type { ItemTracer } from "../model/item/tracer.js";

/**
 * Counts and reports a run's final outcomes other than consumption: items that failed for good
 * (event, error handler, dead-letter sink), items dropped (by reason), listener and source
 * errors, and the flow's own faults (logged once per kind).
 */
export class Outcomes {
  failed = 0;
  dropped = 0;
  skipped = 0;
  expanded = 0;
  listenerErrors = 0;
  readonly dropReasons: Record<DropReason, number> = emptyDropCounts();
  /** Who descends from whom, and whose source waits for an outcome. */
  readonly lineage = new Lineage(this);

  constructor(
    private readonly events: EventEmitter<FlowEvents>,
    readonly reporter: Reporter,
    private readonly cache: TimeCache,
    /** The run's id, carried by every outcome. */
    readonly runId: string,
  ) {}

  /** Told every item's final outcome when the flow is traced (see {@link TracedOutcomes}). */
  get tracer(): ItemTracer | null {
    return null;
  }

  /**
   * Reports a `TransformerError` and hands the item to the dead-letter sink (`deadLetter`, else
   * the flow's); resolves once both are done, `handlerTimeoutMs` passed, or the flow stopped.
   */
  itemFailed(
    item: unknown,
    id: number,
    error: unknown,
    stage: string,
    attempt: number,
    deadLetter: DeadLetterSink | null,
  ): Promise<void> {
    this.failed++;
    const runId = this.runId;
    const event: TransformerError = { type: "TransformerError", id, runId, item, error, stage, attempt };
    this.events.emit("itemError", event);
    const letter = (): DeadLetter => ({
      type: "DeadLetter",
      id,
      runId,
      item,
      error,
      stage,
      attempts: attempt,
      failedAt: this.cache.read(),
    });
    const reported = this.reporter.failed(event, letter, deadLetter);
    // The source is told once the handler and the dead-letter sink are done with the item (a
    // source that ends a failed message for good relies on the sink having stored it).
    const lineage = this.lineage;
    if (!lineage.active || !lineage.tracks(id)) return reported;
    return reported.then(() => lineage.settle(id, { outcome: "failed", id, stage, error }));
  }

  /** Reports a `Dropped` event. */
  itemDropped(item: unknown, id: number, stage: string, reason: DropReason): Promise<void> {
    this.dropped++;
    this.dropReasons[reason]++;
    const event: Dropped = { type: "Dropped", id, runId: this.runId, item, stage, reason };
    this.events.emit("drop", event);
    const reported = this.reporter.deliver(event);
    const lineage = this.lineage;
    if (!lineage.active || !lineage.tracks(id)) return reported;
    return reported.then(() => lineage.settle(id, { outcome: "dropped", id, stage, reason }));
  }

  /** Emits a `skip` event: the item ended on purpose (never the error handler's). */
  itemSkipped(item: unknown, id: number, stage: string): void {
    this.skipped++;
    // Built only when someone listens: a filter skips many items, each a hot-path event.
    if (this.events.listenerCount("skip") > 0) {
      const event: Skipped = { type: "Skipped", id, runId: this.runId, item, stage };
      this.events.emit("skip", event);
    }
    if (this.lineage.active) this.lineage.settle(id, null);
  }

  /** Emits an `expand` event: a `flatMap` gave the item's children in its place. */
  itemExpanded(item: unknown, id: number, stage: string, children: number): void {
    this.expanded++;
    if (this.events.listenerCount("expand") > 0) {
      const event: Expanded = { type: "Expanded", id, runId: this.runId, item, stage, children };
      this.events.emit("expand", event);
    }
    if (this.lineage.active) this.lineage.settle(id, null);
  }

  /** A `flatMap` made item `childId` from item `parentId`. */
  childMade(parentId: number, childId: number): void {
    this.lineage.child(parentId, childId);
  }

  /** The `ack` or `nack` of a source's item threw or rejected: logged once; the item's outcome stands. */
  ackFailed(id: number, which: "ack" | "nack", error: unknown): void {
    this.reporter.logOnce(
      `ack:${which}`,
      `[flowrhythm] the source's ${which}() for item ${id} failed:`,
      error,
    );
  }

  /** Emits the `retry` event (only when someone listens); a batch's `ids` are its items'. */
  itemRetrying(
    stage: string,
    item: unknown,
    ids: number | readonly number[],
    attempt: number,
    error: unknown,
    delayMs: number,
  ): void {
    const events = this.events;
    if (events.listenerCount("retry") === 0) return;
    const [id, many] = typeof ids === "number" ? [ids, undefined] : [ids[0]!, ids];
    events.emit("retry", { stage, item, id, ids: many, runId: this.runId, attempt, error, delayMs });
  }

  /** A listener of `event` threw or rejected: counted and reported; items are not affected. */
  listenerFailed(event: keyof FlowEvents, error: unknown): void {
    this.listenerErrors++;
    const report: ListenerError = { type: "ListenerError", event, error };
    void this.reporter.deliver(report);
  }

  sourceFailed(error: unknown): void {
    const event = { type: "SourceError", error } as const;
    this.events.emit("sourceError", event);
    void this.reporter.deliver(event);
  }

  strategyFault(stage: string, error: unknown): void {
    this.reporter.logOnce(
      `${stage}:strategy`,
      `[flowrhythm] scaling strategy of stage "${stage}" failed; decision ignored:`,
      error,
    );
  }

  workerFault(stage: string, what: string, error: unknown): void {
    this.reporter.logOnce(`${stage}:${what}`, `[flowrhythm] stage "${stage}": ${what}:`, error);
  }
}

/**
 * The outcomes of a traced run: each also tells the tracer. A subclass, so that a run without a
 * tracer runs the same code as before tracing existed (a check on each outcome path measured
 * ~1 % of an item's instructions: the path is hot, and the extra call changed how V8 compiled it).
 */
export class TracedOutcomes extends Outcomes {
  constructor(
    events: EventEmitter<FlowEvents>,
    reporter: Reporter,
    cache: TimeCache,
    runId: string,
    readonly itemTracer: ItemTracer,
  ) {
    super(events, reporter, cache, runId);
  }

  override get tracer(): ItemTracer {
    return this.itemTracer;
  }

  override itemFailed(...call: Parameters<Outcomes["itemFailed"]>): Promise<void> {
    this.itemTracer.ended(call[1], "failed");
    return super.itemFailed(...call);
  }

  override itemDropped(...call: Parameters<Outcomes["itemDropped"]>): Promise<void> {
    this.itemTracer.ended(call[1], "dropped");
    return super.itemDropped(...call);
  }

  override childMade(parentId: number, childId: number): void {
    super.childMade(parentId, childId);
    this.itemTracer.child(parentId, childId);
  }

  override itemSkipped(item: unknown, id: number, stage: string): void {
    this.itemTracer.ended(id, "skipped");
    super.itemSkipped(item, id, stage);
  }

  override itemExpanded(item: unknown, id: number, stage: string, children: number): void {
    this.itemTracer.ended(id, "expanded");
    super.itemExpanded(item, id, stage, children);
  }
}

/** A run's outcomes: traced ones when the flow has a tracer, else the plain ones. */
export function outcomesOf(
  events: EventEmitter<FlowEvents>,
  reporter: Reporter,
  cache: TimeCache,
  runId: string,
  tracer: ItemTracer | null,
): Outcomes {
  return tracer
    ? new TracedOutcomes(events, reporter, cache, runId, tracer)
    : new Outcomes(events, reporter, cache, runId);
}

/**
 * A traced run's `consume`: the run's own, then the tracer told. Set on the run only when it is
 * traced, so an untraced run's consumption path stays as it was.
 */
export function tracedConsume(consume: (id: number) => void, tracer: ItemTracer): (id: number) => void {
  return (id) => {
    consume(id);
    tracer.ended(id, "consumed");
  };
}
