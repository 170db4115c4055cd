import { describe, expect, it } from "vitest";
import { mutableStats, tickAt, Wish } from "./wish-strategy.js";

/** A stage of 20 workers that wants 20, ticked once at 0 so that no overload is news. */
function stage(options: ConstructorParameters<typeof Wish>[0] = {}) {
  const s = new Wish({ maxWorkers: 100, ...options });
  const st = mutableStats({ activeWorkers: 20 });
  s.want = 20;
  tickAt(s, st, 0);
  return { s, st };
}

function overload(st: ReturnType<typeof mutableStats>, calls: number, at: number) {
  st.overloads += calls;
  st.lastOverloadAt = at;
}

describe("the policy layer's overload cut", () => {
  it("cuts by the calls that overloaded, at once, and says so", () => {
    const { s, st } = stage();
    overload(st, 3, 100);
    expect(tickAt(s, st, 100)).toBe(-3);
    expect(s.lastReason).toBe("3 calls overloaded (overloadOn) at 20 workers → 17");
    const one = stage();
    overload(one.st, 1, 100);
    expect(tickAt(one.s, one.st, 100)).toBe(-1);
    expect(one.s.lastReason).toBe("1 call overloaded (overloadOn) at 20 workers → 19");
  });

  it("never cuts deeper than overloadDecrease of the pool, nor below minWorkers", () => {
    const { s, st } = stage();
    overload(st, 30, 100);
    expect(tickAt(s, st, 100)).toBe(-10);
    const deep = stage({ overloadDecrease: 0 });
    overload(deep.st, 30, 100);
    expect(tickAt(deep.s, deep.st, 100)).toBe(-19);
    const floor = stage({ minWorkers: 15 });
    overload(floor.st, 30, 100);
    expect(tickAt(floor.s, floor.st, 100)).toBe(-5);
  });

  it("does not cut at minWorkers, nor hold growth after an overload there", () => {
    const { s, st } = stage({ minWorkers: 20 });
    overload(st, 5, 100);
    expect(tickAt(s, st, 100)).toBe(0);
    s.want = 30;
    expect(tickAt(s, st, 200)).toBe(10);
  });

  it("counts each overload once, and cuts again only after max(2·S, 100 ms)", () => {
    const { s, st } = stage();
    overload(st, 2, 100);
    expect(tickAt(s, st, 100)).toBe(-2);
    expect(tickAt(s, st, 150)).toBe(0); // nothing new
    overload(st, 2, 199);
    expect(tickAt(s, st, 199)).toBe(0); // calls started before the cut
    overload(st, 2, 200);
    expect(tickAt(s, st, 200)).toBe(-2);
    const slow = stage();
    slow.st.processingTimeMs = 80;
    overload(slow.st, 1, 100);
    expect(tickAt(slow.s, slow.st, 100)).toBe(-1);
    overload(slow.st, 1, 200);
    expect(tickAt(slow.s, slow.st, 259)).toBe(0);
    overload(slow.st, 1, 260);
    expect(tickAt(slow.s, slow.st, 260)).toBe(-1);
  });

  it("is off at overloadDecrease 1", () => {
    const { s, st } = stage({ overloadDecrease: 1 });
    overload(st, 5, 100);
    expect(tickAt(s, st, 100)).toBe(0);
  });
});

describe("growing back after an overload", () => {
  it("holds the count at the cut — just below the count that overloaded — until kneeHoldMs, then probes it, forced", () => {
    const { s, st } = stage({ kneeHoldMs: 5000 });
    overload(st, 3, 100);
    tickAt(s, st, 100);
    expect(st.activeWorkers).toBe(17); // 3 calls overloaded at 20: the 18th is the one too many
    // Just below the count that overloaded until kneeHoldMs has passed…
    expect(tickAt(s, st, 1100)).toBe(0);
    expect(tickAt(s, st, 2100)).toBe(0);
    expect(tickAt(s, st, 4100)).toBe(0);
    // …then that count is probed again, one worker a second (below the tolerance band: forced).
    expect(tickAt(s, st, 5100)).toBe(1);
    expect(s.lastReason).toBe("after overload at 18, one worker a second: 18 workers");
    expect(st.activeWorkers).toBe(18);
    expect(tickAt(s, st, 5500)).toBe(0);
    expect(tickAt(s, st, 6100)).toBe(1);
  });

  it("lets the ceiling rise only while the count is at it", () => {
    const { s, st } = stage({ kneeHoldMs: 5000 });
    overload(st, 3, 100);
    tickAt(s, st, 100);
    s.want = 10;
    s.forceNext = true;
    expect(tickAt(s, st, 200)).toBe(-7);
    s.forceNext = false;
    for (let t = 1100; t <= 4100; t += 1000) tickAt(s, st, t);
    s.want = 20;
    tickAt(s, st, 4200);
    expect(st.activeWorkers).toBe(17);
  });

  it("does not force a count someone else raised past the ceiling down", () => {
    const { s, st } = stage();
    overload(st, 3, 100);
    tickAt(s, st, 100);
    st.activeWorkers = 20; // the flow's budget handed workers back
    expect(tickAt(s, st, 200)).toBe(0); // down to 17 only through the down window
  });

  it("leaves a recommendation below the ceiling alone", () => {
    const { s, st } = stage();
    overload(st, 3, 100);
    tickAt(s, st, 100);
    s.want = 16;
    s.forceNext = true;
    expect(tickAt(s, st, 200)).toBe(-1);
    expect(s.lastReason).toBe("wished for 16");
  });

  it("forgets the ceiling a minute after the last overload", () => {
    const { s, st } = stage();
    overload(st, 3, 100);
    tickAt(s, st, 100);
    expect(tickAt(s, st, 60_100)).toBe(1); // still remembered: one worker up
    expect(st.activeWorkers).toBe(18);
    expect(tickAt(s, st, 60_101)).toBe(2);
    expect(s.lastReason).toBe("wished for 20");
  });

  it("forgets the ceiling when the stats know of no overload", () => {
    const { s, st } = stage();
    overload(st, 3, 100);
    tickAt(s, st, 100);
    st.lastOverloadAt = null;
    expect(tickAt(s, st, 200)).toBe(3);
  });
});
