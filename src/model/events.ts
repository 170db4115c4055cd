import type { FlowStats } from "../stats/stage-stats.js";

/** An item whose stage function threw (after any retries). */
export interface TransformerError<T = unknown> {
  /** Tells the error events apart. */
  readonly type: "TransformerError";
  /** The item's id, unique within the run (`ctx.id` in its stages). */
  readonly id: number;
  /** The run's id (`ctx.runId`). */
  readonly runId: string;
  /** The item as the failing stage received it. */
  readonly item: T;
  /** What the last attempt threw or rejected with. */
  readonly error: unknown;
  /** The stage whose call failed. */
  readonly stage: string;
  /** Attempts made, the first included (0 when no call could be made: a stage whose `perWorker` setup never worked). */
  readonly attempt: number;
}

/** The producer threw, or could not be iterated. Reported once; the flow drains what it had. */
export interface SourceError {
  /** Tells the error events apart. */
  readonly type: "SourceError";
  /** What the producer threw or rejected with. */
  readonly error: unknown;
}

/** Why an item was dropped. */
export type DropReason =
  /** The flow was stopped while the item was queued, in flight or waiting to be handed on. */
  | "STOPPED"
  /** A router found no arm for the item's label. */
  | "ROUTER_MISS"
  /** A later item returned `Last(...)` and cut this one off. */
  | "UPSTREAM_TERMINATED"
  /** Push mode: the sender's `signal` aborted while the item waited for room in the first queue. */
  | "WITHDRAWN";

/** Every {@link DropReason}, for counting drops by reason. */
export const DROP_REASONS: readonly DropReason[] = [
  "STOPPED",
  "ROUTER_MISS",
  "UPSTREAM_TERMINATED",
  "WITHDRAWN",
];

/** A count of zero for every drop reason. */
export function emptyDropCounts(): Record<DropReason, number> {
  return { STOPPED: 0, ROUTER_MISS: 0, UPSTREAM_TERMINATED: 0, WITHDRAWN: 0 };
}

/** An item that left the flow without being consumed or failing. */
export interface Dropped<T = unknown> {
  /** Tells the error events apart. */
  readonly type: "Dropped";
  /** The item's id, unique within the run (`ctx.id` in its stages). */
  readonly id: number;
  /** The run's id (`ctx.runId`). */
  readonly runId: string;
  /** The item (or the stage's output for it) that was dropped. */
  readonly item: T;
  /** The stage that held it when it was dropped. */
  readonly stage: string;
  /** Why it was dropped. */
  readonly reason: DropReason;
}

/** An item a stage ended on purpose by returning `Skip`. */
export interface Skipped<T = unknown> {
  /** Tells the outcome events apart. */
  readonly type: "Skipped";
  /** The item's id, unique within the run (`ctx.id` in its stages). */
  readonly id: number;
  /** The run's id (`ctx.runId`). */
  readonly runId: string;
  /** The item as the skipping stage received it (for a fan-out branch: the item that entered the fan-out). */
  readonly item: T;
  /** The stage that returned `Skip` (for a fan-out branch: the fan-out stage). */
  readonly stage: string;
}

/** An item a `flatMap` stage expanded: its children went on as items of their own. */
export interface Expanded<T = unknown> {
  /** Tells the outcome events apart. */
  readonly type: "Expanded";
  /** The item's id, unique within the run (`ctx.id` in its stages). */
  readonly id: number;
  /** The run's id (`ctx.runId`). */
  readonly runId: string;
  /** The item as the `flatMap` stage received it. */
  readonly item: T;
  /** The `flatMap` stage. */
  readonly stage: string;
  /** How many children it gave (each has `ctx.parentId` = this item's id). */
  readonly children: number;
}

/**
 * An item that failed for good — its attempts spent, or its error not worth a retry — handed
 * to a `deadLetter` sink, separately from the error handler.
 */
