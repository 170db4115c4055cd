/** Percentiles of a latency distribution, in milliseconds. */
export interface LatencySummary {
  /** The median. */
  readonly p50: number;
  /** The 90th percentile. */
  readonly p90: number;
  /** The 99th percentile. */
  readonly p99: number;
  /** The largest value recorded. */
  readonly max: number;
  /** The arithmetic mean. */
  readonly mean: number;
  /** How many timed items the figures come from (a sample; see `timingSampleEvery`). */
  readonly count: number;
}

/**
 * One stage's state at one moment. Timestamps are milliseconds on the flow's clock; "never"
 * is `null`. Strategies receive this shape on every decision, so they can be tested with
 * hand-built objects.
 */
export interface StageStats {
  /** The stage's name (its `name` option, or the one the flow gave it). */
  readonly stageName: string;
  /** The flow clock's reading when the snapshot was taken. */
  readonly now: number;
  /** Workers running the stage's function. */
  readonly busyWorkers: number;
  /** Workers waiting for input. */
  readonly idleWorkers: number;
  /** Workers holding an output while the downstream queue is full. */
  readonly blockedWorkers: number;
  /** Workers whose `perWorker` factory has not finished yet. */
  readonly startingWorkers: number;
  /** Workers waiting out a retry backoff (they hold their item but are not busy). */
  readonly retryingWorkers: number;
  /** Workers waiting for a token of the stage's `rateLimit` (they hold their item but are not busy, and are no demand). */
  readonly rateLimitedWorkers: number;
  /** All workers, retiring ones included, until they exit. */
  readonly totalWorkers: number;
  /** Workers the pool counts toward its target: all but those retiring after their current item. */
  readonly activeWorkers: number;
  /** The most active workers the stage has had at once in this run. */
  readonly peakWorkers: number;
  /** Busy workers averaged over about the last second (sampled on each tick). */
  readonly avgBusyWorkers: number;
  /** Idle workers averaged over about the last second. */
  readonly avgIdleWorkers: number;
  /** Blocked workers averaged over about the last second. */
  readonly avgBlockedWorkers: number;
  /**
   * Mean processing time over about the last second, in ms: from dequeue until the function
   * settles, so neither queue wait nor time blocked on a full downstream queue is in it. 0 until
   * an item was timed; it keeps its last value while no item completes.
   */
  readonly processingTimeMs: number;
  /**
   * Items whose processing time was timed (a sample: see `timingSampleEvery`), since the start,
   * and the sum of those times in ms: the difference of two readings gives the mean processing
   * time over a window of the reader's choosing.
   */
  readonly timedItems: number;
  /** The sum of the timed items' processing times, in ms (see {@link StageStats.timedItems}). */
  readonly timedMs: number;
  /**
   * The sum of the squares of the timed items' processing times, in ms²: with `timedItems` and
   * `timedMs`, two readings give the variance of the processing time over the window between them.
   */
  readonly timedMsSquared: number;
  /** How long the oldest queued item has waited, in ms; 0 when the queue is empty. */
  readonly oldestItemAgeMs: number;
  /** busy / total; with no workers, 1 while items wait and 0 otherwise. */
  readonly utilization: number;
  /** Items in the stage's input queue now. */
  readonly queueLength: number;
  /** The input queue's bound (`queueSize`). */
  readonly queueCapacity: number;
  /** When the oldest queued item entered the queue. */
  readonly oldestItemEnqueuedAt: number | null;
  /** When an item last entered the queue (to within 64 arrivals: stamps come from a time cache). */
  readonly lastEnqueueAt: number | null;
  /** When a worker last took an item. */
  readonly lastDequeueAt: number | null;
  /** When the pool last grew. */
  readonly lastScaleUpAt: number | null;
  /** When the pool last shrank. */
  readonly lastScaleDownAt: number | null;
  /** When an item last failed for good in this stage (after its retries). */
  readonly lastErrorAt: number | null;
  /** When a call last failed with an error the stage's `overloadOn` recognised; `null`: never. */
  readonly lastOverloadAt: number | null;
  /** Items that entered the stage's input. */
  readonly received: number;
  /** Items the stage's function completed. */
  readonly processed: number;
  /**
   * Items that failed for good here, after any retries (for a batch stage, the items of failed
   * batches; a fan-out branch counts its failures even when another branch failed the item first).
   */
  readonly errors: number;
  /** Retry attempts made (a retry that then succeeds is not an error). */
  readonly retries: number;
  /**
   * Calls that failed with an error the stage's `overloadOn` recognised (HTTP 429 or 503 by
   * default), each attempt counted: the signal an adaptive strategy cuts its pool on.
   */
  readonly overloads: number;
  /** Items dropped at this stage, for any reason. */
  readonly dropped: number;
  /** Items this stage ended on purpose by returning `Skip`. */
  readonly skipped: number;
  /** A `flatMap` stage's: items it expanded (each ended `expanded`); 0 elsewhere. */
  readonly expanded: number;
  /** A `flatMap` stage's: children it gave (each a new item); 0 elsewhere. */
  readonly children: number;
  /** Calls of a batch stage's function (`processed / batches` is the mean batch size); 0 elsewhere. */
  readonly batches: number;
  /**
   * `perWorker` resources (and `threaded` threads) left without a settled `close()`: the close did not settle within
   * `closeTimeoutMs`, or `stop()` gave up on their worker after it.
   */
  readonly unclosedResources: number;
  /** A `threaded` stage's live threads (one per worker that has started its thread); 0 elsewhere. */
  readonly threads: number;
  /**
   * A `threaded` stage's threads' mean event-loop utilization over the last tick (0–1; near 1:
   * the threads are busy the whole time, so more of them only help while cores are free);
   * `null` for a stage whose calls run in the event loop, or before its first thread runs.
   */
  readonly threadUtilization: number | null;
  /** Completions per second, smoothed (an exponential average with a 1 s time constant). */
  readonly throughput: number;
  /** Arrivals per second, smoothed. */
  readonly arrivalRate: number;
  /**
   * Processing time: from dequeue until the function settles (queue wait and time blocked on a
   * full downstream queue are not in it), over the last one to two `statsWindowMs`.
   */
  readonly latency: LatencySummary;
  /** Time from enqueue until a worker took the item. */
  readonly queueWait: LatencySummary;
}

