import { z } from "zod";
import type { Clock } from "../internal/clock.js";
import { check, isFiniteNumber, isFn, isInt, nameCheck, parseOptions } from "../internal/parse-options.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import type { QueueDiscipline } from "./bounded-queue.js";
import type { DeadLetterSink, ErrorHandler } from "./events.js";
import { DEFAULT_BASE_MS, type RetryOptions } from "./retry.js";

/** Options of one stage (`addTransformer(fn, opts)`, `setConsumer(fn, opts)`, `configure(name, opts)`). */
export interface StageOptions<T = any> {
  /** Unique name within the flow. @defaultValue the function's name, else `stage<N>` (`consumer` for the consumer) */
  name?: string;
  /** How many workers, decided live. @defaultValue the flow's `defaultScalingStrategy`, else one fixed worker */
  scalingStrategy?: ScalingStrategy;
  /** Capacity of the stage's input queue; `Infinity` opts out of backpressure. @defaultValue 1024 */
  queueSize?: number;
  /** Order of service: `"fifo"`, `"lifo"`, or `{ priority }` (higher numbers first, ties FIFO). @defaultValue "fifo" */
  queue?: QueueDiscipline<T>;
  /**
   * Hand outputs on in input order even when several workers run the stage: a reorder buffer
   * (at most `queueSize` outputs) holds results that finish early; when it is full, workers wait,
   * so a slow item backpressures the stage instead of growing the buffer.
   * @defaultValue false
   */
  ordered?: boolean;
  /**
   * Retry failed calls with exponential backoff and jitter. A worker waiting out a backoff keeps
   * its item (so order within a worker holds) and is counted as `retryingWorkers`, not busy.
   * @defaultValue no retries
   */
  retry?: RetryOptions<T>;
  /**
   * Per-attempt deadline, from when a worker takes the item: `ctx.signal` aborts with a
   * `TimeoutError` and the attempt fails (and is retried if attempts remain).
   * @defaultValue none
   */
  timeoutMs?: number;
  /** Receives this stage's items that failed for good; overrides the flow's `deadLetter`. */
  deadLetter?: DeadLetterSink<T>;
}

/** Options of a `Flow`. */
export interface FlowOptions {
  /** Strategy for every stage that sets none; each stage gets its own `clone()`. @defaultValue one fixed worker */
  defaultScalingStrategy?: ScalingStrategy;
  /** Where every time read and timer comes from. @defaultValue the system clock */
  clock?: Clock;
  /**
   * The most workers all stages together may run. When the stages want more, the workers go to
   * the bottleneck and come from stages that are blocked or idle. At least one per stage.
   * @defaultValue no limit
   */
  maxTotalWorkers?: number;
  /** Period of the scaling tick (`onTick`, rates, liveness). @defaultValue 100 */
  tickMs?: number;
  /** Period of the `stats` event. @defaultValue 1000 */
  statsIntervalMs?: number;
  /** Latency percentiles cover the last one to two windows of this length. @defaultValue 10000 */
  statsWindowMs?: number;
  /**
   * Time one item in this many per worker for latency and queue wait (plus every item a worker
   * takes after waiting). 1 times every item. Counters always count every item.
   * @defaultValue 8
   */
  timingSampleEvery?: number;
  /** Receives `TransformerError`, `SourceError` and `Dropped` events. @defaultValue log errors to stderr */
  errorHandler?: ErrorHandler;
  /** Receives every item that failed for good (after its attempts), besides the error handler. */
  deadLetter?: DeadLetterSink;
  /**
   * How long a worker waits for an async error handler or dead-letter sink before it goes on
   * (the item is counted as failed either way; a late settle is ignored).
   * @defaultValue 10000
   */
  handlerTimeoutMs?: number;
  /**
   * The most a worker's ending waits for user code: calls a `timeoutMs` left running, then the
   * `perWorker` resource's `close()`; and how long `stop()` waits for workers at all — a call that
   * ignores its signal, a factory or a `close()` that never settles is then given up (its item
   * dropped, its resource counted in `unclosedResources`), so `stop()` resolves within about this.
   * @defaultValue 5000
   */
  closeTimeoutMs?: number;
  /**
   * SIGINT / SIGTERM drain the flow (stop taking input, finish what is in flight, flush batches,
   * close every worker) and then exit the process with code 0; a second signal stops at once
   * and exits with 128 + the signal's number. `{ exit: false }` drains (or stops) without
   * exiting, for programs that clean up after `run()` themselves.
   * @defaultValue false
   */
  handleSignals?: boolean | SignalOptions;
}

export const isStrategy = (v: unknown): boolean =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as ScalingStrategy).initialWorkers === "function" &&
  typeof (v as ScalingStrategy).onEnqueue === "function" &&
  typeof (v as ScalingStrategy).onDequeue === "function";

const STRATEGY = "a ScalingStrategy (an object with initialWorkers, onEnqueue and onDequeue methods)";

/** `drain()` options. */
export interface DrainOptions {
  /** Stop (`stop()`) whatever is still in flight after this many ms. @defaultValue no deadline */
  timeoutMs?: number;
}

const drainSchema = z.strictObject({
  timeoutMs: check<number>(isFiniteNumber(0), "a finite number of milliseconds ≥ 0").optional(),
});

/** Validates `flow.drain(options)`. */
export function parseDrainOptions(options: unknown): DrainOptions {
  return parseOptions(drainSchema, options ?? {}, "drain") as DrainOptions;
}

