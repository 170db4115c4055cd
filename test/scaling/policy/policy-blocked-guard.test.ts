import { describe, expect, it } from "vitest";
import type { PolicyScaling } from "../../../src/index.js";
import { BlockedGuard } from "../../../src/scaling/blocked-guard.js";
import { type MutableStats, mutableStats, tickAt, Wish } from "./wish-strategy.js";

const blockedGuard = { blocked: true };

/** Ticks every 100 ms after `from` up to `to` (the tick of a flow); the sum of the deltas. */
function ticks(s: PolicyScaling, st: MutableStats, from: number, to: number): number {
  let sum = 0;
  for (let t = from + 100; t < to; t += 100) sum += tickAt(s, st, t);
  return sum + tickAt(s, st, to);
}

/** A stage of `n` workers, some blocked now, wishing for `want`, evaluated at 0 (the spell begins) and at `at`. */
function spell(o: { n: number; busy: number; blocked: number; avg: number; want: number }) {
  const s = new Wish({ maxWorkers: 100 }, blockedGuard);
  const st = mutableStats({
    activeWorkers: o.n,
    busyWorkers: o.busy,
    blockedWorkers: o.blocked,
    avgBusyWorkers: o.busy,
    avgBlockedWorkers: o.avg,
    processingTimeMs: 10,
  });
  s.want = o.want;
  return { s, st };
}

