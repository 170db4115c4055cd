import type { Clock, TimeCache } from "../clock/clock.js";
import type { ScaleEvent } from "../model/events.js";
import type { EventEmitter } from "eventemitter3";
import type { DeadLetterSink, DropReason, ErrorHandler, FlowEvents } from "../model/events.js";
import type { Outcomes } from "./outcomes.js";
import type { TimingSink } from "../stats/latency-recorder.js";
import type { ItemTracer } from "../model/item/tracer.js";

/** What a running stage needs from the flow that runs it. */
export interface StageRun {
  readonly clock: Clock;
  readonly cache: TimeCache;
  /** Aborts on `stop()`; every worker's `ctx.signal`. */
  readonly signal: AbortSignal;
  readonly sampleEvery: number;
  /** How long a worker's closing waits (late calls, `close()`), and how long `stop()` waits for workers. */
  readonly closeTimeoutMs: number;
  readonly statsWindowMs: number;
  /** Exporters' sinks for the stages' timing samples. */
  readonly timingSinks: ReadonlySet<TimingSink>;
  /** Set by `stop()`: no new workers, outputs are dropped. */
  readonly stopping: boolean;
  /**
   * By this time (on `cache`) the flow gives the event loop a turn: a loop that finds it passed
   * awaits {@link StageRun.turn} before its next item.
   */
  readonly yieldAt: number;
  /** Resolves after the event loop has had a turn (a macrotask); one turn shared by every loop. */
  turn(): Promise<void>;
  /** `taker.resume()` after the event loop has had a turn (the same turn as {@link StageRun.turn}). */
  awaitTurn(taker: { resume(): void }): void;
  /** Items that reached the end of the flow. */
  consumed: number;
  /** The run's id (`ctx.runId`). */
  readonly runId: string;
  /** A new item id (a `flatMap`'s child). */
  newId(): number;
  /** Stage calls in their synchronous part right now (0 or 1, more with a nested flow). */
  inCall: number;
  scaled(event: ScaleEvent): void;
  strategyFault(stage: string, error: unknown): void;
  workerFault(stage: string, what: string, error: unknown): void;
  /** Reports items' outcomes (failed, dropped, skipped, expanded, retrying). */
  readonly outcomes: Outcomes;
  /**
   * A draw from the flow's random source, uniform in [0, 1); one that throws or falls outside
   * reads as 0.5 and is reported (once) for `stage`.
   */
  random(stage: string): number;
  /** Resolves `true` after `ms` on the flow's clock, or `false` at once when the flow stops. */
  sleep(ms: number): Promise<boolean>;
  /** Why a channel refused a value: the flow stopped, or a `Last` cut it off. */
  refusalReason(): DropReason;
  /**
   * A stage (not a classifier, not in a fan-out branch) returned `Last(...)`. Typed as any object
   * here, so that this file needs nothing of `Stage` (the runtime's implementation takes one).
   */
  lastReturned(stage: object): void;
}

/** Settings a run is built with (already validated by the builder). */
export interface RuntimeConfig {
  /** The flow's `name`. */
  readonly name: string;
  /** `run()`'s `total`, else `null` (the pump then reads the source's size when it has one). */
  readonly total: number | null;
  readonly timingSinks: ReadonlySet<TimingSink>;
  /** Wraps each worker's call and hears every outcome, when the flow is traced. */
  readonly tracer: ItemTracer | null;
  readonly clock: Clock;
  /** The flow's random source (see `FlowOptions.random`). */
  readonly random: () => number;
  readonly tickMs: number;
  readonly statsIntervalMs: number;
  readonly statsWindowMs: number;
  readonly sampleEvery: number;
  readonly handler: ErrorHandler | undefined;
  readonly deadLetter: DeadLetterSink | undefined;
  readonly handlerTimeoutMs: number;
  /** See `FlowOptions.closeTimeoutMs`. */
  readonly closeTimeoutMs: number;
  readonly events: EventEmitter<FlowEvents>;
  /** The flow-wide worker cap, or undefined for none. */
  readonly maxTotalWorkers: number | undefined;
  /** The threads every threaded stage shares (`maxThreads`, else the cores), and whether the user set it. */
  readonly maxThreads: number;
  readonly maxThreadsAsked: boolean;
  /** Push mode: how many sends may wait for room at once. */
  readonly maxWaitingSends: number;
  /** A remote stage's segment (`flowrhythm/redis`): the feeder's run id, and each entering item's id. */
  readonly segment: SegmentLaunch | null;
}

/** How a segment of a flow with remote stages runs: in the run it serves, with its items' own ids. */
export interface SegmentLaunch {
  readonly runId: string;
  /** The id of the item the source gave last (read as the item enters); `null`: ids of the run's own. */
  readonly idOf: (() => number) | null;
}