const pushSchema = z.strictObject({
  maxWaitingSends: check<number>(isInt(1), "a whole number ≥ 1").optional(),
});

/** Validates `flow.push(options)`. */
export function parsePushOptions(options: unknown): { maxWaitingSends?: number } {
  return parseOptions(pushSchema, options ?? {}, "push") as { maxWaitingSends?: number };
}

/** `handleSignals`'s object form. */
export interface SignalOptions {
  /** Exit the process once the flow has drained (or been stopped). @defaultValue true */
  exit?: boolean;
}

const signalsSchema = z.strictObject({
  exit: check<boolean>((v) => typeof v === "boolean", "true or false").optional(),
});

/** Validates `flow.handleSignals(options)`. */
export function parseSignalOptions(options: unknown): SignalOptions {
  return parseOptions(signalsSchema, options ?? {}, "handleSignals") as SignalOptions;
}

const stageSchema = z.strictObject({
  name: nameCheck().optional(),
  scalingStrategy: check<ScalingStrategy>(isStrategy, STRATEGY).optional(),
  queueSize: check<number>(
    (v) => v === Number.POSITIVE_INFINITY || isInt(1)(v),
    "a whole number ≥ 1, or Infinity",
  ).optional(),
  queue: check<QueueDiscipline>(
    (v) =>
      v === "fifo" ||
      v === "lifo" ||
      (typeof v === "object" &&
        v !== null &&
        Object.keys(v).length === 1 &&
        typeof (v as { priority?: unknown }).priority === "function"),
    '"fifo", "lifo" or { priority: (item) => number }',
  ).optional(),
  ordered: check<boolean>((v) => typeof v === "boolean", "true or false").optional(),
  retry: z
    .strictObject({
      attempts: check<number>(
        isInt(1),
        "a whole number ≥ 1 (attempts in all, the first included)",
      ).optional(),
      backoff: z
        .strictObject({
          baseMs: check<number>(isFiniteNumber(0), "a finite number of milliseconds ≥ 0").optional(),
          maxMs: check<number>(isFiniteNumber(0), "a finite number of milliseconds ≥ 0").optional(),
          factor: check<number>(isFiniteNumber(1), "a finite number ≥ 1").optional(),
          jitter: check<number>(isFiniteNumber(0, 1), "a fraction from 0 to 1").optional(),
        })
        .superRefine((b, ctx) => {
          const base = b.baseMs ?? DEFAULT_BASE_MS;
          if (b.maxMs !== undefined && b.maxMs < base)
            ctx.addIssue({ code: "custom", path: ["maxMs"], message: `a number ≥ baseMs (${base})` });
        })
        .optional(),
      retryOn: check<(error: unknown, item: unknown) => boolean>(
        isFn,
        "a function (error, item) => boolean",
      ).optional(),
    })
    .optional(),
  timeoutMs: check<number>(
    (v) => isFiniteNumber(0)(v) && (v as number) > 0,
    "a finite number of milliseconds > 0 (leave it out for no timeout)",
  ).optional(),
  deadLetter: check<DeadLetterSink>(isFn, "a function (event) => void | Promise<void>").optional(),
});

const flowSchema = z.strictObject({
  defaultScalingStrategy: check<ScalingStrategy>(isStrategy, STRATEGY).optional(),
  clock: check<Clock>(
    (v) =>
      typeof v === "object" &&
      v !== null &&
      isFn((v as Clock).now) &&
      isFn((v as Clock).setTimeout) &&
      isFn((v as Clock).clearTimeout),
    "a Clock ({ now(), setTimeout(fn, ms), clearTimeout(handle) })",
  ).optional(),
  tickMs: check<number>((v) => isFiniteNumber(1)(v), "a finite number of milliseconds ≥ 1").optional(),
  maxTotalWorkers: check<number>(isInt(1), "a whole number ≥ 1").optional(),
  statsIntervalMs: check<number>(
    (v) => isFiniteNumber(1)(v),
    "a finite number of milliseconds ≥ 1",
  ).optional(),
  statsWindowMs: check<number>((v) => isFiniteNumber(1)(v), "a finite number of milliseconds ≥ 1").optional(),
  timingSampleEvery: check<number>(isInt(1), "a whole number ≥ 1").optional(),
  errorHandler: check<ErrorHandler>(isFn, "a function").optional(),
  deadLetter: check<DeadLetterSink>(isFn, "a function (event) => void | Promise<void>").optional(),
  handlerTimeoutMs: check<number>(isFiniteNumber(1), "a finite number of milliseconds ≥ 1").optional(),
  closeTimeoutMs: check<number>(isFiniteNumber(0), "a finite number of milliseconds ≥ 0").optional(),
  handleSignals: check<boolean | SignalOptions>(
    (v) => typeof v === "boolean" || signalsSchema.safeParse(v).success,
    "true, false or { exit?: boolean }",
  ).optional(),
});

/** Validates stage options; `where` names the stage in the error. */
export function parseStageOptions(options: unknown, where: string): StageOptions {
  return parseOptions(stageSchema, options ?? {}, where) as StageOptions;
}

/** Validates flow options. */
export function parseFlowOptions(options: unknown): FlowOptions {
  return parseOptions(flowSchema, options ?? {}, "Flow options") as FlowOptions;
}
