import { describe, expect, it } from "vitest";
import { FlowConfigError } from "../../src/index.js";
import { AdaptiveScaling } from "../../src/index.js";
import { mutableStats, tickAt } from "./policy/wish-strategy.js";

describe("AdaptiveScaling's backlog term", () => {
  it("drains a backlog over 2·S when S is above 50 ms (the default targetQueueWaitMs)", () => {
    // 100 items × 80 ms / 160 ms = 50 workers; nothing arrives.
    const s = new AdaptiveScaling({ maxWorkers: 256, kneeGuard: false });
    const st = mutableStats({
      activeWorkers: 40,
      processingTimeMs: 80,
      queueLength: 100,
      queueCapacity: 1024,
    });
    expect(tickAt(s, st, 0)).toBe(10);
    expect(s.lastReason).toBe("backlog 100 items, λ=0.0/s, S=80.0 ms → 50 workers");
  });

  it("writes rates of 100/s and more without decimals", () => {
    // 100/s × 80 ms = 8 busy, + √8 + 50 for the backlog = 60.8 → 61.
    const s = new AdaptiveScaling({ maxWorkers: 256, kneeGuard: false });
    const st = mutableStats({
      activeWorkers: 40,
      processingTimeMs: 80,
      queueLength: 100,
      arrivalRate: 100,
      queueCapacity: 1024,
    });
    expect(tickAt(s, st, 0)).toBe(21);
    expect(s.lastReason).toBe("backlog 100 items, λ=100/s, S=80.0 ms → 61 workers");
  });

  it("rejects a targetQueueWaitMs of 0, naming the strategy and the option", () => {
    expect(() => new AdaptiveScaling({ targetQueueWaitMs: 0 })).toThrow(FlowConfigError);
    expect(() => new AdaptiveScaling({ targetQueueWaitMs: 0 })).toThrow(
      /^AdaptiveScaling: option "targetQueueWaitMs" = 0: expected a number of milliseconds > 0/,
    );
    expect(new AdaptiveScaling({ targetQueueWaitMs: 1 }).options.targetQueueWaitMs).toBe(1);
  });
});