export interface DeadLetter<T = unknown> {
  /** Tells a dead letter apart. */
  readonly type: "DeadLetter";
  /** The item's id, unique within the run (`ctx.id` in its stages). */
  readonly id: number;
  /** The run's id (`ctx.runId`). */
  readonly runId: string;
  /** The item as the failing stage received it. */
  readonly item: T;
  /** What the last attempt threw or rejected with. */
  readonly error: unknown;
  /** The stage the item failed in (a fan-out item: the fan-out stage). */
  readonly stage: string;
  /** Attempts made (0: the stage's `perWorker` factory never started a worker). */
  readonly attempts: number;
  /** When it failed, on the flow's clock. */
  readonly failedAt: number;
}

/** Receives dead letters; may be async (a worker waits for it, up to `handlerTimeoutMs`). */
export type DeadLetterSink<T = any> = (event: DeadLetter<T>) => void | PromiseLike<void>;

/** A failed attempt that will be tried again (the `retry` event). */
export interface RetryEvent<T = unknown> {
  /** The item's id (a batch stage's: the first item's; `ids` has them all). */
  readonly id: number;
  /** A batch stage's: the ids of the batch's items; otherwise `undefined`. */
  readonly ids: readonly number[] | undefined;
  /** The run's id. */
  readonly runId: string;
  /** The stage that is retrying. */
  readonly stage: string;
  /** The stage's input (a batch stage's: the batch). */
  readonly item: T;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** What the failed attempt threw or rejected with. */
  readonly error: unknown;
  /** The backoff before the next attempt, jitter included. */
  readonly delayMs: number;
}

/**
 * A listener of one of the flow's events (`flow.on(...)`) threw, or its promise rejected. The
 * error never changes what happens to items: the flow counts it (`stats().listenerErrors`),
 * reports it here and goes on.
 */
export interface ListenerError {
  /** Tells the error events apart. */
  readonly type: "ListenerError";
  /** The event whose listener failed. */
  readonly event: keyof FlowEvents;
  /** What the listener threw or rejected with. */
  readonly error: unknown;
}

/** Everything the error handler receives. */
export type FlowErrorEvent = TransformerError | SourceError | Dropped | ListenerError;

/** Receives error events; may be async. A throw is logged and ignored. */
export type ErrorHandler = (event: FlowErrorEvent) => void | PromiseLike<void>;

/** The typed event map of a `Flow` (eventemitter3). */
export interface FlowEvents {
  /** A stage's worker count changed. */
  scale: (event: ScaleEvent) => void;
  /** An item was dropped. */
  drop: (event: Dropped) => void;
  /** A stage returned `Skip` for an item: it ended on purpose. */
  skip: (event: Skipped) => void;
  /** A `flatMap` stage expanded an item: its children go on in its place. */
  expand: (event: Expanded) => void;
  /** An attempt failed and will be retried after `delayMs`. */
  retry: (event: RetryEvent) => void;
  /** An item failed. */
  itemError: (event: TransformerError) => void;
  /** The producer failed. */
  sourceError: (event: SourceError) => void;
  /** Every item reached a terminal state after the input ended or `drain()`. */
  drained: () => void;
  /** `stop()` finished. */
  stopped: () => void;
  /** A snapshot every `statsIntervalMs` while running (built only when someone listens). */
  stats: (stats: FlowStats) => void;
}

/** The names of {@link FlowEvents}, for checking what `flow.on()` is given. */
export const FLOW_EVENTS: readonly (keyof FlowEvents)[] = [
  "scale",
  "drop",
  "skip",
  "expand",
  "retry",
  "itemError",
  "sourceError",
  "drained",
  "stopped",
  "stats",
];

/**
 * Emitted whenever a stage's count of active workers changes, in the order the changes happen:
 * each event's `from` is the previous event's `to`, starting from `0` with the initial pool.
 */
export interface ScaleEvent {
  /** The stage whose pool changed. */
  readonly stage: string;
  /** Active workers before the change. */
  readonly from: number;
  /** Active workers after it. */
  readonly to: number;
  /**
   * Why: `initial`; a strategy's decision, as what asked for it (`enqueue`, `dequeue`, `tick`)
   * and the strategy's own reason; `liveness` (items waited with no worker); `budget: …`
   * (`maxTotalWorkers` moved workers); or `exit: …` (a worker left on its own: the input ended,
   * its `perWorker` factory failed, or the flow stopped).
   */
  readonly reason: string;
}
