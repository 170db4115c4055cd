import { describe, expect, it } from "vitest";
import { KneeRig } from "./knee-rig.js";

/**
 * Growth from a count not yet measured (λ·S of a burst at a stage's start) is no experiment. Once
 * its count is measured under a backlog, with the queue at least half full (the source blocked on
 * it: λ·S restates the pool) and calls slowed past the latency brake — queued behind a limit,
 * X = N / S — it is cut to the count unloaded calls need, and the cut is checked.
 */
describe("an untested count past the latency brake", () => {
  /** A stage of 20 ms calls behind `slots` slots, grown 1 → `to` before 1 was measured; calls queue past the slots. */
  const jumped = (to: number, slots = 40, slowdown = (n: number) => Math.max(1, n / slots)) => {
    const rig = new KneeRig(1);
    rig.s = 20;
    rig.cv = 0.3;
    rig.rate = (n) => (Math.min(n, slots) * 1000) / 20;
    rig.callMs = (n) => 20 * slowdown(n);
    rig.st.queueLength = 1000; // full: the source is blocked on it, and λ·S restates the pool
    rig.run(30); // 1 worker: not measured yet
    rig.n = to;
    return rig;
  };

  it("is cut to what unloaded calls need for the throughput, at once, and held there", () => {
    const rig = jumped(128);
    const cut = rig.until("untested");
    // 2,000/s at 20 ms (raised 10 % for the unloaded time's bias) is 44 workers, +10 % headroom.
    expect(cut.why).toBe("untested past the latency brake: 128 workers gave 2000/s, 49 deliver it unloaded");
    expect(cut.out).toBe(49);
    expect(cut.forced).toBe(true);
    rig.n = 49;
    rig.run(600); // the check at 49: 2,000/s delivered
    expect(rig.seen.some((v) => v.why?.startsWith("soft knee"))).toBe(false);
    expect(rig.guard.held(rig.now)).toBe(true);
    expect(rig.run(10).out).toBe(49); // growth is held at the cut
  });

  it("goes back when the cut loses throughput (a limit that gives way)", () => {
    const rig = jumped(128);
    const cut = rig.until("untested");
    rig.n = cut.out;
    rig.rate = (n) => (n >= 128 ? 2000 : 1600);
    rig.callMs = (n) => (n * 1000) / rig.rate(n); // every worker busy: X = N / S
    const back = rig.until("soft knee");
    expect(back.why).toBe("soft knee: 49 workers gave 1600/s, 128 gave 2000/s; back to 128");
    expect(back.out).toBe(128);
  });

  it("is not cut while calls run less than twice as slow as when it grew (timeouts, not a queue)", () => {
    const rig = jumped(64, 64, () => 1.8); // every call 1.8 × slower: no queue behind the stage
    rig.rate = (n) => (n * 1000) / 36;
    rig.run(1000);
    expect(rig.seen.some((v) => v.forced)).toBe(false);
  });

  it("is no cut where the growth came from a measured count (that is a probe, judged as one)", () => {
    const rig = jumped(40); // untested, but its calls run unloaded
    rig.run(600); // 40 workers measured under the backlog
    rig.n = 128;
    rig.run(1000);
    expect(rig.seen.some((v) => v.why?.startsWith("untested"))).toBe(false);
    expect(rig.seen.find((v) => v.forced)?.why).toMatch(/^knee: 40 → 128 workers/);
  });

  it("is not cut while the queue is less than half full (arrivals seen: the calls slowed for everyone)", () => {
    const rig = jumped(128);
    rig.st.queueLength = 499;
    rig.run(1000);
    expect(rig.seen.some((v) => v.forced)).toBe(false);
  });

  it("is no cut where the growth came from a count measured without demand (untested on purpose)", () => {
    const rig = jumped(40);
    rig.arrival = 1500; // below the 2,000/s 40 workers deliver: no experiment
    rig.st.queueLength = 400;
    rig.run(600); // 40 workers measured
    rig.n = 128;
    rig.st.queueLength = 1000;
    rig.arrival = Number.POSITIVE_INFINITY;
    rig.run(1000);
    expect(rig.seen.some((v) => v.why?.startsWith("untested"))).toBe(false);
  });

  it("is not cut without a backlog", () => {
    const rig = jumped(128);
    rig.backlogged = false;
    rig.run(1000);
    expect(rig.seen.some((v) => v.forced)).toBe(false);
  });
});
