import { z } from "zod";
import { isCallable } from "../internal/callable.js";
import { type Clock, systemClock } from "../clock/clock.js";
import { bool, fn, ms, name, whole } from "../internal/option-fields.js";
import {
  check,
  issue,
  type OptionsInput,
  optionsObject,
  parseOptions,
  type Where,
} from "../internal/parse-options.js";
import { tryGet } from "../internal/read-value.js";
import { MAX_WORKERS, strategyField } from "../scaling/worker-limits.js";
import type { DeadLetterSink, ErrorHandler } from "./events.js";
import { rateLimitField } from "./rate-limit.js";
import { retryField } from "./retry.js";

/** How a stage's input queue orders its items. */
export type QueueDiscipline<T = any> =
  | "fifo"
  | "lifo"
  | {
      /** An item's rank: higher ranks leave first; equal ranks leave in arrival order. */
      priority: (item: T) => number;
    };

/**
 * The settings a stage runs with when its options leave them out. They are filled in when the
 * flow is compiled, not when the options are parsed: `configure()` merges over what was set.
 */
export const STAGE_DEFAULTS = Object.freeze({
  /** A batch stage's queue holds at least one batch: `max(queueSize, size)`. */
  queueSize: 1024,
  queue: "fifo" as QueueDiscipline,
  ordered: false,
  /** 0: no timeout. */
  timeoutMs: 0,
});

/** The settings a flow runs with when its options leave them out. */
export const FLOW_DEFAULTS = Object.freeze({
  tickMs: 100,
  statsIntervalMs: 1000,
  statsWindowMs: 10_000,
  timingSampleEvery: 8,
  handlerTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
});

/** `handleSignals`'s defaults. */
export const SIGNAL_DEFAULTS = Object.freeze({ exit: true });

function queueField<T>(): z.ZodType<QueueDiscipline<T>, QueueDiscipline<T>> {
  return z.union(
    [
      z.literal(["fifo", "lifo"]),
      optionsObject({
        /** The item's rank: higher first, ties FIFO. */
        priority: fn<(item: T) => number>("(item) => number"),
      }),
    ],
    { error: '"fifo", "lifo" or { priority: (item) => number }' },
  );
}

function stageShape<T>() {
  return {
    /** Unique name within the flow. @defaultValue the function's name, else `stage<N>` (`consumer` for the consumer) */
    name: name().optional(),
    /** How many workers, decided live. @defaultValue the flow's `defaultScalingStrategy`, else one fixed worker */
    scalingStrategy: strategyField().optional(),
    /** Capacity of the stage's input queue; `Infinity` opts out of backpressure. @defaultValue 1024 */
    queueSize: check<number>(
      (v) => v === Number.POSITIVE_INFINITY || (Number.isSafeInteger(v) && (v as number) >= 1),
      "a whole number ≥ 1, or Infinity",
    ).optional(),
    /** Order of service: `"fifo"`, `"lifo"`, or `{ priority }` (higher numbers first, ties FIFO). @defaultValue "fifo" */
    queue: queueField<T>().optional(),
    /**
     * Hand outputs on in input order even when several workers run the stage: a reorder buffer
     * (at most `queueSize` outputs) holds results that finish early; when it is full, workers wait,
     * so a slow item backpressures the stage instead of growing the buffer.
     * @defaultValue false
     */
    ordered: bool().optional(),
    /**
     * Retry failed calls with exponential backoff and jitter. A worker waiting out a backoff keeps
     * its item (so order within a worker holds) and is counted as `retryingWorkers`, not busy.
     * @defaultValue no retries
     */
    retry: retryField<T>().optional(),
    /**
     * Per-attempt deadline, from when a worker takes the item: `ctx.signal` aborts with a
     * `TimeoutError` and the attempt fails (and is retried if attempts remain).
     * @defaultValue none
     */
    timeoutMs: ms({ above: true, hint: "(leave it out for no timeout)" }).optional(),
    /** Receives this stage's items that failed for good; overrides the flow's `deadLetter`. */
    deadLetter: fn<DeadLetterSink<T>>("(event) => void | Promise<void>").optional(),
    /**
     * Whether a call's error means the service behind the stage is overloaded. Each failed attempt
     * it recognises counts in the stage's `overloads` (and sets `lastOverloadAt`), the signal a
     * strategy cuts its pool on; whether the item is retried is still `retry`'s call. One that
     * throws counts the error as no overload (and is reported once, like a throwing `retryOn`).
     * @defaultValue `isOverloadError`: HTTP 429 or 503 in `error.status`, `error.statusCode`,
     * `error.response.status` or `error.response.statusCode`
     */
    overloadOn: fn<(error: unknown) => boolean>("(error) => boolean").optional(),
    /**
     * At most `perSecond` calls a second for the whole stage (a token bucket its workers share),
     * with up to `burst` at once after a quiet spell. Every attempt takes a token, retries
     * included. A worker waiting for one keeps its item and is counted in `rateLimitedWorkers`:
     * not busy, and no demand for more workers. The wait is not part of `timeoutMs` nor of the
     * processing time; `stop()` ends it at once (the item is dropped, `STOPPED`).
     * @defaultValue no limit
     */
    rateLimit: rateLimitField().optional(),
  };
}

