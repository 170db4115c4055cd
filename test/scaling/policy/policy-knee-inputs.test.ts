import { describe, expect, it } from "vitest";
import { mutableStats, tickAt, Wish } from "./wish-strategy.js";

const kneeGuard = { knee: true };
const START = 10_000;

/**
 * A backlogged stage ticked every 50 ms whose completions per second are `rate(workers)` and
 * whose processing time is `serviceMs(t)`. Growth is asked for from `growFrom` on. Returns every
 * change as [time, workers after it, reason].
 */
function run(opts: {
  rate: (workers: number) => number;
  serviceMs: (t: number) => number;
  untilMs: number;
  growFrom?: number;
  kneeHoldMs?: number;
}) {
  const s = new Wish({ maxWorkers: 256, kneeHoldMs: opts.kneeHoldMs ?? 30_000 }, kneeGuard);
  const st = mutableStats({ activeWorkers: 10, queueLength: 5000, oldestItemAgeMs: 2000 });
  const changes: [number, number, string][] = [];
  // A flow's clock starts anywhere: times passed to the strategy are START + t.
  for (let t = 0; t <= opts.untilMs; t += 50) {
    s.want = t >= (opts.growFrom ?? 0) ? 1000 : st.activeWorkers;
    st.processingTimeMs = opts.serviceMs(t);
    st.processed += (opts.rate(st.activeWorkers) * 50) / 1000;
    if (tickAt(s, st, START + t) !== 0) changes.push([t, st.activeWorkers, s.lastReason]);
  }
  return changes;
}

const knees = (changes: [number, number, string][]) => changes.filter(([, , why]) => why.startsWith("knee"));

describe("what the policy layer feeds the knee guard", () => {
  it("the same growth with S steady is tested, and undone for a flat throughput", () => {
    const steady = run({ rate: () => 1000, serviceMs: () => 10, untilMs: 3000, growFrom: 1000 });
    expect(knees(steady)).toHaveLength(1);
    expect(steady.at(-1)![1]).toBe(10);
  });

  it("takes S as steady when it wobbles by up to 15 %", () => {
    const wobble = [10, 11.5, 10];
    const noisy = run({
      rate: () => 1000,
      serviceMs: (t) => wobble[(t / 50) % 3]!,
      untilMs: 2500,
      growFrom: 1000,
    });
    expect(knees(noisy).map(([, , why]) => why)).toEqual([expect.stringMatching(/^knee: 10 → 20 workers/)]);
  });

  it("tests growth before any item was timed (S taken as 10 ms)", () => {
    const untimed = run({ rate: () => 1000, serviceMs: () => 0, untilMs: 2500, growFrom: 1000 });
    expect(knees(untimed).map(([, , why]) => why)).toEqual([expect.stringMatching(/^knee: 10 → 20 workers/)]);
  });

  it("lets a stage at zero workers grow at once when a backlog appears", () => {
    const s = new Wish({ minWorkers: 0, maxWorkers: 100 }, kneeGuard);
    const st = mutableStats({ activeWorkers: 0, processingTimeMs: 10 });
    s.want = 0;
    for (let t = 0; t <= 20; t += 10) expect(tickAt(s, st, t)).toBe(0);
    st.queueLength = 5;
    st.oldestItemAgeMs = 50;
    s.want = 3;
    expect(tickAt(s, st, 30)).toBe(3);
  });

  it("after a successful re-probe past an expired knee, growth goes on in +25 % steps while the knee is fresh", () => {
    // 40 slots until 1 s, then the dependency scales out (while the knee holds).
    let now = 0;
    const changes = run({
      rate: (n) => (now < 1000 ? Math.min(n, 40) : n) * 100,
      serviceMs: (t) => {
        now = t;
        return 10;
      },
      untilMs: 5000,
      kneeHoldMs: 2000,
    });
    const ns = changes.map(([, n]) => n);
    expect(ns.slice(0, 4)).toEqual([20, 40, 80, 40]); // the knee at 40, held 2 s
    const after = ns.slice(4);
    expect(after[0]).toBe(50); // the re-probe: +25 %
    // It paid; but a knee found lately keeps growth to +25 % steps for 2 × kneeHoldMs (TCP's
    // congestion avoidance), each one tested.
    expect(after.slice(1, 3)).toEqual([63, 79]);
    expect(after.slice(3, 5)).toEqual([99, 124]);
  });

  it("makes the first growth after a knee expires a +25 % probe, even when the stage shrank meanwhile", () => {
    const s = new Wish({ maxWorkers: 256, kneeHoldMs: 1000, downStabilizationMs: 0 }, kneeGuard);
    const st = mutableStats({
      activeWorkers: 10,
      queueLength: 5000,
      oldestItemAgeMs: 2000,
      processingTimeMs: 10,
    });
    const changes: number[] = [];
    for (let t = 0; t <= 4000; t += 50) {
      // Demand falls while the knee holds and again once it expired, then comes back.
      s.want = t < 2000 ? 1000 : t < 2900 ? 30 : t < 3200 ? 20 : 1000;
      st.processed += (Math.min(st.activeWorkers, 40) * 100 * 50) / 1000;
      if (tickAt(s, st, START + t) !== 0) changes.push(st.activeWorkers);
    }
    // The knee at 40, a re-probe to 50 that fails and holds 40 until 2.8 s, the two shrinks,
    // then a +25 % probe.
    expect(changes.slice(0, 9)).toEqual([20, 40, 80, 40, 50, 40, 30, 20, 25]);
  });

  it("tests growth of a pool larger than its queue while the queue is half full and no worker idles", () => {
    // 80 workers at a 40-slot limit of 4,000/s, the source blocked on a full queue of 64: never more
    // queued than workers, and the oldest item waited less than a call. Growth asked for from 1 s.
    const grow = (queueLength: number, idleWorkers = 0) => {
      const s = new Wish({ maxWorkers: 256, kneeHoldMs: 30_000 }, kneeGuard);
      const st = mutableStats({
        activeWorkers: 80,
        queueLength,
        queueCapacity: 64,
        oldestItemAgeMs: 5,
        idleWorkers,
      });
      const changes: [number, number, string][] = [];
      for (let t = 0; t <= 3000; t += 50) {
        s.want = t >= 1000 ? 1000 : st.activeWorkers;
        st.processingTimeMs = st.activeWorkers / 4;
        st.processed += 200;
        st.received += 200;
        if (tickAt(s, st, START + t) !== 0) changes.push([t, st.activeWorkers, s.lastReason]);
      }
      return changes;
    };
    const full = grow(64);
    expect(knees(full).map(([, , why]) => why)).toEqual([expect.stringMatching(/^knee: 80 → \d+ workers/)]);
    expect(full.at(-1)![1]).toBe(80);
    // A queue under half full with the pool larger than it: no backlog, growth is demand met at once.
    expect(knees(grow(31))).toHaveLength(0);
    // Workers idle with the queue full: items wait for nothing but the hand-over; no backlog either.
    expect(knees(grow(64, 5))).toHaveLength(0);
  });
});
