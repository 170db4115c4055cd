/**
 * Helpers for testing code that uses flowrhythm: a virtual clock that makes a flow's timing exact
 * and repeatable, a way to run a flow to its end on it, and hand-built stats for testing a
 * scaling strategy of your own.
 *
 * @example
 * ```ts
 * import { Flow } from "flowrhythm";
 * import { runVirtual, VirtualClock } from "flowrhythm/testing";
 *
 * const clock = new VirtualClock();
 * const out: number[] = [];
 * const flow = new Flow({ clock })
 *   .setProducer([1, 2, 3])
 *   .addTransformer(async (x: number) => x * 2)
 *   .setConsumer((x) => { out.push(x); });
 * await runVirtual(flow, clock); // no real time passes
 * ```
 *
 * @packageDocumentation
 * @module flowrhythm/testing
 */
import { VirtualClock } from "./clock/virtual-clock.js";
import { FlowConfigError } from "./errors.js";
import { Flow } from "./flow/flow.js";
import { describeValue } from "./internal/describe.js";
import { idleStats } from "./runtime/run-stats.js";
import type { FlowStats, LatencySummary, StageStats } from "./stats/stage-stats.js";

export { VirtualClock };
export type { VirtualClockOptions } from "./clock/virtual-clock.js";

/** Options of {@link runVirtual}. */
export interface RunVirtualOptions {
  /** Virtual time advanced per step. @defaultValue 5 */
  readonly stepMs?: number;
  /**
   * Virtual time after which the run is given up on: the flow is stopped and the promise rejects.
   * Each step costs real time (more when the flow is busy), so keep it near what the run needs.
   * @defaultValue 3 600 000 (an hour)
   */
  readonly maxMs?: number;
}

const OPTIONS = ["stepMs", "maxMs"];
/** More steps than this would take minutes of real time: a test would hang on it in effect. */
const MAX_STEPS = 10_000_000;

/** Throws the FlowConfigError for `option`: an argument (`flow`, `clock`, `options`) or an option's key. */
const fail = (option: string, value: unknown, expected: string, isKey = false): never => {
  const what = isKey ? `option "${option}"` : option;
  throw new FlowConfigError(`runVirtual: ${what} = ${describeValue(value)}: expected ${expected}`, {
    option,
  });
};

/**
 * Starts `flow` (built with `{ clock }`) and advances `clock` until the run has ended; resolves
 * then, or rejects with the run's own error. A run still going after `maxMs` of virtual time is
 * stopped, and the promise rejects saying so: a test never hangs on it.
 */