/** What a flow is doing. */
export type FlowState = "idle" | "running" | "draining" | "stopping" | "drained" | "stopped";

/**
 * What ended (or is ending) a run: the input ran out (`source`: the producer finished or failed,
 * or the push handle completed), `drain()`, `stop()`, a stage's `Last(...)`, the `run()` signal
 * (`abort`), or a signal handled by `handleSignals` (a second signal still reads as the first).
 * The first cause wins: a `drain()` that `stop()` then cuts short reads `drain`, with the state
 * `stopped`.
 */
export type FlowEnd = "source" | "drain" | "stop" | "last" | "abort" | "SIGINT" | "SIGTERM";

/** The whole flow at one moment. */
export interface FlowStats {
  /** The flow's `name` option (`"flow"` when not set): the label its metrics carry. */
  readonly name: string;
  /** Where the flow is in its life. */
  readonly state: FlowState;
  /** The flow clock's reading when the snapshot was taken. */
  readonly now: number;
  /** When `start()` ran, or `null` before. */
  readonly startedAt: number | null;
  /** Items taken from the producer. */
  readonly itemsIn: number;
  /**
   * How many items the source will give, when that is known before they are taken: an array, a
   * typed array, a `Set` or a `Map` (or a function returning one), or `run()`'s `total` option;
   * `null` otherwise (a generator, a stream, push mode).
   */
  readonly total: number | null;
  /**
   * Milliseconds until every item is done at the mean pace since the start, when `total` is
   * known and an item has finished; `null` otherwise, and 0 once the run has ended.
   */
  readonly etaMs: number | null;
  /** Items that completed the last stage (or were read from `stream()`). */
  readonly consumed: number;
  /** Items reported as `TransformerError`. */
  readonly failed: number;
  /** Items reported as `Dropped`. */
  readonly dropped: number;
  /** `dropped`, split by the reason of each `Dropped` event (`STOPPED`, `ROUTER_MISS`, `UPSTREAM_TERMINATED`). */
  readonly droppedByReason: Readonly<Record<string, number>>;
  /** Items a stage ended on purpose by returning `Skip` (each reported once, as a `Skipped` event). */
  readonly skipped: number;
  /** Items a `flatMap` stage expanded into children (each reported once, as an `Expanded` event). */
  readonly expanded: number;
  /** Items a `flatMap` stage made: each has its own outcome, as an item from the producer does. */
  readonly children: number;
  /**
   * Items not yet in a terminal state: itemsIn + children − consumed − failed − dropped − skipped
   * − expanded.
   */
  readonly inFlight: number;
  /** What ended the run, once something has; `null` while it runs on its own (see {@link FlowEnd}). */
  readonly endedBy: FlowEnd | null;
  /** Listeners of the flow's events that threw or rejected (each reported as a `ListenerError`). */
  readonly listenerErrors: number;
  /** Each stage's stats, in chain order. */
  readonly stages: readonly StageStats[];
}
