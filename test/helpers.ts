import type { Clock } from "../src/internal/clock.js";
import { VirtualClock } from "../src/internal/virtual-clock.js";
import type { Flow } from "../src/flow/flow.js";
import type { StageStats } from "../src/stats/stage-stats.js";

/** Resolves after `ms` on the given clock; rejects with the signal's reason if it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Hand-built stats for strategy tests: every field has a neutral default. */
export function stageStats(overrides: Partial<StageStats> = {}): StageStats {
  const empty = { p50: 0, p90: 0, p99: 0, max: 0, mean: 0, count: 0 };
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
    totalWorkers: total,
    utilization: total === 0 ? 0 : busy / total,
    queueLength: 0,
    queueCapacity: 100,
    oldestItemEnqueuedAt: null,
    lastEnqueueAt: null,
    lastDequeueAt: null,
    lastScaleUpAt: null,
    lastScaleDownAt: null,
    lastErrorAt: null,
    received: 0,
    processed: 0,
    errors: 0,
    retries: 0,
    dropped: 0,
    batches: 0,
    throughput: 0,
    arrivalRate: 0,
    latency: empty,
    queueWait: empty,
    ...overrides,
  };
}

/** Starts a flow on a virtual clock and advances time until it has finished. */
export async function runVirtual(flow: Flow<any, any>, clock: VirtualClock, maxMs = 600_000): Promise<void> {
  let finished = false;
  await flow.start();
  void flow.wait().then(() => (finished = true));
  await clock.runUntil(() => finished, { stepMs: 5, maxMs });
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export { VirtualClock };
