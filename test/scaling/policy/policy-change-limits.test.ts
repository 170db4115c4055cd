import { describe, expect, it } from "vitest";
import { mutableStats, tickAt, Wish } from "./wish-strategy.js";

describe("the policy layer's tolerance band and rounding", () => {
  it("ignores a change of exactly `tolerance` of the count, and applies one just past it", () => {
    const s = new Wish({ maxWorkers: 100, tolerance: 0.25 });
    const st = mutableStats({ activeWorkers: 8 });
    s.want = 10;
    expect(tickAt(s, st, 0)).toBe(0);
    s.want = 10.01;
    expect(tickAt(s, st, 100)).toBe(3); // rounded up to 11
  });

  it("rounds a fractional recommendation up, but not a float's last-digit noise", () => {
    const s = new Wish({ maxWorkers: 100, tolerance: 0 });
    const st = mutableStats({ activeWorkers: 3 });
    s.want = 4.0000000001;
    expect(tickAt(s, st, 0)).toBe(1);
  });

  it("brings a stage with no workers up to minWorkers, whatever the recommendation", () => {
    const s = new Wish({ minWorkers: 1, maxWorkers: 10 });
    const st = mutableStats({ activeWorkers: 0 });
    s.want = 0;
    expect(tickAt(s, st, 0)).toBe(1);
  });

  it("clamps to [minWorkers, maxWorkers]", () => {
    const s = new Wish({ minWorkers: 2, maxWorkers: 10, downStabilizationMs: 0 });
    const st = mutableStats({ activeWorkers: 8 });
    s.want = 500;
    expect(tickAt(s, st, 0)).toBe(2);
    s.want = 0;
    expect(tickAt(s, st, 100)).toBe(-8);
  });
});

describe("the policy layer's down window", () => {
  const options = { maxWorkers: 100, downStabilizationMs: 5000 };

  it("keeps a recommendation for the whole window, to the 100 ms bucket", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 10;
    tickAt(s, st, 1000);
    s.want = 2;
    expect(tickAt(s, st, 3000)).toBe(0);
    expect(tickAt(s, st, 6000)).toBe(0); // exactly 5 s later: still in the window
    expect(tickAt(s, st, 6099)).toBe(0);
    expect(tickAt(s, st, 6100)).toBe(-8);
  });

  it("remembers the highest recommendation within a bucket, whatever came after it", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 10;
    tickAt(s, st, 1010);
    s.want = 2;
    expect(tickAt(s, st, 1050)).toBe(0); // same bucket as the 10
  });

  it("shrinks to the highest recommendation left in the window, not below", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 10;
    tickAt(s, st, 1000);
    s.want = 4;
    expect(tickAt(s, st, 1110)).toBe(0);
    s.want = 8; // raises the bucket of 1100 to 8
    expect(tickAt(s, st, 1150)).toBe(0);
    s.want = 2;
    expect(tickAt(s, st, 6100)).toBe(-2); // the 10 left the window, the 8 has not
    expect(tickAt(s, st, 6200)).toBe(-6);
  });

  it("grows at once whatever the window holds", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 10;
    tickAt(s, st, 0);
    s.want = 4;
    expect(tickAt(s, st, 100)).toBe(0); // held at 10 by the window
    s.want = 14;
    expect(tickAt(s, st, 200)).toBe(4);
  });
});

describe("the policy layer's growth limit", () => {
  it("grows by the larger of +maxGrowthPercent % and +maxGrowthWorkers per period", () => {
    const grow = (n: number, options: object) => {
      const s = new Wish({ maxWorkers: 1000, ...options });
      s.want = 1000;
      return tickAt(s, mutableStats({ activeWorkers: n }), 0);
    };
    expect(grow(2, {})).toBe(4); // +4 beats +100 %
    expect(grow(20, {})).toBe(20); // +100 % beats +4
    expect(grow(20, { maxGrowthPercent: 50 })).toBe(10);
    expect(grow(5, { maxGrowthPercent: 10, maxGrowthWorkers: 0 })).toBe(1); // ceil(5.5) = 6
    expect(grow(20, { maxGrowthPercent: 0, maxGrowthWorkers: 3 })).toBe(3);
  });

  it("never grows twice within one period, counted from the growth", () => {
    const s = new Wish({ maxWorkers: 1000 });
    const st = mutableStats({ activeWorkers: 2 });
    s.want = 2;
    tickAt(s, st, 0); // no growth: starts no period
    s.want = 1000;
    expect(tickAt(s, st, 50)).toBe(4); // 2 → 6
    expect(tickAt(s, st, 120)).toBe(0); // still in the period that began at 50
    expect(tickAt(s, st, 150)).toBe(6); // 6 → 12
  });

  it("counts growth within a period from the count at its start", () => {
    const s = new Wish({ maxWorkers: 1000, growthPeriodMs: 1000 });
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 15;
    expect(tickAt(s, st, 0)).toBe(5);
    s.want = 1000;
    expect(tickAt(s, st, 500)).toBe(5); // up to 20, twice the 10 the period began with
    expect(tickAt(s, st, 1000)).toBe(20);
  });
});

