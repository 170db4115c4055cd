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
import type { Flow } from "./flow/flow.js";
import { describeValue } from "./internal/describe.js";
import type { LatencySummary, StageStats } from "./stats/stage-stats.js";

export { VirtualClock };
export type { VirtualClockOptions } from "./clock/virtual-clock.js";

/** Options of {@link runVirtual}. */
export interface RunVirtualOptions {
  /** Virtual time advanced per step. @defaultValue 5 */
  readonly stepMs?: number;
  /** Virtual time after which the run is given up on (the promise rejects). @defaultValue 3 600 000 (an hour) */
  readonly maxMs?: number;
}

/**
 * Starts `flow` (built with `{ clock }`) and advances `clock` until the run has ended; resolves
 * then, or rejects with the run's own error. A run still going after `maxMs` of virtual time
 * rejects, saying so: a test never hangs on it.
 */
export async function runVirtual(
  flow: Flow<any, any>,
  clock: VirtualClock,
  options: RunVirtualOptions = {},
): Promise<void> {
  if (!(clock instanceof VirtualClock))
    throw new FlowConfigError(`runVirtual: clock = ${describeValue(clock)}: expected a VirtualClock`, {
      option: "clock",
    });
  const stepMs = options.stepMs ?? 5;
  const maxMs = options.maxMs ?? 3_600_000;
  for (const [option, value] of [
    ["stepMs", stepMs],
    ["maxMs", maxMs],
  ] as const)
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value))
      throw new FlowConfigError(
        `runVirtual: option "${option}" = ${describeValue(value)}: expected a finite number > 0`,
        {
          option,
        },
      );
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
  await clock.runUntil(() => ended, { stepMs, maxMs });
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
    avgBusyWorkers: busy,
    avgIdleWorkers: idle,
    avgBlockedWorkers: blocked,
    processingTimeMs: 0,
    timedItems: 0,
    timedMs: 0,
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
    batches: 0,
    unclosedResources: 0,
    throughput: 0,
    arrivalRate: 0,
    latency: EMPTY,
    queueWait: EMPTY,
    ...overrides,
  };
}