const stageSchema = optionsObject(stageShape<unknown>());

/** Options of one stage (`addTransformer(fn, opts)`, `setConsumer(fn, opts)`, `configure(name, opts)`). */
export interface StageOptions<T = any> extends OptionsInput<ReturnType<typeof stageShape<T>>> {}

/** Stage options as validated: `retry` resolved to its policy; the other defaults come at compile time. */
export type StageSettings = z.output<typeof stageSchema>;

const signalShape = {
  /** Exit the process once the flow has drained (or been stopped). @defaultValue true */
  exit: bool().default(SIGNAL_DEFAULTS.exit),
};

const signalSchema: z.ZodType<{ exit: boolean }, SignalOptions> = optionsObject(signalShape);

/** `handleSignals`'s object form. */
export interface SignalOptions extends OptionsInput<typeof signalShape> {}

const clockField = (): z.ZodType<Clock, Clock> =>
  check<Clock>(
    (v) =>
      typeof v === "object" &&
      v !== null &&
      ["now", "setTimeout", "clearTimeout"].every((m) => isCallable(tryGet(v, m))),
    "a Clock ({ now(), setTimeout(fn, ms), clearTimeout(handle) })",
  );

const flowShape = {
  /**
   * The flow's name: the label its metrics and progress lines carry (`flowrhythm.flow.name`), so
   * that several flows in one process read apart. Keep it to a fixed word: it is a metric label.
   * @defaultValue "flow"
   */
  name: name().default("flow"),
  /** Strategy for every stage that sets none; each stage gets its own `clone()`. @defaultValue one fixed worker */
  defaultScalingStrategy: strategyField().optional(),
  /** Where every time read and timer comes from. @defaultValue the system clock */
  clock: clockField().default(systemClock),
  /**
   * Where every random draw of the flow comes from (retry jitter): uniform in [0, 1), like
   * `Math.random`. With a seeded one and a `VirtualClock`, a flow with retries replays exactly.
   * A draw that throws or falls outside [0, 1) reads as 0.5 (reported once).
   * @defaultValue Math.random
   */
  random: fn<() => number>("() => number").optional(),
  /**
   * The most workers all stages together may run. When the stages want more, the workers go to
   * the bottleneck and come from stages that are blocked or idle. At least one per stage.
   * @defaultValue no limit
   */
  maxTotalWorkers: whole(1, MAX_WORKERS, " (the most workers a flow's budget may hold)").optional(),
  /**
   * The most threads all `threaded` stages together may run (one per worker); a threaded stage
   * with no strategy scales up to it. Set it when the cores this process may use are fewer than
   * the machine has (a container's CPU quota, which Node 20 does not see). At least one per
   * threaded stage.
   * @defaultValue `os.availableParallelism() + 1` (raised to one per threaded stage)
   */
  maxThreads: whole(1, MAX_WORKERS, " (the most threads all threaded stages share)").optional(),
  /** Period of the scaling tick (`onTick`, rates, liveness). @defaultValue 100 */
  tickMs: ms({ min: 1 }).default(FLOW_DEFAULTS.tickMs),
  /** Period of the `stats` event. @defaultValue 1000 */
  statsIntervalMs: ms({ min: 1 }).default(FLOW_DEFAULTS.statsIntervalMs),
  /** Latency percentiles cover the last one to two windows of this length. @defaultValue 10000 */
  statsWindowMs: ms({ min: 1 }).default(FLOW_DEFAULTS.statsWindowMs),
  /**
   * Time one item in this many per worker for latency and queue wait (plus every item a worker
   * takes after waiting). 1 times every item. Counters always count every item.
   * @defaultValue 8
   */
  timingSampleEvery: whole(1).default(FLOW_DEFAULTS.timingSampleEvery),
  /** Receives `TransformerError`, `SourceError` and `Dropped` events. @defaultValue log errors to stderr */
  errorHandler: fn<ErrorHandler>("(event) => void | Promise<void>").optional(),
  /** Receives every item that failed for good (after its attempts), besides the error handler. */
  deadLetter: fn<DeadLetterSink>("(event) => void | Promise<void>").optional(),
  /**
   * How long a worker waits for an async error handler or dead-letter sink before it goes on
   * (the item is counted as failed either way; a late settle is ignored).
   * @defaultValue 10000
   */
  handlerTimeoutMs: ms({ min: 1 }).default(FLOW_DEFAULTS.handlerTimeoutMs),
  /**
   * The most a worker's ending waits for user code: calls a `timeoutMs` left running, then the
   * `perWorker` resource's `close()`; and how long `stop()` waits for workers at all — a call that
   * ignores its signal, a factory or a `close()` that never settles is then given up (its item
   * dropped, its resource counted in `unclosedResources`), so `stop()` resolves within about this.
   * @defaultValue 5000
   */
  closeTimeoutMs: ms().default(FLOW_DEFAULTS.closeTimeoutMs),
  /**
   * SIGINT / SIGTERM drain the flow (stop taking input, finish what is in flight, flush batches,
   * close every worker) and then exit the process with code 0; a second signal stops at once
   * and exits with 128 + the signal's number. `{ exit: false }` drains (or stops) without
   * exiting, for programs that clean up after `run()` themselves.
   * @defaultValue false
   */
  handleSignals: z
    .union([bool(), signalSchema], { error: "true, false or { exit?: boolean }" })
    .optional()
    .transform((v) => (v === true ? { ...SIGNAL_DEFAULTS } : v || null)),
};

