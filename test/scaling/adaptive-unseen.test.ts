import { describe, expect, it } from "vitest";
import { AdaptiveScaling } from "../../src/index.js";
import type { StageStats } from "../../src/index.js";
import { stageStats } from "../helpers.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Drives a strategy over a simulated stage in steps of `stepMs`: `rate(n)` is the completions per
 * second `n` workers deliver, `callMs(n)` the time a call takes. Every delta is applied at once.
 * Returns the counts after each change, with the reason.
 */
function drive(
  s: AdaptiveScaling,
  st: Mutable<StageStats>,
  untilMs: number,
  rate: (n: number) => number,
  callMs: (n: number) => number,
  stepMs = 2,
  each?: (t: number) => void,
): [number, number, string][] {
  const seen: [number, number, string][] = [];
  let carry = 0;
  for (let t = 0; t <= untilMs; t += stepMs) {
    st.now = t;
    each?.(t);
    const done = (rate(st.activeWorkers) * stepMs) / 1000 + carry;
    const whole = Math.floor(done);
    carry = done - whole;
    st.processed += whole;
    st.timedItems += whole;
    st.timedMs += whole * callMs(st.activeWorkers);
    st.processingTimeMs = callMs(st.activeWorkers);
    const d = (t % 100 === 0 ? s.onTick(st) : 0) || s.onDequeue(st);
    if (d !== 0) {
      st.activeWorkers += d;
      seen.push([t, st.activeWorkers, s.lastReason]);
    }
  }
  return seen;
}

/** A batch job: the source is blocked on a full queue of 64. */
const batch = (n = 1): Mutable<StageStats> =>
  stageStats({
    activeWorkers: n,
    busyWorkers: n,
    queueLength: 64,
    queueCapacity: 64,
    oldestItemAgeMs: 50,
    processingTimeMs: 10,
  }) as Mutable<StageStats>;

describe("AdaptiveScaling: slow start while demand is censored", () => {
  it("multiplies the pool while throughput per worker holds, up to maxWorkers", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256 });
    const seen = drive(
      s,
      batch(),
      600,
      (n) => n * 100,
      () => 10,
    );
    const slow = seen.filter(([, , why]) => why.startsWith("slow start:"));
    expect(slow.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < slow.length; i++) expect(slow[i]![1]).toBeGreaterThanOrEqual(2 * slow[i - 1]![1]);
    expect(seen.at(-1)![1]).toBe(256);
    // Each round waits a service time at least: 256 is reached in rounds, not at once.
    expect(seen.findIndex(([, n]) => n === 256)).toBeGreaterThan(2);
  });

  it("finds the knee of a dependency with 40 slots and cuts to it, with a little headroom", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256 });
    const seen = drive(
      s,
      batch(),
      1500,
      (n) => Math.min(n, 40) * 100,
      (n) => 10 * Math.max(1, n / 40),
    );
    const cut = seen.find(([, , why]) => why.startsWith("slow start found the knee"));
    expect(cut).toBeDefined();
    expect(cut![1]).toBeGreaterThanOrEqual(40);
    expect(cut![1]).toBeLessThanOrEqual(48);
    // And holds there: no growth after the cut.
    const after = seen.slice(seen.indexOf(cut!) + 1);
    expect(after.every(([, n]) => n <= cut![1])).toBe(true);
  });

  it("holds a stage whose work never awaits at one or two workers (more buy nothing)", () => {
    const s = new AdaptiveScaling({ maxWorkers: 64 });
    const seen = drive(
      s,
      batch(),
      2000,
      () => 1000,
      () => 1,
      1,
    );
    expect(seen.some(([, , why]) => why.startsWith("slow start found the knee"))).toBe(true);
    expect(seen.at(-1)![1]).toBeLessThanOrEqual(2);
  });

  it("does not start while workers block on a full downstream queue", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256 });
    const st = batch(4);
    st.blockedWorkers = 2;
    st.avgBlockedWorkers = 2;
    const seen = drive(
      s,
      st,
      500,
      (n) => n * 100,
      () => 10,
    );
    expect(seen.some(([, , why]) => why.startsWith("slow start"))).toBe(false);
  });

  it("can be turned off", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256, slowStart: false });
    const seen = drive(
      s,
      batch(),
      600,
      (n) => n * 100,
      () => 10,
    );
    expect(seen.some(([, , why]) => why.startsWith("slow start"))).toBe(false);
  });
});

