import { describe, expect, it } from "vitest";
import { AdaptiveScaling } from "../../src/index.js";
import { LatencyBudgetScaling } from "../../src/index.js";
import type { PolicyScaling } from "../../src/index.js";
import { TargetUtilizationScaling } from "../../src/index.js";
import { ThroughputScaling } from "../../src/index.js";
import type { StageStats } from "../../src/index.js";
import { stageStats } from "../helpers.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const stats = (o: Partial<StageStats>): Mutable<StageStats> => ({ ...stageStats(), ...o });

/** Ticks every 100 ms until the count settles (or `steps` run out); returns the counts seen. */
function settle(s: PolicyScaling, st: Mutable<StageStats>, steps = 20, from = 0): number[] {
  const seen: number[] = [];
  for (let i = 0; i < steps; i++) {
    st.now = from + i * 100;
    // Counters move as the rates say: the layer measures its own rates from them.
    st.received += st.arrivalRate / 10;
    st.processed += st.throughput / 10;
    const d = s.onTick(st);
    st.activeWorkers += d;
    if (d !== 0) seen.push(st.activeWorkers);
  }
  return seen;
}

describe("AdaptiveScaling", () => {
  it("needs no options: guards on, 1 to 64 workers, a 5 s down window", () => {
    const s = new AdaptiveScaling();
    expect(s.policy).toMatchObject({
      minWorkers: 1,
      maxWorkers: 64,
      initialWorkers: 1,
      kneeGuard: true,
      blockedGuard: true,
      downStabilizationMs: 5000,
      tolerance: 0.1,
    });
    expect(s.initialWorkers()).toBe(1);
  });

  it("sizes a demand-limited stage by Little's law with square-root headroom", () => {
    // 500/s × 10 ms = 5 busy on average; 5 + √5 = 7.24 → 8 workers.
    const s = new AdaptiveScaling();
    const st = stats({ activeWorkers: 1, arrivalRate: 500, throughput: 500, processingTimeMs: 10 });
    expect(settle(s, st)).toEqual([5, 8]); // the growth limit: +4 first, then the rest
    expect(s.lastReason).toBe("backlog 0 items, λ=500/s, S=10.0 ms → 8 workers");
  });

  it("adds q·S / targetQueueWait workers for a backlog, and says so in words", () => {
    // R = 980 × 10.2 ms = 10.0; 10.0 + √10.0 + 420 × 10.2 / 100 = 55.99 → 56.
    const s = new AdaptiveScaling({ maxWorkers: 256, kneeGuard: false });
    const st = stats({
      activeWorkers: 40,
      arrivalRate: 980,
      throughput: 980,
      processingTimeMs: 10.2,
      queueLength: 420,
      queueCapacity: 1024,
    });
    st.now = 0;
    expect(s.onTick(st)).toBe(16);
    expect(s.lastReason).toBe("backlog 420 items, λ=980/s, S=10.2 ms → 56 workers");
  });

  it("shrinks an idle stage on the tick, after the down window", () => {
    const s = new AdaptiveScaling();
    const st = stats({ activeWorkers: 12, arrivalRate: 0, throughput: 0, processingTimeMs: 10 });
    const seen = settle(s, st, 60);
    expect(seen).toEqual([1]);
    expect(st.activeWorkers).toBe(1);
  });

  it("gives each clone its own state and the same options", () => {
    const a = new AdaptiveScaling({ maxWorkers: 7, headroom: 2 });
    const b = a.clone();
    expect(b).not.toBe(a);
    expect(b.options).toEqual(a.options);
    const st = stats({ activeWorkers: 1, arrivalRate: 500, processingTimeMs: 10 });
    st.now = 0;
    expect(a.onTick(st)).toBe(4);
    expect(b.lastReason).toBe("");
  });
});

describe("TargetUtilizationScaling", () => {
  it("holds busy / total at the target, HPA-style", () => {
    const s = new TargetUtilizationScaling({ target: 0.5, maxWorkers: 100 });
    const st = stats({ activeWorkers: 10, busyWorkers: 8, avgBusyWorkers: 8 });
    st.now = 0;
    expect(s.onTick(st)).toBe(6); // 8 / 0.5 = 16
    expect(s.lastReason).toBe("8.0 busy at target utilization 0.5 → 16 workers");
  });

  it("counts neither retrying nor rate-limited workers as busy", () => {
    const s = new TargetUtilizationScaling({ target: 0.5, maxWorkers: 100 });
    const st = stats({
      activeWorkers: 10,
      totalWorkers: 10,
      busyWorkers: 2,
      avgBusyWorkers: 2,
      retryingWorkers: 4,
      rateLimitedWorkers: 4,
    });
    st.now = 0;
    expect(s.onTick(st)).toBe(-6); // 2 / 0.5 = 4, not (2 + 4) / 0.5 = 12
    expect(s.lastReason).toBe("2.0 busy at target utilization 0.5 → 4 workers");
  });

  it("has both guards off by default, so it cannot see a knee", () => {
    expect(new TargetUtilizationScaling().policy).toMatchObject({ kneeGuard: false, blockedGuard: false });
  });
});

describe("ThroughputScaling", () => {
  it("steps up by half while a backlog exists", () => {
    const s = new ThroughputScaling({ maxWorkers: 100, kneeGuard: false });
    const st = stats({ activeWorkers: 10, queueLength: 50, oldestItemAgeMs: 100, processingTimeMs: 10 });
    st.now = 0;
    expect(s.onTick(st)).toBe(5);
    expect(s.lastReason).toBe("backlog of 50 items: step up → 15 workers");
  });

  it("sheds half of the idle workers when nothing waits", () => {
    const s = new ThroughputScaling({ downStabilizationMs: 0 });
    const st = stats({ activeWorkers: 10, avgIdleWorkers: 6 });
    st.now = 0;
    expect(s.onTick(st)).toBe(-3);
  });
});

describe("LatencyBudgetScaling", () => {
  it("cuts at once when the processing time is over budget, at most once per decreaseEveryMs", () => {
    const s = new LatencyBudgetScaling({ latencyBudgetMs: 20, maxWorkers: 100 });
    const st = stats({ activeWorkers: 40, processingTimeMs: 35, queueLength: 100, busyWorkers: 40 });
    expect(settle(s, st, 5)).toEqual([30]); // × 0.75, then nothing for a second
    expect(s.lastReason).toBe("processing 35.0 ms > budget 20 ms: ×0.75 → 30 workers");
    expect(settle(s, st, 1, 1000)).toEqual([22]);
  });

  it("doubles while under budget with items waiting, then adds one at a time after the first cut", () => {
    const s = new LatencyBudgetScaling({ latencyBudgetMs: 20, maxWorkers: 100 });
    const st = stats({ activeWorkers: 2, processingTimeMs: 10, queueLength: 100 });
    expect(settle(s, st, 3)).toEqual([4, 8, 16]);
    st.processingTimeMs = 30;
    expect(settle(s, st, 1, 300)).toEqual([12]);
    st.processingTimeMs = 10;
    expect(settle(s, st, 3, 400)).toEqual([13, 14, 15]);
  });
});
