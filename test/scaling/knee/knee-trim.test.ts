import { describe, expect, it } from "vitest";
import { KneeRig } from "./knee-rig.js";

/**
 * A knee slow start found is sized from short rounds (one may count a cohort too many): the check
 * at the cut reads it again over a longer window, trims it to the count that delivers that
 * throughput at unloaded speed, checks the trim in turn, or ends the hold where no knee is.
 */
/**
 * A pool slow start cut to `n` (a round of `fromN` workers read `fromX`/s; unloaded calls of 10 ms
 * with a CV of `unloadedCv`), measured for 600 ms completing `x`/s of calls taking `callMs` with a CV of `cv`.
 */
function heldCut(
  n: number,
  x: number,
  callMs: number,
  cv: number,
  o: { fromX?: number; fromN?: number; unloadedCv?: number | undefined } = {},
) {
  const rig = new KneeRig(n, { holdMs: 5000 });
  rig.rate = () => x;
  rig.callMs = () => callMs;
  rig.cv = cv;
  rig.guard.hold(n, rig.now, o.fromX ?? 4900, o.fromN ?? 128, 10, o.unloadedCv);
  rig.run(600);
  return rig;
}

describe("a knee slow start found, read again over the check's longer window", () => {
  /** A pool cut to `cut` by slow start (from 128 workers reading `fromX`/s); the stage gives `x`/s. */
  const afterCut = (cut: number, x: number, unloadedS: number, baseS = 0) => {
    const rig = new KneeRig(cut, { holdMs: 5000 });
    rig.baseS = baseS;
    rig.rate = () => x;
    rig.guard.hold(cut, rig.now, 4900, 128, unloadedS);
    rig.run(600);
    return rig;
  };

  it("trims a cut sized from an over-read round to the count that gives the throughput at unloaded speed", () => {
    // A round read 4,900/s from a 40-slot dependency of 10 ms calls (a cohort too many) and the
    // cut was sized 54; the check's window reads 4,000/s: 44 workers deliver that.
    const rig = afterCut(54, 4000, 10);
    const trim = rig.seen.find((v) => v.why?.startsWith("knee trimmed"));
    expect(trim?.why).toBe("knee trimmed: 54 workers gave 4000/s, 44 deliver it at unloaded speed");
    expect(trim?.out).toBe(44);
    expect(trim?.forced).toBe(true);
  });

  it("checks the trim in turn, and goes back to the cut when the trim loses throughput", () => {
    const rig = afterCut(54, 4000, 10);
    rig.n = 44;
    rig.rate = (n) => (n >= 54 ? 4000 : 3400); // a limit that gave way: 15 % lost at 44
    const back = rig.until("soft knee");
    expect(back.why).toBe("soft knee: 44 workers gave 3400/s, 54 gave 4000/s; back to 54");
    expect(back.out).toBe(54);
  });

  it("checks the trim against its own long window's noise, once (not twice, as a reading from short rounds)", () => {
    // 1,000/s from 20 workers of 10 ms calls: trimmed to 11. There 850/s: 15 % lost, over 85
    // completions a window (10.8 % of noise) — beyond one noise, within two.
    const rig = new KneeRig(20, { holdMs: 5000 });
    rig.rate = () => 1000;
    rig.guard.hold(20, rig.now, 1100, 40, 10);
    rig.run(600);
    expect(rig.seen.find((v) => v.why?.startsWith("knee trimmed"))?.out).toBe(11);
    rig.n = 11;
    rig.rate = (n) => (n >= 20 ? 1000 : 850);
    const back = rig.until("soft knee");
    expect(back.why).toBe("soft knee: 11 workers gave 850/s, 20 gave 1000/s; back to 20");
  });

  it("trims nothing when the queue emptied in the check's window (the reading is demand met)", () => {
    const rig = new KneeRig(54, { holdMs: 5000 });
    rig.rate = () => 4000;
    rig.st.queueLength = 0;
    rig.guard.hold(54, rig.now, 4900, 128, 10);
    rig.run(600);
    expect(rig.seen.some((v) => v.why?.startsWith("knee trimmed"))).toBe(false);
  });

  it("takes slow start's unloaded time before the policy's (a least of noisy means), and trims nothing without one", () => {
    const trimmed = (unloadedS: number, baseS: number) =>
      afterCut(54, 4000, unloadedS, baseS).seen.find((v) => v.why?.startsWith("knee trimmed"))?.out;
    // 4,000/s at 10 ms, +10 %: 44; at 11 ms: 49.
    expect(trimmed(10, 8)).toBe(44);
    // At 11 ms: 49 — a trim of 9 %, within its own 10 % of headroom: not worth its risk, not made.
    expect(trimmed(11, 10)).toBeUndefined();
    expect(trimmed(10.5, 10)).toBe(47); // 4,000/s at 10.5 ms, +10 %: a trim of 13 %
    expect(trimmed(0, 10)).toBe(44);
    expect(trimmed(0, 0)).toBeUndefined();
  });

  it("sizes the trim's headroom by the noise of the call times, and reads X = N / S where that is the closer reading", () => {
    /** Cut to 54 from a round that over-read; the check's window counts `x`/s of calls taking 13.5 ms with a CV of `cv`. */
    const trimmed = (x: number, cv: number) => {
      const rig = new KneeRig(54, { holdMs: 5000 });
      rig.rate = () => x;
      rig.callMs = () => 13.5;
      rig.cv = cv;
      rig.guard.hold(54, rig.now, 4900, 128, 10);
      rig.run(600);
      return rig.seen.find((v) => v.why?.startsWith("knee trimmed"));
    };
    // Calls alike: 54 / 13.5 ms = 4,000/s, at 10 ms unloaded 40 workers, + 1 % (the floor of a mean's noise).
    expect(trimmed(4000, 0)?.why).toBe(
      "knee trimmed: 54 workers gave 4000/s, 41 deliver it at unloaded speed",
    );
    // A count that over-reads (4,300/s) is not what the trim is sized from: the call times say 4,000/s.
    expect(trimmed(4300, 0)?.out).toBe(41);
    // But N / S short of the count by more than twice its noise reads late timers, not the limit:
    // 6,000/s counted need 61 workers, and 54 stay.
    expect(trimmed(6000, 0)).toBeUndefined();
    // A CV of 0.2: a quarter of it for the unloaded time's noise (from ≥ 16 calls), 1 % for the window's mean: +6 %.
    expect(trimmed(4000, 0.2)?.out).toBe(43);
    // Calls as spread as a CV of 1: the headroom is its most, 10 %.
    expect(trimmed(4000, 1)?.out).toBe(44);
  });

  it("ends the hold when calls at the cut run as quick as unloaded ones (no knee is there), and a failed probe comes back to it", () => {
    /** Slow start cut to 5 (rounds read 450/s at 8); the stage gives 500/s of calls taking `callMs`, with a CV of `cv`. */
    const cutAt5 = (callMs: number, cv: number) => {
      const rig = new KneeRig(5, { holdMs: 5000 });
      rig.rate = () => 500;
      rig.callMs = () => callMs;
      rig.cv = cv;
      rig.baseS = 10;
      rig.guard.hold(5, rig.now, 450, 8, 10);
      rig.run(600);
      return rig;
    };
    const released = cutAt5(10, 0);
    expect(released.seen.map((v) => v.why)).toContain(
      "no knee at 5 workers: calls take 10.0 ms, as unloaded (10.0 ms); probing on",
    );
    expect(released.guard.held(released.now)).toBe(false);
    expect(released.guard.growthCap(5, 100)).toBe(7); // one +25 % probe
    // The probe 5 → 7 gives nothing (a limit at 5 after all), read through noisy calls: back to 5, not
    // to the estimate above it (500/s at 10 ms, +21 %: 6).
    released.callMs = (n) => (n > 5 ? 14 : 10);
    released.cv = 1;
    expect(released.growTo(7, 600)?.out).toBe(5);
    // Calls 6 % slower than unloaded, read within 1 %: something queues them; the cut holds.
    const knee = cutAt5(10.6, 0);
    expect(knee.seen.some((v) => v.why?.startsWith("no knee"))).toBe(false);
    expect(knee.guard.held(knee.now)).toBe(true);
  });

  it("sizes the headroom by the lesser CV of unloaded calls (slow start's) and of calls at the cut", () => {
    /** Cut to 54; calls at the cut take 13.5 ms with a CV of `cv` (they wait at the limit); slow start timed unloaded calls with `unloadedCv`. */
    const trimmed = (unloadedCv?: number, cv = 0.4) =>
      heldCut(54, 4000, 13.5, cv, { unloadedCv }).seen.find((v) => v.why?.startsWith("knee trimmed"))?.out;
    // Unknown: the calls at the cut stand in, a tenth of headroom (0.4 / 4 + their mean's 2 %, capped): 44.
    expect(trimmed()).toBe(44);
    // Unloaded calls alike: only the window's mean's noise (0.4 / √400 = 2 %): 4,000/s at 10 ms, +2 %: 41.
    expect(trimmed(0)).toBe(41);
    expect(trimmed(0.12)).toBe(42); // + 3 % + 2 %
    // Rounds at several counts pooled may read more spread than the calls at the cut: the lesser
    // stands (0.1 / 4 + 1 %: 42, where 0.3 / 4 + 1 % would give 44).
    expect(trimmed(0.3, 0.1)).toBe(42);
  });

  it("checks a trim read by N / S by N / S, like with like: counts a worker apart differ by more than a worker's throughput", () => {
    /** Trimmed 54 → 41 (calls alike, 4,000/s by their times, 4,300/s by the count); at 41 the count reads `x` of calls taking `ms`. */
    const atTrim = (x: number, ms: number) => {
      const rig = heldCut(54, 4300, 13.5, 0, { unloadedCv: 0 });
      expect(rig.seen.find((v) => v.why?.startsWith("knee trimmed"))?.out).toBe(41);
      rig.n = 41;
      rig.rate = () => x;
      rig.callMs = () => ms;
      rig.run(1000);
      return rig.seen.find((v) => v.why?.startsWith("soft knee"))?.why;
    };
    // The count reads 3,600/s (16 % less) while 41 calls of 10.25 ms deliver 4,000/s: the trim holds.
    expect(atTrim(3600, 10.25)).toBeUndefined();
    // A trim sized from the count (its calls too spread for N / S) is checked by both readings:
    // the count's 4,000/s at the trim stands against 3,500/s by N / S.
    const byCount = heldCut(54, 4000, 13.5, 1, { unloadedCv: 0 });
    const trim = byCount.seen.find((v) => v.why?.startsWith("knee trimmed"));
    expect(trim?.why).toBe("knee trimmed: 54 workers gave 4000/s, 42 deliver it at unloaded speed");
    byCount.n = 42;
    byCount.callMs = () => 12;
    byCount.cv = 0;
    byCount.run(1000);
    expect(byCount.seen.some((v) => v.why?.startsWith("soft knee"))).toBe(false);
    // Calls of 12 ms at 41: 3,417/s by N / S, 15 % lost, back to the cut — whatever the count reads
    // (a trim that read short on a loaded machine must come undone).
    expect(atTrim(4000, 12)).toBe("soft knee: 41 workers gave 3417/s, 54 gave 4000/s; back to 54");
  });

  it("checks a slow-start cut by both readings, count and N / S: a window's count that reads low is no loss", () => {
    /** Slow start cut 128 → 47 (a round read 4,322/s); at 47 the count reads `x`/s of calls alike taking `ms`. */
    const atCut = (x: number, ms: number) =>
      heldCut(47, x, ms, 0, { fromX: 4322, unloadedCv: 0 }).seen.find((v) => v.why?.startsWith("soft knee"))
        ?.why;
    // In real time the count of the window after the cut read 2,979/s; 47 calls of 11.75 ms deliver 4,000/s.
    expect(atCut(2979, 11.75)).toBeUndefined();
    // Calls of 16 ms: 2,938/s by N / S and 2,900/s by the count, 32 % less than the round: the limit gave way.
    expect(atCut(2900, 16)).toBe("soft knee: 47 workers gave 2938/s, 128 gave 4322/s; back to 128");
    expect(atCut(4000, 16)).toBeUndefined(); // the count's 4,000/s: no loss
  });

  it("leaves a cut that unloaded calls need", () => {
    // 54 workers at 10 ms give 5,400/s: nothing to trim.
    expect(afterCut(54, 5200, 10).seen.some((v) => v.why?.startsWith("knee trimmed"))).toBe(false);
  });
});