describe("AdaptiveScaling: overload", () => {
  /**
   * 3,000/s offered to an API that refuses calls past 50 in flight: each worker past 50 has a call
   * refused about every 100 ms (it fails at once and waits out a backoff).
   */
  function api(s: AdaptiveScaling, st: Mutable<StageStats>, untilMs: number) {
    let owed = 0;
    return drive(
      s,
      st,
      untilMs,
      (n) => Math.min(n, 50) * 50,
      () => 20,
      10,
      () => {
        if (st.activeWorkers <= 50) return;
        owed += (st.activeWorkers - 50) / 10;
        const whole = Math.floor(owed);
        owed -= whole;
        if (whole > 0) {
          st.overloads += whole;
          st.lastOverloadAt = st.now;
        }
      },
    );
  }

  it("cuts by the calls that overloaded, grows back one worker a second, and holds below the count that overloaded", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256 });
    const st = stageStats({
      activeWorkers: 64,
      queueLength: 1000,
      queueCapacity: 1024,
      oldestItemAgeMs: 300,
      arrivalRate: 3000,
    }) as Mutable<StageStats>;
    const seen = api(s, st, 25_000);
    expect(seen[0]![2]).toMatch(/^1 call overloaded \(overloadOn\) at 64 workers → 63$/);
    // Cut after cut, once a round, down to where nothing overloads…
    const lastCut = seen.map(([, , why]) => why.includes("overloaded")).lastIndexOf(true);
    expect(seen[lastCut]![1]).toBeLessThanOrEqual(50);
    // …then one worker a second (never a jump), and never again to the count that overloaded.
    const after = seen.slice(lastCut + 1);
    for (let i = 1; i < after.length; i++) {
      expect(after[i]![1] - after[i - 1]![1]).toBe(1);
      expect(after[i]![0] - after[i - 1]![0]).toBeGreaterThanOrEqual(1000);
    }
    expect(seen.slice(lastCut).every(([, n]) => n <= 50)).toBe(true);
    expect(seen.at(-1)![1]).toBe(50);
  });

  it("never cuts below overloadDecrease of the pool at once", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256, overloadDecrease: 0.9 });
    const st = stageStats({
      activeWorkers: 100,
      queueLength: 10,
      queueCapacity: 1024,
    }) as Mutable<StageStats>;
    st.now = 1000;
    st.overloads = 60;
    st.lastOverloadAt = 1000;
    expect(s.onTick(st)).toBe(-10);
  });

  it("is off with overloadDecrease 1", () => {
    const run = (overloads: number) => {
      const s = new AdaptiveScaling({ maxWorkers: 256, overloadDecrease: 1 });
      const st = stageStats({
        activeWorkers: 100,
        queueLength: 10,
        queueCapacity: 1024,
      }) as Mutable<StageStats>;
      st.now = 1000;
      st.overloads = overloads;
      st.lastOverloadAt = overloads > 0 ? 1000 : null;
      return [s.onTick(st), s.lastReason] as const;
    };
    expect(run(60)).toEqual(run(0));
  });
});

describe("AdaptiveScaling: bursts", () => {
  it("shrinks to the minimum after idleShrinkMs of quiet and comes back at once to what the last spell needed", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256 });
    const st = stageStats({ activeWorkers: 25, processingTimeMs: 10 }) as Mutable<StageStats>;
    const seen: [number, number, string][] = [];
    let arriving = true;
    for (let t = 0; t <= 6000; t += 50) {
      st.now = t;
      if (t === 2000) arriving = false;
      if (t === 5000) arriving = true;
      if (arriving) {
        st.received += 100; // 2,000/s
        st.processed += 100;
        st.busyWorkers = 20;
        st.queueLength = t === 5000 ? 40 : 0;
      } else {
        st.busyWorkers = 0;
        st.queueLength = 0;
      }
      const d = s.onTick(st);
      if (d !== 0) {
        st.activeWorkers += d;
        seen.push([t, st.activeWorkers, s.lastReason]);
      }
    }
    const idle = seen.find(([, , why]) => why.startsWith("idle for"));
    expect(idle).toBeDefined();
    expect(idle![1]).toBe(1);
    expect(idle![0]).toBeGreaterThanOrEqual(3000); // after a second of quiet, not the 5 s down window
    expect(idle![0]).toBeLessThan(4000);
    const back = seen.find(([, , why]) => why.startsWith("items back after idle"));
    expect(back).toBeDefined();
    expect(back![0]).toBe(5000);
    expect(back![1]).toBeGreaterThanOrEqual(20); // 2,000/s × 10 ms = 20, plus √20
    expect(back![1]).toBeLessThanOrEqual(26);
  });

  it("keeps the down window when idleShrinkMs is 0", () => {
    const s = new AdaptiveScaling({ maxWorkers: 256, idleShrinkMs: 0 });
    const st = stageStats({ activeWorkers: 25, processingTimeMs: 10 }) as Mutable<StageStats>;
    for (let t = 0; t <= 4000; t += 50) {
      st.now = t;
      if (t < 1000) {
        st.received += 100; // 2,000/s, then nothing
        st.processed += 100;
        st.busyWorkers = 20;
      } else st.busyWorkers = 0;
      const d = s.onTick(st);
      if (d !== 0) expect(s.lastReason.startsWith("idle")).toBe(false);
      st.activeWorkers += d;
    }
    expect(st.activeWorkers).toBeGreaterThanOrEqual(20); // the 5 s window has not passed
  });
});