export async function runVirtual(
  flow: Flow<any, any>,
  clock: VirtualClock,
  options: RunVirtualOptions = {},
): Promise<void> {
  if (!(flow instanceof Flow)) fail("flow", flow, "a Flow");
  if (!(clock instanceof VirtualClock)) fail("clock", clock, "a VirtualClock");
  // The flow reads its own clock for stats().now: a different reading is a different clock (the
  // system clock when `{ clock }` was left out). Two virtual clocks at the same time look alike.
  if (flow.stats().now !== clock.now())
    fail(
      "clock",
      clock,
      "the VirtualClock the flow was built with (new Flow({ clock })); the flow runs on another clock",
    );
  if (typeof options !== "object" || options === null || Array.isArray(options))
    fail("options", options, "an object { stepMs?, maxMs? }");
  for (const key of Object.keys(options))
    if (!OPTIONS.includes(key))
      fail(key, (options as Record<string, unknown>)[key], "no such option (stepMs, maxMs)", true);
  const stepMs = options.stepMs ?? 5;
  const maxMs = options.maxMs ?? 3_600_000;
  for (const [option, value] of [
    ["stepMs", stepMs],
    ["maxMs", maxMs],
  ] as const)
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value))
      fail(option, value, "a finite number > 0", true);
  const end = clock.now() + maxMs;
  if (maxMs / stepMs > MAX_STEPS || end + stepMs === end)
    fail("stepMs", stepMs, `a step that reaches maxMs = ${maxMs} in at most ${MAX_STEPS} steps`, true);
  let ended = false;
  let failure: { error: unknown } | null = null;
  await flow.start();
  void flow.wait().then(
    () => {
      ended = true;
    },
    (error: unknown) => {
      failure = { error };
      ended = true;
    },
  );
  try {
    await clock.runUntil(() => ended, { stepMs, maxMs });
  } catch {
    const stats = flow.stats();
    // Stopped, so nothing of the run outlives the test; stop() is bounded by closeTimeoutMs.
    let stopped = false;
    void flow.stop().then(() => {
      stopped = true;
    });
    // stop() ends within the flow's closeTimeoutMs; bounded all the same, since a flow on another
    // clock at the same time (not caught above) never stops on this one.
    await clock.runUntil(() => stopped, { stepMs: 5, maxMs: 3_600_000 }).catch(() => {});
    throw new Error(
      `runVirtual: the run had not ended after maxMs = ${maxMs} ms of virtual time (${stats.inFlight} in flight, ${stats.consumed} consumed, ${stats.itemsIn} taken); ${stopped ? "it was stopped" : "stopping it did not end either: is the flow on this clock?"}`,
    );
  }
  if (failure !== null) throw (failure as { error: unknown }).error;
}

const EMPTY: LatencySummary = Object.freeze({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0, count: 0 });

/**
 * A stage's stats built by hand, for testing a `ScalingStrategy`: every field has a neutral
 * value (nothing queued, nothing measured), `overrides` set the ones a test cares about, and
 * the worker totals follow the busy, idle and blocked counts unless given.
 */
export function stageStats(overrides: Partial<StageStats> = {}): StageStats {
  const busy = overrides.busyWorkers ?? 0;
  const idle = overrides.idleWorkers ?? 0;
  const blocked = overrides.blockedWorkers ?? 0;
  const total = overrides.totalWorkers ?? busy + idle + blocked;
  return {
    stageName: "s",
    now: 0,
    busyWorkers: busy,
    idleWorkers: idle,
    blockedWorkers: blocked,
    startingWorkers: 0,
    retryingWorkers: 0,
    rateLimitedWorkers: 0,
    totalWorkers: total,
    activeWorkers: overrides.activeWorkers ?? total,
    peakWorkers: total,
    avgBusyWorkers: busy,
    avgIdleWorkers: idle,
    avgBlockedWorkers: blocked,
    processingTimeMs: 0,
    timedItems: 0,
    timedMs: 0,
    timedMsSquared: 0,
    oldestItemAgeMs: 0,
    utilization: total === 0 ? 0 : busy / total,
    queueLength: 0,
    queueCapacity: 100,
    oldestItemEnqueuedAt: null,
    lastEnqueueAt: null,
    lastDequeueAt: null,
    lastScaleUpAt: null,
    lastScaleDownAt: null,
    lastErrorAt: null,
    lastOverloadAt: null,
    received: 0,
    processed: 0,
    errors: 0,
    retries: 0,
    overloads: 0,
    dropped: 0,
    skipped: 0,
    expanded: 0,
    children: 0,
    batches: 0,
    unclosedResources: 0,
    threads: 0,
    threadUtilization: null,
    throughput: 0,
    arrivalRate: 0,
    latency: EMPTY,
    queueWait: EMPTY,
    ...overrides,
  };
}

/**
 * A flow's stats built by hand, for testing what reads them (a reporter, a dashboard, an
 * exporter): a running flow with nothing counted yet, `overrides` set the fields a test cares
 * about (`stages`: build each with {@link stageStats}).
 */
export function flowStats(overrides: Partial<FlowStats> = {}): FlowStats {
  return { ...idleStats(0, "flow"), state: "running", startedAt: 0, ...overrides };
}
