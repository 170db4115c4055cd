import { describe, expect, it } from "vitest";
import { SlowStartMove } from "../../../src/scaling/knee/slow-start.js";
import { Rig } from "./slow-start-rig.js";

const { Off, Hold, Grow, Cut, Recheck } = SlowStartMove;

describe("slow start's rounds", () => {
  it("quadruples the pool once a round while throughput per worker holds, up to the maximum", () => {
    const rig = new Rig();
    rig.run(100);
    // A round: half a service time to settle, then a window of one service time (5 + 10 ms).
    expect(rig.changes).toEqual([
      [15, Grow, 4],
      [30, Grow, 16],
      [45, Grow, 64],
      [60, Grow, 256],
    ]);
    expect(rig.ss.why).toBe("slow start: queue full, 64 workers gave 6400/s → 256 workers");
    // At the maximum there is nothing left to find: the next round ends slow start (a later one
    // could only misread a stall as a knee).
    expect(rig.ss.active).toBe(false);
    expect(rig.run(50)).toBe(Off);
    expect(rig.changes).toHaveLength(4);
  });

  it("stops at maxWorkers, and never starts at it", () => {
    const rig = new Rig();
    rig.max = 10;
    rig.run(40);
    expect(rig.changes).toEqual([
      [15, Grow, 4],
      [30, Grow, 10],
    ]);
    const full = new Rig();
    full.n = 10;
    full.max = 10;
    expect(full.run(0)).toBe(Off);
    expect(full.ss.active).toBe(false);
  });

  it("only doubles when throughput per worker held at 75–90 % of the best", () => {
    // From 4 workers, so that the first round times enough items to be the reference (one of a
    // single worker's 10 ms calls over 10 ms is not: it sets only three quarters of its rate).
    const rig = new Rig();
    rig.n = 4;
    rig.rate = (n) => (n === 4 ? 400 : n * 80);
    rig.run(60);
    expect(rig.changes.slice(0, 3).map(([, , n]) => n)).toEqual([16, 32, 64]);
  });

  it("quadruples at exactly 90 %, doubles at exactly 75 %, and looks twice below that", () => {
    // 10,000/s a worker: whole completions every millisecond, so the shares are exact.
    const at = (share: number) => {
      const rig = new Rig();
      rig.rate = (n) => (n === 1 ? 10_000 : n * 10_000 * share);
      rig.callMs = () => 0.1;
      rig.run(60);
      return rig.changes.slice(1, 3);
    };
    expect(at(0.9)[0]).toEqual([30, Grow, 16]);
    expect(at(0.75)[0]).toEqual([30, Grow, 8]);
    // Below 75 %, at half or less alike: measured once more, halfway back (2 workers, 15 ms),
    // then cut — a stall of the process reads like a knee for one round.
    expect(at(0.5)).toEqual([
      [30, Recheck, 2],
      [45, Cut, expect.any(Number)],
    ]);
    expect(at(0.49)).toEqual([
      [30, Recheck, 2],
      [expect.any(Number), Cut, expect.any(Number)],
    ]);
  });

  it("waits for one completion per worker (up to 64) in a window", () => {
    const rig = new Rig();
    rig.rate = (n) => n * 50; // a worker completes an item every 20 ms: the window stretches to 20 ms
    rig.run(30);
    expect(rig.changes).toEqual([[25, Grow, 4]]);
    const many = new Rig();
    many.n = 100;
    many.max = 1000;
    many.rate = (n) => n * 10; // 1,000/s: 64 completions take 64 ms, not 100
    many.run(69);
    expect(many.changes).toEqual([[5 + 64, Grow, 400]]);
  });

  it("stretches the window to the mean processing time of the items it saw", () => {
    const rig = new Rig();
    rig.callMs = () => 30; // the planning mean (s = 10) lags: the window follows the 30 ms calls
    rig.st.processingTimeMs = 30;
    rig.run(40);
    expect(rig.changes).toEqual([[35, Grow, 4]]);
  });

  it("measures for a service time when no item was timed in the window", () => {
    const rig = new Rig();
    rig.timing = false;
    rig.rate = (n) => n * 1000; // one completion a millisecond: the count would allow a 1 ms window
    rig.run(20);
    expect(rig.changes[0]).toEqual([15, Grow, 4]);
  });

  it("measures for at least 1 ms, whatever S says", () => {
    const rig = new Rig();
    rig.s = 0;
    rig.callMs = () => 0;
    rig.rate = (n) => n * 1000;
    rig.run(5);
    expect(rig.changes[0]).toEqual([1, Grow, 4]);
  });

  it("starts a new round when the count changed under it, and holds while workers start", () => {
    const rig = new Rig();
    rig.run(10); // into the first round's window
    rig.n = 3; // the count moved (someone else): a new round, settled at 15, measured from there
    rig.run(14);
    expect(rig.changes).toEqual([]);
    rig.run(10);
    expect(rig.changes).toEqual([[expect.any(Number), Grow, 12]]);
    const starting = new Rig();
    starting.st.startingWorkers = 1;
    expect(starting.run(100)).toBe(Hold);
    starting.st.startingWorkers = 0;
    starting.run(20);
    // Settled from the last step with a worker starting (100 ms): 5 + 10 ms later.
    expect(starting.changes).toEqual([[expect.any(Number), Grow, 4]]);
    expect(starting.changes[0]![0]).toBeGreaterThanOrEqual(115);
  });
});

