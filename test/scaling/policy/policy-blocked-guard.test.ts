import { describe, expect, it } from "vitest";
import { mutableStats, tickAt, Wish } from "./wish-strategy.js";

const blockedGuard = { blocked: true };

describe("the blocked guard of the policy layer", () => {
  it("engages at one blocked worker on average, not below", () => {
    const s = new Wish({ maxWorkers: 100 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 10, avgBusyWorkers: 3, avgBlockedWorkers: 0.99 });
    s.want = 10;
    expect(tickAt(s, st, 0)).toBe(0);
    st.avgBlockedWorkers = 1;
    expect(tickAt(s, st, 100)).toBe(-6); // busy + 1 = 4
  });

  it("stays engaged down to half a blocked worker and lets go below", () => {
    const s = new Wish({ maxWorkers: 100 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 4, avgBusyWorkers: 3, avgBlockedWorkers: 1 });
    s.want = 20;
    expect(tickAt(s, st, 0)).toBe(0); // held at busy + 1
    st.avgBlockedWorkers = 0.5;
    expect(tickAt(s, st, 100)).toBe(0);
    st.avgBlockedWorkers = 0.49;
    expect(tickAt(s, st, 200)).toBe(4); // free to grow (4 → 8, the growth limit)
  });

  it("starts disengaged: less than one blocked worker from the first evaluation does not cap growth", () => {
    const s = new Wish({ maxWorkers: 100 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 4, avgBusyWorkers: 3, avgBlockedWorkers: 0.7 });
    s.want = 8;
    expect(tickAt(s, st, 0)).toBe(4);
  });

  it("cuts at once, past the down window, when the count is beyond the tolerance band of busy + 1", () => {
    const s = new Wish({ maxWorkers: 100, tolerance: 0.5 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 9, avgBusyWorkers: 3 });
    s.want = 9;
    tickAt(s, st, 0); // 9 is in the down window from now on
    st.avgBlockedWorkers = 2;
    expect(tickAt(s, st, 100)).toBe(-5); // 9 > 4 · 1.5
    expect(s.lastReason).toBe("2.0 workers blocked on a full downstream queue; 3.0 busy");
  });

  it("leaves a count within the tolerance band of busy + 1 alone", () => {
    const s = new Wish({ maxWorkers: 100, tolerance: 0.5 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 6, avgBusyWorkers: 3, avgBlockedWorkers: 2 });
    s.want = 6;
    expect(tickAt(s, st, 0)).toBe(0); // 6 ≤ 4 · 1.5
  });

  it("names itself in the reason only when it lowered the recommendation", () => {
    const s = new Wish({ maxWorkers: 100 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 8, avgBusyWorkers: 2.7, avgBlockedWorkers: 1.4 });
    s.want = 12;
    expect(tickAt(s, st, 0)).toBe(-4); // ceil(2.7 + 1)
    expect(s.lastReason).toBe("1.4 workers blocked on a full downstream queue; 2.7 busy");

    const t = new Wish({ maxWorkers: 100 }, blockedGuard);
    const st2 = mutableStats({ activeWorkers: 8, avgBusyWorkers: 3, avgBlockedWorkers: 2 });
    t.want = 4; // exactly busy + 1: the strategy's own answer
    expect(tickAt(t, st2, 0)).toBe(-4);
    expect(t.lastReason).toBe("wished for 4");
  });

  it("keeps its reason when the knee guard is on too and has nothing to say", () => {
    const s = new Wish({ maxWorkers: 100 }, { blocked: true, knee: true });
    const st = mutableStats({ activeWorkers: 10, avgBusyWorkers: 3, avgBlockedWorkers: 2 });
    s.want = 10;
    expect(tickAt(s, st, 0)).toBe(-6);
    expect(s.lastReason).toBe("2.0 workers blocked on a full downstream queue; 3.0 busy");
  });
});
