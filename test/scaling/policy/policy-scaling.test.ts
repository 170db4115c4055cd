import { describe, expect, it } from "vitest";
import { POLICY_DEFAULTS, type PolicyOptions, resolvePolicy } from "../../../src/scaling/policy-options.js";
import { PolicyScaling } from "../../../src/index.js";
import type { StageStats } from "../../../src/index.js";
import { stageStats } from "../../helpers.js";

/** A strategy that recommends whatever the test sets: the layer alone is under test. */
class Wish extends PolicyScaling {
  want = 1;
  constructor(options: PolicyOptions = {}, guards = { knee: false, blocked: false }) {
    super(
      resolvePolicy(options, { ...POLICY_DEFAULTS, kneeGuard: guards.knee, blockedGuard: guards.blocked }),
      options,
    );
  }
  protected recommend(): number {
    return this.want;
  }
  protected explain(target: number): string {
    return `wished for ${target}`;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const stats = (o: Partial<StageStats>): Mutable<StageStats> => ({ ...stageStats(), ...o });

/** Applies a delta the way the controller would (active workers follow the decision at once). */
function tick(s: Wish, st: Mutable<StageStats>, now: number): number {
  st.now = now;
  const d = s.onTick(st);
  st.activeWorkers += d;
  st.totalWorkers = st.activeWorkers;
  return d;
}

describe("PolicyScaling (the layer every built-in goes through)", () => {
  it("ignores changes inside the tolerance band, judged on the fractional recommendation", () => {
    const s = new Wish({ maxWorkers: 100 });
    const st = stats({ activeWorkers: 10 });
    s.want = 10.9;
    expect(tick(s, st, 0)).toBe(0);
    s.want = 11.5;
    expect(tick(s, st, 100)).toBe(2);
    expect(s.lastReason).toBe("wished for 12");
  });

  it("limits growth to max(+100 %, +4) per growth period", () => {
    const s = new Wish({ maxWorkers: 1000 });
    const st = stats({ activeWorkers: 2 });
    s.want = 500;
    expect(tick(s, st, 0)).toBe(4); // 2 → 6: +4 beats +100 %
    st.now = 50;
    expect(s.onTick(st)).toBe(0); // same period, already at the cap
    expect(tick(s, st, 100)).toBe(6); // 6 → 12
    expect(tick(s, st, 200)).toBe(12); // 12 → 24
  });

  it("grows at once but shrinks only to the highest recommendation within the down window", () => {
    const s = new Wish({ maxWorkers: 100, downStabilizationMs: 5000 });
    const st = stats({ activeWorkers: 10 });
    s.want = 10;
    expect(tick(s, st, 0)).toBe(0);
    s.want = 2;
    expect(tick(s, st, 1000)).toBe(0); // the 10 of t=0 is still in the window
    expect(tick(s, st, 4900)).toBe(0);
    expect(tick(s, st, 5200)).toBe(-8); // t=0 left the window; only 2s remain
    s.want = 30;
    expect(tick(s, st, 5300)).toBe(4); // up is immediate (2 → 6, the growth limit)
  });

  it("keeps cooldownMs and dampening for compatibility", () => {
    const s = new Wish({ maxWorkers: 100, cooldownMs: 1000, dampening: 0.5, downStabilizationMs: 0 });
    const st = stats({ activeWorkers: 10 });
    s.want = 20;
    expect(tick(s, st, 0)).toBe(5); // +10 damped to +5
    expect(tick(s, st, 500)).toBe(0); // cooling down
    expect(tick(s, st, 1000)).toBe(2); // 15 → 20 is +5, damped to +2
  });

  it("evaluates on every 16th item event, and not more often than every 10 ms", () => {
    const s = new Wish({ maxWorkers: 100 });
    const st = stats({ activeWorkers: 1, now: -10 });
    s.want = 1;
    s.onTick(st); // from the first tick on (before it, every 16th event looks)
    st.now = 0;
    s.want = 3;
    const deltas: number[] = [];
    for (let i = 0; i < 32; i++) deltas.push(i % 2 ? s.onDequeue(st) : s.onEnqueue(st));
    expect(deltas.filter((d) => d !== 0)).toEqual([2]); // the 16th event; the 32nd is < 10 ms later
    expect(deltas.indexOf(2)).toBe(15);
  });

  it("caps a stage with blocked workers at busy + 1, at once, with hysteresis", () => {
    const s = new Wish({ maxWorkers: 100 }, { knee: false, blocked: true });
    const st = stats({ activeWorkers: 10, avgBusyWorkers: 3, blockedWorkers: 7, avgBlockedWorkers: 2 });
    s.want = 10;
    for (let t = 0; t < 500; t += 100) expect(tick(s, st, t)).toBe(0); // a spell shorter than 500 ms is waited out
    expect(tick(s, st, 500)).toBe(-6); // then no down window for blocked workers
    expect(s.lastReason).toMatch(/2\.0 workers blocked on a full downstream queue; 3\.0 busy/);
    s.want = 20;
    st.avgBlockedWorkers = 0.6; // still engaged above 0.5
    expect(tick(s, st, 600)).toBe(0);
    st.avgBlockedWorkers = 0.4; // let go, and free to grow once no worker was blocked lately
    st.blockedWorkers = 0;
    expect(tick(s, st, 700)).toBe(0);
    expect(tick(s, st, 850)).toBeGreaterThan(0);
  });

  it("leaves blocked workers alone when the guard is off", () => {
    const s = new Wish({ maxWorkers: 100 });
    const st = stats({ activeWorkers: 10, avgBusyWorkers: 3, avgBlockedWorkers: 2 });
    s.want = 10;
    expect(tick(s, st, 0)).toBe(0);
  });
});

describe("the knee guard", () => {
  /**
   * A backlogged stage whose completions per second are `rate(workers)`: the test drives time in
   * 50 ms ticks and advances `processed` as the rate says.
   */
  function run(rate: (workers: number) => number, untilMs: number, options: PolicyOptions = {}) {
    const s = new Wish({ maxWorkers: 256, ...options }, { knee: true, blocked: false });
    const st = stats({
      activeWorkers: 10,
      processingTimeMs: 10,
      queueLength: 500,
      oldestItemAgeMs: 200,
    });
    s.want = 200;
    const counts: [number, number, string][] = [];
    for (let t = 0; t <= untilMs; t += 50) {
      st.processed += (rate(st.activeWorkers) * 50) / 1000;
      const d = tick(s, st, t);
      if (d !== 0) counts.push([t, st.activeWorkers, s.lastReason]);
    }
    return counts;
  }

  it("keeps growth that raises throughput", () => {
    const counts = run((n) => n * 100, 2000);
    // 10 → 20 → 40 → 80 → 160: each step measured before the next.
    expect(counts.map(([, n]) => n)).toEqual([20, 40, 80, 160, 200]);
    expect(counts.every(([, , why]) => !why.includes("knee"))).toBe(true);
  });

  it("drops back to the knee when growth stops paying, and holds it", () => {
    // A dependency with 40 slots: throughput stops at 4000/s.
    const counts = run((n) => Math.min(n, 40) * 100, 3000);
    const ns = counts.map(([, n]) => n);
    expect(ns.slice(0, 4)).toEqual([20, 40, 80, 40]);
    const cut = counts[3]!;
    expect(cut[2]).toMatch(
      /^knee: 40 → 80 workers moved throughput 4000 → 4000\/s \(needed \+30%\); holding at 40$/,
    );
    expect(ns.slice(4)).toEqual([]); // held at 40 through the rest of the run
  });

  it("probes again with a small step after kneeHoldMs", () => {
    const counts = run((n) => Math.min(n, 40) * 100, 5000, { kneeHoldMs: 2000 });
    const ns = counts.map(([, n]) => n);
    expect(ns.slice(0, 4)).toEqual([20, 40, 80, 40]);
    expect(ns[4]).toBe(50); // +25 %, not +100 %
    expect(ns[5]).toBe(40); // and back, the knee confirmed
  });

  it("does not test growth from a count whose calls slowed on their own between its windows", () => {
    const s = new Wish({ maxWorkers: 256 }, { knee: true, blocked: false });
    const st = stats({ activeWorkers: 10, processingTimeMs: 10, queueLength: 500, oldestItemAgeMs: 200 });
    s.want = 10;
    const seen: string[] = [];
    for (let t = 0; t <= 4000; t += 50) {
      // A dependency slows on its own at t = 1 s (10 → 30 ms a call); the stage then wants more.
      const callMs = t < 1000 ? 10 : 30;
      if (t === 1000) s.want = 200;
      st.processingTimeMs = callMs;
      const done = (Math.min(st.activeWorkers, 10) * 1000 * 0.05) / callMs; // throughput flat past 10
      st.processed += done;
      st.timedItems += done;
      st.timedMs += done * callMs;
      if (tick(s, st, t) !== 0) seen.push(`${st.activeWorkers} ${s.lastReason}`);
    }
    // The first growth came from a count whose windows disagreed: untested, so no knee cut for it.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).not.toMatch(/knee/);
  });

  it("tests growth it did not make itself (the flow's worker budget granting workers)", () => {
    const s = new Wish({ maxWorkers: 256 }, { knee: true, blocked: false });
    const st = stats({ activeWorkers: 8, processingTimeMs: 25, queueLength: 500, oldestItemAgeMs: 300 });
    s.want = 8;
    let cut: string | null = null;
    for (let t = 0; t <= 2000; t += 50) {
      if (t === 600) {
        st.activeWorkers = 12; // granted from outside, after 8 was measured
        s.want = 12; // and the strategy is content with it
      }
      st.processed += (Math.min(st.activeWorkers, 8) * 40 * 50) / 1000; // 8 slots × 25 ms
      if (tick(s, st, t) < 0 && cut === null) cut = s.lastReason;
    }
    expect(cut).toMatch(/^knee: 8 → 12 workers moved throughput 320 → 320\/s/);
    expect(st.activeWorkers).toBe(8);
  });
});