describe("the blocked guard of the policy layer", () => {
  it("waits out a spell of blocked workers shorter than 500 ms, neither cutting nor growing", () => {
    const { s, st } = spell({ n: 10, busy: 3, blocked: 7, avg: 5, want: 20 });
    expect(tickAt(s, st, 0)).toBe(0); // the next stage may still be growing: not cut to busy + 1
    expect(ticks(s, st, 0, 499)).toBe(0); // and no growth either: the limit is downstream
    expect(tickAt(s, st, 500)).toBe(-6); // a spell of 500 ms: cut to busy + 1 = 4, at once
    expect(s.lastReason).toBe("5.0 workers blocked on a full downstream queue; 3.0 busy");
  });

  it("engages at one blocked worker on average, not below", () => {
    const { s, st } = spell({ n: 10, busy: 3, blocked: 1, avg: 0.99, want: 10 });
    tickAt(s, st, 0);
    expect(ticks(s, st, 0, 600)).toBe(0);
    st.avgBlockedWorkers = 1;
    expect(tickAt(s, st, 700)).toBe(-6); // busy + 1 = 4
  });

  it("stays engaged down to half a blocked worker and lets go below; grows once none was blocked lately", () => {
    const { s, st } = spell({ n: 4, busy: 3, blocked: 1, avg: 1, want: 20 });
    tickAt(s, st, 0);
    expect(ticks(s, st, 0, 500)).toBe(0); // held at busy + 1
    st.avgBlockedWorkers = 0.5;
    expect(tickAt(s, st, 600)).toBe(0);
    st.avgBlockedWorkers = 0.49;
    expect(tickAt(s, st, 700)).toBe(0); // let go, but growth waits until no worker was blocked lately
    st.blockedWorkers = 0;
    expect(ticks(s, st, 700, 900)).toBe(0);
    expect(tickAt(s, st, 950)).toBe(4); // 250 ms without one: free to grow (4 → 8, the growth limit)
  });

  it("lets go by the average only (none blocked for a while at the cap is the cap working)", () => {
    const { s, st } = spell({ n: 4, busy: 3, blocked: 1, avg: 3, want: 20 });
    tickAt(s, st, 0);
    expect(ticks(s, st, 0, 500)).toBe(0); // engaged: held at busy + 1
    st.blockedWorkers = 0;
    expect(ticks(s, st, 500, 1500)).toBe(0);
    st.avgBlockedWorkers = 0.4;
    expect(tickAt(s, st, 1600)).toBe(4);
  });

  it("holds growth until no worker was blocked for max(3·S, 250 ms)", () => {
    const grown = (ms: number, callMs: number) => {
      const { s, st } = spell({ n: 4, busy: 3, blocked: 1, avg: 0.2, want: 20 });
      st.processingTimeMs = callMs;
      tickAt(s, st, 0);
      st.blockedWorkers = 0;
      return ticks(s, st, 0, ms);
    };
    expect(grown(200, 10)).toBe(0);
    expect(grown(250, 10)).toBe(4);
    expect(grown(290, 100)).toBe(0);
    expect(grown(300, 100)).toBe(4);
  });

  it("counts a new spell from its start once the last one ended", () => {
    const { s, st } = spell({ n: 10, busy: 3, blocked: 2, avg: 2, want: 10 });
    tickAt(s, st, 0);
    st.blockedWorkers = 0;
    tickAt(s, st, 300); // the spell ended (250 ms without a blocked worker)
    st.blockedWorkers = 2;
    expect(tickAt(s, st, 400)).toBe(0); // a new spell: waited out
    expect(ticks(s, st, 400, 899)).toBe(0);
    expect(tickAt(s, st, 900)).toBe(-6);
  });

  it("starts disengaged: less than one blocked worker from the first evaluation does not cap growth", () => {
    const s = new Wish({ maxWorkers: 100 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 4, avgBusyWorkers: 3, avgBlockedWorkers: 0.7 });
    s.want = 8;
    expect(tickAt(s, st, 0)).toBe(4);
  });

  it("cuts at once, past the down window, when the count is beyond the tolerance band of busy + 1", () => {
    const s = new Wish({ maxWorkers: 100, tolerance: 0.5 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 9, avgBusyWorkers: 3, busyWorkers: 3 });
    s.want = 9;
    tickAt(s, st, 0); // 9 is in the down window from now on
    st.blockedWorkers = 6;
    st.avgBlockedWorkers = 2;
    tickAt(s, st, 100);
    expect(ticks(s, st, 100, 600)).toBe(-5); // 9 > 4 · 1.5
    expect(s.lastReason).toBe("2.0 workers blocked on a full downstream queue; 3.0 busy");
  });

  it("leaves a count within the tolerance band of busy + 1 alone", () => {
    const s = new Wish({ maxWorkers: 100, tolerance: 0.5 }, blockedGuard);
    const st = mutableStats({ activeWorkers: 6, avgBusyWorkers: 3, blockedWorkers: 3, avgBlockedWorkers: 2 });
    s.want = 6;
    tickAt(s, st, 0);
    expect(ticks(s, st, 0, 500)).toBe(0); // 6 ≤ 4 · 1.5
  });

  it("names itself in the reason only when it lowered the recommendation", () => {
    const { s, st } = spell({ n: 8, busy: 2, blocked: 6, avg: 1.4, want: 12 });
    st.avgBusyWorkers = 2.7;
    tickAt(s, st, 0);
    expect(ticks(s, st, 0, 500)).toBe(-4); // ceil(2.7 + 1)
    expect(s.lastReason).toBe("1.4 workers blocked on a full downstream queue; 2.7 busy");

    const t = spell({ n: 8, busy: 3, blocked: 5, avg: 2, want: 4 }); // exactly busy + 1: the strategy's own answer
    expect(tickAt(t.s, t.st, 0)).toBe(-4);
    expect(t.s.lastReason).toBe("wished for 4");
  });

  it("keeps its reason when the knee guard is on too and has nothing to say", () => {
    const s = new Wish({ maxWorkers: 100 }, { blocked: true, knee: true });
    const st = mutableStats({
      activeWorkers: 10,
      avgBusyWorkers: 3,
      blockedWorkers: 7,
      avgBlockedWorkers: 2,
    });
    s.want = 10;
    tickAt(s, st, 0);
    expect(ticks(s, st, 0, 500)).toBe(-6);
    expect(s.lastReason).toBe("2.0 workers blocked on a full downstream queue; 3.0 busy");
  });

  it("once engaged, passes a recommendation at or below busy + 1 as it is, with no reason", () => {
    const g = new BlockedGuard();
    const st = mutableStats({
      activeWorkers: 10,
      busyWorkers: 3,
      blockedWorkers: 7,
      avgBusyWorkers: 3,
      avgBlockedWorkers: 5,
    });
    for (let t = 0; t <= 500; t += 100) g.observe(st, 10, t);
    expect(g.limit(20, st, 10, 500, 0.1)).toBe(4); // engaged: capped at busy + 1
    expect(g.limit(2, st, 10, 600, 0.1)).toBe(2);
    expect(g.limit(4, st, 10, 700, 0.1)).toBe(4);
    expect([g.why, g.forced]).toEqual([null, false]);
  });
});