describe("slow start's knee", () => {
  /**
   * Slow start from 2 workers into 40 slots of 10 ms calls (calls past them wait their turn),
   * run for 200 ms; `at128` is what 128 workers read, if not the 4,000/s the slots give.
   */
  const fortySlots = (at128?: number): Rig => {
    const rig = new Rig();
    rig.n = 2;
    rig.rate = (n) => (at128 !== undefined && n >= 128 ? at128 : Math.min(n, 40) * 100);
    rig.callMs = (n) => 10 * Math.max(1, n / 40);
    rig.run(200);
    return rig;
  };

  it("looks again halfway back; where that is good, measures the count that fell short once more and cuts", () => {
    // A dependency with 40 slots; calls queue behind it past 40 workers.
    const rig = new Rig();
    rig.rate = (n) => Math.min(n, 40) * 100;
    rig.callMs = (n) => 10 * Math.max(1, n / 40);
    rig.run(200);
    const cut = rig.changes.at(-1)!;
    // 64 workers at 4,000/s: 62.5/s a worker, under 75 % of 100. Halfway back, 32 give 100/s a
    // worker (a stall, or a knee between 32 and 64); 64 again fall short: a knee.
    expect(rig.changes.map(([, m, n]) => [m, n])).toEqual([
      [Grow, 4],
      [Grow, 16],
      [Grow, 64],
      [Recheck, 32],
      [Grow, 64],
      [Cut, 44], // 4,000/s at 100/s a worker, +10 %
    ]);
    expect(cut[0]).toBeGreaterThan(rig.changes[2]![0] + 3 * 16);
    expect(rig.ss.why).toBe(
      "slow start found the knee: 64 workers gave 4000/s, 32 gave 3200/s; 44 deliver it",
    );
    // What the knee guard checks the cut against: the better reading, and the count it came from.
    expect([rig.ss.cutFromX, rig.ss.cutFromN]).toEqual([4000, 64]);
    expect(rig.ss.active).toBe(false);
    // Spent: no new slow start while this backlog lasts.
    rig.run(200);
    expect(rig.changes.at(-1)).toBe(cut);
    expect(rig.ss.eager).toBe(false);
  });

  it("cuts at unloaded speed when that needs fewer workers: the mean call of the rounds that scaled", () => {
    // Rounds of 1, 4 and 16 workers (and 32, halfway back from 64) each gave 100/s a worker and
    // timed 8 ms calls; 64 fell short with calls that waited. 4,000/s at 8 ms is 32 workers, +10 %.
    const rig = new Rig();
    rig.rate = (n) => Math.min(n, 40) * 100;
    rig.callMs = (n) => (n <= 40 ? 8 : 10 * (n / 40));
    rig.baseS = 6; // the policy's least block mean: not taken over the rounds' own calls
    rig.run(200);
    expect(rig.changes.at(-1)).toEqual([expect.any(Number), Cut, 36]);
    expect(rig.ss.cutUnloadedS).toBeCloseTo(8, 9);
  });

  it("gives the CV of the calls its unloaded rounds timed, or -1 for fewer than 8 of them", () => {
    const cut = (cv: number, timedShare = 1) => {
      const rig = new Rig();
      rig.rate = (n) => Math.min(n, 40) * 100;
      rig.callMs = (n) => (n <= 40 ? 8 : 10 * (n / 40));
      rig.cv = cv;
      rig.timedShare = timedShare;
      rig.run(200);
      expect(rig.changes.at(-1)?.[1]).toBe(Cut);
      return rig.ss.cutUnloadedCv;
    };
    expect(cut(0.3)).toBeCloseTo(0.3, 6);
    expect(cut(0)).toBeCloseTo(0, 6);
    // One completion in a hundred timed: too few calls to tell their spread.
    expect(cut(0.3, 0.01)).toBe(-1);
  });

  it("pools the rounds' calls by weight, not the least of their means", () => {
    // 5 ms calls at one worker, 7 at 4, 8 at 16, 10 at 32: the one worker's few calls weigh little.
    const rig = new Rig();
    rig.rate = (n) => Math.min(n, 40) * 100;
    rig.callMs = (n) => (n === 1 ? 5 : n === 4 ? 7 : n === 16 ? 8 : 10 * Math.max(1, n / 40));
    rig.run(200);
    const s0 = rig.ss.cutUnloadedS;
    expect(s0).toBeGreaterThan(8);
    expect(s0).toBeLessThan(10);
    expect(rig.changes.at(-1)).toEqual([expect.any(Number), Cut, Math.ceil(4000 * s0 * 1.1e-3)]);
  });

  it("takes the least call time seen while the rounds that scaled timed fewer than 16 calls", () => {
    // One completion in a hundred timed: too few to pool. The least seen is the planning mean of
    // the first round (8 ms): 4,000/s at 8 ms, +10 %.
    const rig = new Rig();
    rig.timedShare = 0.01;
    rig.rate = (n) => Math.min(n, 40) * 100;
    rig.callMs = (n) => (n === 1 ? 8 : 10 * Math.max(1, n / 40));
    rig.run(200);
    expect(rig.changes.at(-1)).toEqual([expect.any(Number), Cut, 36]);
    // And with no call time below the rate's 10 ms, the cut is at the rate: 40 workers, +10 %.
    const flat = new Rig();
    flat.timedShare = 0.01;
    flat.rate = (n) => Math.min(n, 40) * 100;
    flat.callMs = (n) => 10 * Math.max(1, n / 40);
    flat.run(200);
    expect(flat.changes.at(-1)).toEqual([expect.any(Number), Cut, 44]);
  });

  it("cuts at the last good round's rate a worker when unloaded speed would need more", () => {
    // The planning mean (20 ms, stale) says a worker could give only 50/s, yet each gave 100/s;
    // the stage times no items, so no round knows its own mean.
    // (A mean that long would say 88.)
    const rig = new Rig();
    rig.n = 2;
    rig.planMs = 20;
    rig.timing = false;
    rig.rate = (n) => Math.min(n, 40) * 100;
    rig.run(200);
    expect(rig.changes.at(-1)).toEqual([expect.any(Number), Cut, 44]);
  });

  it("cuts on a second look halfway back that falls short too, without going back up", () => {
    // 40 slots again, from 2 workers: 8, 32, then 128 at 31/s a worker. Halfway back, 64 give
    // 62.5/s a worker: short of 75 % of 100 there too, so the knee is below 64 — and calls never
    // wait behind 128 workers for a second round (they would take 32 ms; at 64, 16 ms).
    const rig = fortySlots();
    expect(rig.changes.map(([, m, n]) => [m, n])).toEqual([
      [Grow, 8],
      [Grow, 32],
      [Grow, 128],
      [Recheck, 64],
      [Cut, 44],
    ]);
    expect(rig.ss.why).toBe(
      "slow start found the knee: 128 workers gave 4000/s, 64 gave 4000/s, 32 gave 3200/s; 44 deliver it",
    );
  });

  it("makes a second look count three completions a worker, where a round counts one", () => {
    // Halfway back at 64 (16 ms calls, 4,000/s): 64 completions take 16 ms, 192 take 48 ms, after
    // the few ms the round waits for the newest workers' first completions.
    const rig = fortySlots();
    const at = (move: SlowStartMove) => rig.moves.find(([, m]) => m === move)![0];
    expect(at(Cut) - at(Recheck)).toBeGreaterThanOrEqual(48);
    expect(at(Cut) - at(Recheck)).toBeLessThan(48 + 10);
    const grown = rig.moves.filter(([, m]) => m === Grow).map(([t]) => t);
    // 8 → 32 (10 ms calls): half a call and one call time (32 completions in 10 ms) later.
    expect(grown[2]! - grown[1]!).toBeLessThan(5 + 10 + 4);
  });

  it("holds a reading to its own call time from two timed calls (a worker times its first 8)", () => {
    // 2 workers of 20 ms calls "give" 300/s in a round that timed 2–3 of its calls: held to
    // 1.1 × 2 / 20 ms = 110/s.
    const rig = new Rig();
    rig.n = 2;
    rig.callMs = () => 20;
    rig.rate = (n) => (n === 2 ? 300 : n * 50);
    rig.timedShare = 0.4;
    rig.run(40);
    expect(rig.changes[0]?.[1]).toBe(Grow);
    expect(rig.ss.why).toMatch(/^slow start: queue full, 2 workers gave 110\/s/);
  });

  it("sizes the cut for the better of its two readings, and says which count gave it", () => {
    // 128 workers read 4,200/s once (a burst), halfway back 64 give 4,000/s: 62.5/s a worker.
    const rig = fortySlots(4200);
    expect(rig.changes.map(([, m, n]) => [m, n])).toEqual([
      [Grow, 8],
      [Grow, 32],
      [Grow, 128],
      [Recheck, 64],
      [Cut, 47], // 4,200/s at 100/s a worker, +10 %
    ]);
    expect(rig.ss.cutFromX).toBeCloseTo(4200, 6);
    expect(rig.ss.cutFromN).toBe(128);
  });

  it("holds a reading to what n workers give at the round's own call time (a cohort too many)", () => {
    // 128 workers read 6,000/s once, yet their calls took 32 ms: 128 of them give 4,000/s, and
    // a reading is held to 1.1 × that, 4,400/s.
    const rig = fortySlots(6000);
    expect(rig.changes.at(-1)).toEqual([expect.any(Number), Cut, 49]);
    expect(rig.ss.cutFromX).toBeCloseTo(4400, 6);
    expect(rig.ss.cutFromN).toBe(128);
  });

  it("measures the same count again when halfway back is no count between (a step of one)", () => {
    // Work that never awaits, and room for two workers only: 1 → 2 gives nothing; halfway back
    // is the last good count itself, so 2 is measured once more, then cut.
    const rig = new Rig();
    rig.max = 2;
    rig.rate = () => 1000;
    rig.callMs = () => 1;
    rig.s = 1;
    rig.run(40);
    expect(rig.changes.map(([, m, n]) => [m, n])).toEqual([
      [Grow, 2],
      [Cut, 1],
    ]);
  });

  it("looks twice even below half of the best, then cuts (a stall reads like that for a round)", () => {
    // Work that never awaits: 1,000/s at any count.
    const rig = new Rig();
    rig.rate = () => 1000;
    rig.callMs = () => 1;
    rig.s = 1;
    rig.run(20);
    expect(rig.changes.map(([, m, n]) => [m, n])).toEqual([
      [Grow, 4],
      [Recheck, 2],
      [Cut, 1],
    ]);
    expect(rig.ss.why).toBe(
      "slow start found the knee: 4 workers gave 1000/s, 2 gave 1000/s, 1 gave 1000/s; 1 deliver it",
    );
  });

  it("keeps its growth when the second look is good and the count that fell short is good again", () => {
    const rig = new Rig();
    // The first round at 16 (30–52 ms) gives 60/s a worker; halfway back (8) and 16 again, 100/s.
    rig.rate = (n) => (n === 16 && rig.now <= 55 ? 16 * 60 : n * 100);
    rig.run(150);
    expect(rig.changes.map(([, m, n]) => [m, n])).toEqual([
      [Grow, 4],
      [Grow, 16],
      [Recheck, 8],
      [Grow, 16],
      [Grow, 64],
      [Grow, 256],
    ]);
  });

  it("holds a round while workers that left still finish their items", () => {
    const rig = new Rig();
    rig.st.totalWorkers = 3; // one worker, and two leaving after their current item
    expect(rig.run(100)).toBe(Hold);
    expect(rig.changes).toEqual([]);
    rig.st.totalWorkers = 1;
    rig.run(20);
    // Settled from the last step with workers leaving (100 ms): 5 + 10 ms later.
    expect(rig.changes).toEqual([[expect.any(Number), Grow, 4]]);
    expect(rig.changes[0]![0]).toBeGreaterThanOrEqual(115);
  });

  it("cuts to the last good round's count when the failing round gave no more throughput than it", () => {
    // 4 → 16 workers gives 1.05 × the throughput: at 100/s a worker that would be 17, but no more
    // than 4 workers' throughput (with headroom) came of it.
    const rig = new Rig();
    rig.n = 4; // a first round that times enough items to be the reference
    rig.rate = (n) => (n <= 4 ? n * 100 : 420);
    rig.run(200); // rounds at 16 wait for 16 completions at 420/s, twice
    expect(rig.changes.at(-1)).toEqual([expect.any(Number), Cut, 4]);
  });
});

