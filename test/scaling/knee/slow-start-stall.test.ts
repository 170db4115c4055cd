import { describe, expect, it } from "vitest";
import { AdaptiveScaling } from "../../../src/index.js";
import type { StageStats } from "../../../src/index.js";
import { stageStats } from "../../helpers.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Drives a strategy over a batch job (the source blocked on a full queue of 64) in steps of 1 ms:
 * `rate(n, t)` is the completions per second `n` workers deliver at `t`. Every delta is applied at once.
 */
function drive(s: AdaptiveScaling, untilMs: number, rate: (n: number, t: number) => number, callMs: number) {
  const st = stageStats({
    activeWorkers: 1,
    busyWorkers: 1,
    queueLength: 64,
    queueCapacity: 64,
    oldestItemAgeMs: 50,
    processingTimeMs: callMs,
  }) as Mutable<StageStats>;
  const seen: [number, number, string][] = [];
  let carry = 0;
  for (let t = 0; t <= untilMs; t++) {
    st.now = t;
    const done = rate(st.activeWorkers, t) / 1000 + carry;
    const whole = Math.floor(done);
    carry = done - whole;
    st.processed += whole;
    st.timedItems += whole;
    st.timedMs += whole * callMs;
    const d = (t % 100 === 0 ? s.onTick(st) : 0) || s.onDequeue(st);
    if (d !== 0) {
      st.activeWorkers += d;
      st.busyWorkers = st.activeWorkers;
      seen.push([t, st.activeWorkers, s.lastReason]);
    }
  }
  return seen;
}

describe("AdaptiveScaling: slow start on a noisy event loop", () => {
  // Real processes stall: a GC pause, a CPU shared with other processes. Seen on real timers
  // (20,000 items of 5 ms, maxWorkers 256, a loaded 2-core VM): one short round read as a knee
  // cut the pool to 13–97 workers and held it for kneeHoldMs, 2–10 s against 0.5–0.8 s for
  // FixedScaling(256) and ~4 s for FixedScaling(32).
  it("a single 15 ms stall of the whole process is not a knee of a stage that scales linearly", () => {
    const bad: string[] = [];
    for (let at = 0; at <= 300; at += 3) {
      const s = new AdaptiveScaling({ maxWorkers: 256 });
      // 5 ms calls, no limit behind them: n workers give n · 200/s, except nothing completes
      // during the stall.
      const seen = drive(s, 5000, (n, t) => (t >= at && t < at + 15 ? 0 : n * 200), 5);
      const end = seen.at(-1)![1];
      if (end < 128)
        bad.push(
          `stall at ${at} ms: ${end} workers at 5 s (${seen.find(([, , w]) => w.includes("knee"))?.[2]})`,
        );
    }
    expect(bad).toEqual([]);
  });
});