const flowSchema = optionsObject(flowShape);

/** Options of a `Flow`. */
export interface FlowOptions extends OptionsInput<typeof flowShape> {}

/** Flow options with every default filled in; `handleSignals` is `null` when off. */
export type FlowSettings = z.output<typeof flowSchema>;

const drainShape = {
  /** Stop (`stop()`) whatever is still in flight after this many ms. @defaultValue no deadline */
  timeoutMs: ms().optional(),
};

/** `drain()` options. */
export interface DrainOptions extends OptionsInput<typeof drainShape> {}

const runShape = {
  /** Aborting it stops the flow (like `stop()`). */
  signal: check<AbortSignal>((v) => v instanceof AbortSignal, "an AbortSignal").optional(),
  /**
   * How many items the source will give, for `stats().total`, the ETA and progress lines, when
   * the flow cannot tell by itself (a generator, a stream). @defaultValue an array's, typed
   * array's, `Set`'s or `Map`'s size; else unknown
   */
  total: whole(0).optional(),
};

/** `run()` options. */
export interface RunOptions extends OptionsInput<typeof runShape> {}

const dumpShape = {
  /** `structure`: the graph; `stats`: live numbers. @defaultValue "structure" */
  mode: z.literal(["structure", "stats"], { error: '"structure" or "stats"' }).default("structure"),
  /** `mermaid` is for structure only. @defaultValue "text" */
  format: z.literal(["text", "json", "mermaid"], { error: '"text", "json" or "mermaid"' }).default("text"),
};

const pushShape = {
  /**
   * How many `send()`s may wait for room in the first queue at once; one more rejects (a caller
   * that does not await its sends would otherwise hold every item in memory).
   * @defaultValue 1024
   */
  maxWaitingSends: whole(1).default(1024),
};

/** `push()` options. */
export interface PushOptions extends OptionsInput<typeof pushShape> {}

/** Validates `flow.push(options)` and fills in its default. */
export function parsePushOptions(
  options: unknown,
): z.output<ReturnType<typeof optionsObject<typeof pushShape>>> {
  return parseOptions(optionsObject(pushShape), options, "push");
}

/** What `flow.dump()` renders. */
export interface DumpOptions extends OptionsInput<typeof dumpShape> {}

const dumpSchema = optionsObject(dumpShape).check((ctx) => {
  if (ctx.value.mode === "stats" && ctx.value.format === "mermaid")
    ctx.issues.push(issue("format", "mermaid", '"text" or "json" (mermaid is for mode "structure" only)'));
});

/** Validates stage options; `where` names the stage in the error. */
export function parseStageOptions(options: unknown, where: Where): StageSettings {
  return parseOptions(stageSchema, options, where);
}

/** Validates flow options and fills in their defaults. */
export function parseFlowOptions(options: unknown): FlowSettings {
  return parseOptions(flowSchema, options, "Flow options");
}

/** Validates `flow.drain(options)`. */
export function parseDrainOptions(
  options: unknown,
): z.output<ReturnType<typeof optionsObject<typeof drainShape>>> {
  return parseOptions(optionsObject(drainShape), options, "drain");
}

/** Validates `flow.handleSignals(options)`. */
export function parseSignalOptions(options: unknown): { exit: boolean } {
  return parseOptions(signalSchema, options, "handleSignals");
}

/** Validates `flow.run(source, options)`. */
export function parseRunOptions(options: unknown): {
  signal?: AbortSignal | undefined;
  total?: number | undefined;
} {
  return parseOptions(optionsObject(runShape), options, "run");
}

/** Validates `flow.dump(options)`. */
export function parseDumpOptions(options: unknown): z.output<typeof dumpSchema> {
  return parseOptions(dumpSchema, options, "dump");
}

/** Validates a strategy given on its own (`setDefaultScalingStrategy`), named `option`. */
export function parseStrategy(strategy: unknown, where: string, option: string) {
  return parseOptions(optionsObject({ [option]: strategyField() }), { [option]: strategy }, where)[option]!;
}
