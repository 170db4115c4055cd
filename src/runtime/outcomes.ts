import type { EventEmitter } from "eventemitter3";
import type { TimeCache } from "../clock/clock.js";
import {
  type DeadLetter,
  type DeadLetterSink,
  type DropReason,
  type Dropped,
  emptyDropCounts,
  type FlowEvents,
  type ListenerError,
  type Skipped,
  type TransformerError,
} from "../model/events.js";
import type { Reporter } from "./reporter.js";

/**
 * Counts and reports a run's final outcomes other than consumption: items that failed for good
 * (event, error handler, dead-letter sink), items dropped (by reason), listener and source
 * errors, and the flow's own faults (logged once per kind).
 */
export class Outcomes {
  failed = 0;
  dropped = 0;
  skipped = 0;
  listenerErrors = 0;
  readonly dropReasons: Record<DropReason, number> = emptyDropCounts();

  constructor(
    private readonly events: EventEmitter<FlowEvents>,
    readonly reporter: Reporter,
    private readonly cache: TimeCache,
  ) {}

  /**
   * Reports a `TransformerError` and hands the item to the dead-letter sink (`deadLetter`, else
   * the flow's); resolves once both are done, `handlerTimeoutMs` passed, or the flow stopped.
   */
  itemFailed(
    item: unknown,
    error: unknown,
    stage: string,
    attempt: number,
    deadLetter: DeadLetterSink | null,
  ): Promise<void> {
    this.failed++;
    const event: TransformerError = { type: "TransformerError", item, error, stage, attempt };
    this.events.emit("itemError", event);
    const letter = (): DeadLetter => ({
      type: "DeadLetter",
      item,
      error,
      stage,
      attempts: attempt,
      failedAt: this.cache.read(),
    });
    return this.reporter.failed(event, letter, deadLetter);
  }

  /** Reports a `Dropped` event. */
  itemDropped(item: unknown, stage: string, reason: DropReason): Promise<void> {
    this.dropped++;
    this.dropReasons[reason]++;
    const event: Dropped = { type: "Dropped", item, stage, reason };
    this.events.emit("drop", event);
    return this.reporter.deliver(event);
  }

  /** Emits a `skip` event: the item ended on purpose (never the error handler's). */
  itemSkipped(item: unknown, stage: string): void {
    this.skipped++;
    const event: Skipped = { type: "Skipped", item, stage };
    this.events.emit("skip", event);
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