describe("when slow start runs", () => {
  it("starts with the queue half full, not below", () => {
    const half = new Rig();
    half.st.queueLength = 32;
    expect(half.run(0)).toBe(Hold);
    expect(half.ss.active).toBe(true);
    const under = new Rig();
    under.st.queueLength = 31;
    expect(under.run(0)).toBe(Off);
    expect(under.ss.eager).toBe(true); // 10 % full: the layer watches every event
  });

  it("takes a backlog no arrival added to for a call time as a queue of 16 calls a worker", () => {
    // A 400-item job queued whole into a queue of 1,024 (39 % full): no slow start while items
    // arrive; once none has for a call time (10 ms), 400 items are 12 queues of 16 calls for 2 workers.
    const job = (queueLength: number, n: number, arriving: boolean) => {
      const rig = new Rig();
      rig.st.queueCapacity = 1024;
      rig.st.queueLength = queueLength;
      rig.n = n;
      let move = rig.run(0);
      for (let t = 0; t < 12; t++) {
        if (arriving) rig.st.received += 1;
        move = rig.run(1);
      }
      return move;
    };
    expect(job(400, 2, false)).toBe(Hold);
    expect(job(400, 2, true)).toBe(Off);
    // From 64 items, half of 16 calls a worker: 8 a worker to start, 4 to go on.
    expect(job(63, 2, false)).toBe(Off);
    expect(job(64, 9, false)).toBe(Off);
    expect(job(64, 8, false)).toBe(Hold);
    // Going on while it holds 4 calls a worker: 32 workers (whose round never ends here) go on at
    // 128 items and stop at 127.
    const drained = new Rig();
    drained.st.queueCapacity = 1024;
    drained.st.queueLength = 256;
    drained.n = 32;
    drained.rate = () => 0;
    expect(drained.run(20)).toBe(Hold);
    drained.st.queueLength = 128;
    expect(drained.run(0)).toBe(Hold);
    drained.st.queueLength = 127;
    expect(drained.run(0)).toBe(Off);
  });

  it("goes on down to a quarter full, and ends below it", () => {
    const rig = new Rig();
    rig.run(20);
    rig.st.queueLength = 16;
    expect(rig.run(0)).not.toBe(Off);
    rig.st.queueLength = 15;
    expect(rig.run(0)).toBe(Off);
    expect(rig.ss.active).toBe(false);
  });

  it("watches from 10 % full", () => {
    const rig = new Rig();
    rig.st.queueCapacity = 100;
    rig.st.queueLength = 10;
    rig.run(0);
    expect(rig.ss.eager).toBe(true);
    rig.st.queueLength = 9;
    rig.run(0);
    expect(rig.ss.eager).toBe(false);
  });

  it("never runs for an unbounded queue or one of no capacity", () => {
    const unbounded = new Rig();
    unbounded.st.queueCapacity = Number.POSITIVE_INFINITY;
    unbounded.st.queueLength = 1000;
    expect(unbounded.run(0)).toBe(Off);
    const none = new Rig();
    none.st.queueCapacity = 0;
    expect(none.run(0)).toBe(Off);
  });

  it("ends when workers block on a full downstream queue, now or lately (the caller says)", () => {
    const now = new Rig();
    now.run(10);
    now.st.blockedWorkers = 1;
    expect(now.run(0)).toBe(Off);
    const lately = new Rig();
    lately.run(10);
    expect(lately.ss.step(lately.st, lately.n, lately.s, lately.max, false, 0, true)).toBe(Off);
    expect(lately.ss.active).toBe(false);
    lately.st.avgBlockedWorkers = 5; // the 1 s average is no longer read: it forgets too slowly
    expect(lately.run(0)).not.toBe(Off);
  });

  it("waits while a knee found earlier holds, and at zero workers", () => {
    const held = new Rig();
    held.held = true;
    expect(held.run(50)).toBe(Off);
    held.held = false;
    expect(held.run(0)).toBe(Hold);
    const zero = new Rig();
    zero.n = 0;
    expect(zero.run(0)).toBe(Off);
  });

  it("once spent, starts again only after the queue emptied", () => {
    const rig = new Rig();
    rig.run(5);
    rig.ss.spend();
    expect(rig.ss.active).toBe(false);
    expect(rig.run(50)).toBe(Off);
    expect(rig.ss.eager).toBe(false);
    rig.st.queueLength = 10; // below a quarter, not empty: still spent
    rig.run(0);
    rig.st.queueLength = 64;
    expect(rig.run(0)).toBe(Off);
    rig.st.queueLength = 0;
    rig.run(0);
    rig.st.queueLength = 64;
    expect(rig.run(0)).toBe(Hold);
  });

  it("starts each slow start afresh: the best rate of the last one is forgotten", () => {
    const rig = new Rig();
    rig.run(20); // one round at 100/s a worker: 4 workers
    rig.st.queueLength = 0;
    rig.run(0);
    rig.st.queueLength = 64;
    rig.rate = (n) => n * 30; // much slower now: a fresh start grows, it does not call this a knee
    rig.run(200);
    expect(rig.changes.at(-1)![1]).toBe(Grow);
  });
});
