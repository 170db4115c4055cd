import { describe, expect, it } from "vitest";
import { FlowConfigError } from "../../src/index.js";
import { LatencyBudgetScaling } from "../../src/index.js";
import { mutableStats, tickAt } from "./policy/wish-strategy.js";

describe("LatencyBudgetScaling's increase and decrease", () => {
  it("has the blocked guard on, the knee guard off and no tolerance band by default", () => {
    expect(new LatencyBudgetScaling({ latencyBudgetMs: 20 }).policy).toMatchObject({
      kneeGuard: false,
      blockedGuard: true,
      tolerance: 0,
    });
  });

  it("treats a processing time exactly at the budget as within it", () => {
    const s = new LatencyBudgetScaling({ latencyBudgetMs: 20, maxWorkers: 100 });
    const st = mutableStats({ activeWorkers: 4, processingTimeMs: 20, queueLength: 10 });
    expect(tickAt(s, st, 0)).toBe(4); // doubles: under budget with items waiting
  });

  it("increases only while items wait and fewer than one worker idles on average", () => {
    const s = new LatencyBudgetScaling({ latencyBudgetMs: 20, maxWorkers: 100, downStabilizationMs: 0 });
    const st = mutableStats({ activeWorkers: 4, processingTimeMs: 10, queueLength: 10, avgIdleWorkers: 1 });
    st.avgBusyWorkers = 3;
    expect(tickAt(s, st, 0)).toBe(0); // an idle worker: busy + √busy + 1 = 5.7, capped at the 4 there are
    st.avgIdleWorkers = 0.9;
    expect(tickAt(s, st, 100)).toBe(4);
    st.queueLength = 0;
    st.avgBusyWorkers = 1;
    expect(tickAt(s, st, 200)).toBe(-5); // no backlog: 1 + √1 + 1 = 3
    expect(s.lastReason).toBe("1.0 busy, no backlog → 3 workers");
  });

  it("spaces increases by the larger of 100 ms and 2·S", () => {
    const s = new LatencyBudgetScaling({ latencyBudgetMs: 200, maxWorkers: 100 });
    const st = mutableStats({ activeWorkers: 2, processingTimeMs: 80, queueLength: 100 });
    expect(tickAt(s, st, 0)).toBe(2);
    expect(tickAt(s, st, 100)).toBe(0); // 2·S = 160 ms
    expect(tickAt(s, st, 159)).toBe(0);
    expect(tickAt(s, st, 160)).toBe(4);
    expect(s.lastReason).toBe("processing 80.0 ms within budget 200 ms, 100 waiting → 8 workers");
    st.processingTimeMs = 10;
    expect(tickAt(s, st, 259)).toBe(0); // 100 ms at least
    expect(tickAt(s, st, 260)).toBe(8);
  });

  it("starts one worker at zero when items wait, and none when nothing does", () => {
    const s = new LatencyBudgetScaling({ latencyBudgetMs: 20, minWorkers: 0 });
    const st = mutableStats({ activeWorkers: 0 });
    expect(tickAt(s, st, 0)).toBe(0);
    st.queueLength = 1;
    expect(tickAt(s, st, 100)).toBe(1);
  });

  it("checks its options, naming the strategy", () => {
    expect(() => new LatencyBudgetScaling({ latencyBudgetMs: 0 })).toThrow(FlowConfigError);
    expect(() => new LatencyBudgetScaling({ latencyBudgetMs: 0 })).toThrow(
      /^LatencyBudgetScaling: option "latencyBudgetMs" = 0/,
    );
    expect(() => new LatencyBudgetScaling({ latencyBudgetMs: 20, decrease: 0 })).toThrow(
      /option "decrease" = 0/,
    );
    expect(() => new LatencyBudgetScaling({ latencyBudgetMs: 20, decrease: 1 })).toThrow(
      /option "decrease" = 1/,
    );
    expect(new LatencyBudgetScaling({ latencyBudgetMs: 20, decrease: 0.5 }).options.decrease).toBe(0.5);
  });
});