describe("the policy layer's cooldown and dampening", () => {
  it("counts the cooldown from the last change, not from evaluations that changed nothing", () => {
    const s = new Wish({ maxWorkers: 100, cooldownMs: 1000, downStabilizationMs: 0 });
    const st = mutableStats({ activeWorkers: 4 });
    s.want = 4;
    tickAt(s, st, 0);
    s.want = 6;
    expect(tickAt(s, st, 500)).toBe(2);
    s.want = 8;
    expect(tickAt(s, st, 1499)).toBe(0);
    expect(tickAt(s, st, 1500)).toBe(2);
  });

  it("with dampening 0 moves one worker per change, up and down", () => {
    const s = new Wish({ maxWorkers: 100, dampening: 0, downStabilizationMs: 0 });
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 20;
    expect(tickAt(s, st, 0)).toBe(1);
    s.want = 2;
    expect(tickAt(s, st, 100)).toBe(-1);
  });

  it("with dampening 1 takes the whole step", () => {
    const s = new Wish({ maxWorkers: 100, dampening: 1, downStabilizationMs: 0 });
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 17;
    expect(tickAt(s, st, 0)).toBe(7);
  });
});

describe("a forced recommendation", () => {
  it("shrinks past the down window", () => {
    const s = new Wish({ maxWorkers: 100 });
    const st = mutableStats({ activeWorkers: 20 });
    s.want = 20;
    tickAt(s, st, 0);
    s.want = 10;
    expect(tickAt(s, st, 100)).toBe(0); // unforced: held by the window
    s.forceNext = true;
    expect(tickAt(s, st, 200)).toBe(-10);
  });

  it("grows past the growth limit and applies a change inside the tolerance band", () => {
    const s = new Wish({ maxWorkers: 100 });
    s.forceNext = true;
    s.want = 50;
    expect(tickAt(s, mutableStats({ activeWorkers: 2 }), 0)).toBe(48);
    const t = new Wish({ maxWorkers: 100 });
    t.forceNext = true;
    t.want = 11;
    expect(tickAt(t, mutableStats({ activeWorkers: 10 }), 0)).toBe(1);
  });

  it("still keeps the clamps and the cooldown", () => {
    const s = new Wish({ maxWorkers: 100, cooldownMs: 1000 });
    const st = mutableStats({ activeWorkers: 10 });
    s.forceNext = true;
    s.want = 500;
    expect(tickAt(s, st, 0)).toBe(90);
    s.want = 5;
    expect(tickAt(s, st, 500)).toBe(0);
    expect(tickAt(s, st, 1000)).toBe(-95);
  });

  it("lasts one evaluation: the next recommendation goes through the layer again", () => {
    const s = new Wish({ maxWorkers: 100 });
    const st = mutableStats({ activeWorkers: 20 });
    s.want = 20;
    tickAt(s, st, 0);
    s.forceNext = true;
    s.want = 10;
    expect(tickAt(s, st, 100)).toBe(-10);
    s.forceNext = false;
    s.want = 40;
    expect(tickAt(s, st, 200)).toBe(10); // the growth limit again: +100 %
  });
});

describe("the policy layer's reasons and clones", () => {
  it("asks for a reason only when the count changes, and keeps the last one meanwhile", () => {
    const s = new Wish({ maxWorkers: 100 });
    const st = mutableStats({ activeWorkers: 4 });
    s.want = 8;
    tickAt(s, st, 0);
    expect([s.lastReason, s.explained]).toEqual(["wished for 8", 1]);
    s.want = 8.5; // inside the band: no change
    tickAt(s, st, 100);
    tickAt(s, st, 200);
    expect([s.lastReason, s.explained]).toEqual(["wished for 8", 1]);
  });

  it("reports the count after dampening in the reason", () => {
    const s = new Wish({ maxWorkers: 100, dampening: 0.5 });
    const st = mutableStats({ activeWorkers: 10 });
    s.want = 20;
    expect(tickAt(s, st, 0)).toBe(5);
    expect(s.lastReason).toBe("wished for 15");
  });

  it("clones with the options it was given and none of the state", () => {
    const s = new Wish({ maxWorkers: 7, cooldownMs: 1000 });
    const st = mutableStats({ activeWorkers: 2 });
    s.want = 6;
    expect(tickAt(s, st, 0)).toBe(4);
    const c = s.clone();
    expect(c).toBeInstanceOf(Wish);
    expect(c.options).toEqual({ maxWorkers: 7, cooldownMs: 1000 });
    expect(Object.isFrozen(c.options)).toBe(true);
    expect([c.maxWorkers, c.policy.cooldownMs]).toEqual([7, 1000]);
    c.want = 6;
    expect(tickAt(c, mutableStats({ activeWorkers: 2 }), 100)).toBe(4); // no cooldown carried over
    expect(s.initialWorkers()).toBe(1);
  });
});
