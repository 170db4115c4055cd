import { describe, expect, it } from "vitest";
import { KneeWindow } from "../../../src/scaling/knee/knee-window.js";
import { mutableStats } from "../policy/wish-strategy.js";
import { KneeRig } from "./knee-rig.js";

/**
 * A worker blocked on a full downstream queue means the next stage set this one's pace: a window
 * that saw one measured the next stage, and the knee guard judges nothing on it (a two-stage job
 * read "knee: 6 → 7 workers moved throughput 252 → 318/s" from a history measured while the
 * consumer below was still growing, and held 6 workers for 30 s: 13 s against 1.6 s).
 */
describe("the knee guard and workers blocked downstream", () => {
  it("a window says whether it saw a blocked worker; the next one starts from the count then", () => {
    const w = new KneeWindow();
    const st = mutableStats({ queueLength: 400, queueCapacity: 1000 });
    w.restart(0);
    const step = (t: number, blocked: number) => {
      st.blockedWorkers = blocked;
      st.processed += 10;
      return w.observe(st, 10, t);
    };
    for (let t = 10; t <= 30; t += 10) step(t, 0); // marked at 20
    step(60, 2); // one evaluation saw 2 blocked
    let closed = false;
    for (let t = 70; !closed; t += 10) closed = step(t, 0);
    expect(w.blocked).toBe(true);
    closed = false;
    for (let t = 200; !closed; t += 10) closed = step(t, 0);
    expect(w.blocked).toBe(false);
    step(400, 1);
    w.restart(410);
    expect(w.blocked).toBe(false);
  });

  /** 10 workers measured at 1,000/s, then 20 that give no more: a knee, unless a worker was seen blocked. */
  const flat = (blockedAt: "none" | "before" | "after") => {
    const rig = new KneeRig(10);
    rig.rate = () => 1000;
    if (blockedAt === "before") rig.st.blockedWorkers = 1;
    rig.run(400);
    rig.st.blockedWorkers = blockedAt === "after" ? 1 : 0;
    return rig.growTo(20, 600);
  };

  it("judges no growth whose window saw a blocked worker, and tests none from a count measured so", () => {
    expect(flat("none")?.why).toMatch(/^knee: 10 → 20 workers moved throughput 1000 → 1000\/s/);
    expect(flat("after")).toBeUndefined();
    expect(flat("before")).toBeUndefined();
  });

  it("keeps a blocked window out of the history a later test compares with", () => {
    // At 4 workers the next stage let through 600/s; at 10 this stage gives 1,000/s, at 20, 1,200/s
    // (+20 %: a pass by η = 0.3 within the noise of two windows of 100 calls). Read against the blocked 4 (600/s), 20 would fail
    // "short since": 1,200 / 600 − 1 and the noise is short of 0.3 · (20 / 4 − 1).
    const run = (blocked: boolean) => {
      const rig = new KneeRig(4);
      rig.rate = (n) => (n === 4 ? 600 : n === 10 ? 1000 : 1200);
      rig.st.blockedWorkers = blocked ? 1 : 0;
      rig.run(400);
      rig.st.blockedWorkers = 0;
      rig.n = 10;
      rig.run(400);
      return rig.growTo(20, 600);
    };
    expect(run(false)?.why).toMatch(/^knee: 10 → 20/);
    expect(run(true)).toBeUndefined();
  });

  it("checks a cut only on a window with no worker blocked", () => {
    // Slow start cut 20 workers (1,000/s) to 11, which give 700/s (calls of 15.7 ms: N / S reads it too).
    const rig = new KneeRig(11, { holdMs: 5000 });
    rig.rate = () => 700;
    rig.callMs = () => (11 * 1000) / 700;
    rig.guard.hold(11, rig.now, 1000, 20, 10);
    rig.st.blockedWorkers = 1;
    rig.run(1000);
    expect(rig.seen.some((v) => v.why?.startsWith("soft knee"))).toBe(false);
    rig.st.blockedWorkers = 0;
    expect(rig.until("soft knee").why).toBe("soft knee: 11 workers gave 700/s, 20 gave 1000/s; back to 20");
  });
});
