import { describe, expect, it } from "vitest";
import { FlowConfigError } from "../../src/index.js";
import { ThroughputScaling } from "../../src/index.js";
import { mutableStats, tickAt } from "./policy/wish-strategy.js";

describe("ThroughputScaling's steps", () => {
  it("has both guards on and a step of +50 % by default", () => {
    expect(new ThroughputScaling().policy).toMatchObject({ kneeGuard: true, blockedGuard: true });
    const s = new ThroughputScaling({ maxWorkers: 100, kneeGuard: false });
    const st = mutableStats({
      activeWorkers: 10,
      queueLength: 50,
      oldestItemAgeMs: 100,
      processingTimeMs: 10,
    });
    expect(tickAt(s, st, 0)).toBe(5);
    expect(s.lastReason).toBe("backlog of 50 items: step up → 15 workers");
  });

  it("steps up by at least one worker, even with a step too small to clear the tolerance band", () => {
    const s = new ThroughputScaling({ maxWorkers: 100, kneeGuard: false, step: 0.01 });
    const st = mutableStats({
      activeWorkers: 3,
      queueLength: 50,
      oldestItemAgeMs: 100,
      processingTimeMs: 10,
    });
    expect(tickAt(s, st, 0)).toBe(1);
  });

  it("starts one worker at zero when items wait, and none when nothing does", () => {
    const s = new ThroughputScaling({ minWorkers: 0, kneeGuard: false });
    const st = mutableStats({ activeWorkers: 0 });
    expect(tickAt(s, st, 0)).toBe(0);
    st.queueLength = 1;
    expect(tickAt(s, st, 100)).toBe(1);
  });

  it("sheds half of the idle workers only when nothing waits", () => {
    const s = new ThroughputScaling({ maxWorkers: 100, kneeGuard: false, downStabilizationMs: 0 });
    const st = mutableStats({ activeWorkers: 12, avgIdleWorkers: 4, queueLength: 3, oldestItemAgeMs: 1 });
    expect(tickAt(s, st, 0)).toBe(0); // items wait (no backlog): hold
    st.queueLength = 0;
    expect(tickAt(s, st, 100)).toBe(-2);
    expect(s.lastReason).toBe("4.0 workers idle on average: step down → 10 workers");
  });

  it("rejects a step outside (0, 10], naming the strategy and the option", () => {
    expect(() => new ThroughputScaling({ step: 0 })).toThrow(FlowConfigError);
    expect(() => new ThroughputScaling({ step: 0 })).toThrow(
      /^ThroughputScaling: option "step" = 0: expected a number in \(0, 10\]/,
    );
    expect(() => new ThroughputScaling({ step: 11 })).toThrow(/option "step" = 11/);
  });
});
