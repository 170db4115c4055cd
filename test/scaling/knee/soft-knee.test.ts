import { describe, expect, it } from "vitest";
import { callCv, leastKnown, meanNoise } from "../../../src/scaling/knee/knee-estimate.js";
import { KneeRig } from "./knee-rig.js";

/**
 * A knee cut sized for a hard limit (the count that delivers the throughput at unloaded speed) is
 * checked once at the cut count: a limit that gives way as it is approached loses throughput
 * there, and the count measured to deliver it comes back.
 */
describe("the check of a knee cut", () => {
  /** A rig at `from` workers, measured, before a growth to `to`; calls take `callMs(n)`. */
  const stage = (from: number, callMs: (n: number) => number, baseS: number, cv?: number) => {
    const rig = new KneeRig(from, { holdMs: 5000 });
    rig.baseS = baseS;
    rig.callMs = callMs;
    // The calls' coefficient of variation (1 if not given: the noise of a mean as loose as that of a count).
    if (cv !== undefined) rig.cv = cv;
    // Every worker busy under the backlog: X = N / S.
    rig.rate = (n) => (n / callMs(n)) * 1000;
    rig.run(400);
    return rig;
  };

  it("goes back to the count measured to deliver the throughput when the cut loses it (a soft limit)", () => {
    // Each call in flight slows every call by 0.4 ms: 40 → 60 workers gains 4 %, a failed step.
    const rig = stage(40, (n) => 2 + 0.4 * n, 2);
    const cut = rig.growTo(60, 600)!;
    expect(cut.why).toBe("knee: 40 → 60 workers moved throughput 2222 → 2308/s (needed +15%); holding at 6");
    // Six workers at unloaded speed would carry 2,308/s; here they carry 1,364/s.
    rig.n = cut.out;
    const back = rig.until("soft knee");
    expect(back.why).toBe("soft knee: 6 workers gave 1364/s, 40 gave 2308/s; back to 40");
    expect(back.out).toBe(40);
    expect(back.forced).toBe(true);
    // Going back is no probe, so the step 6 → 40 is not judged by η; and a limit that gives way
    // is no knee to hold: once 40 is measured, growth goes on in +25 % steps, each a probe.
    rig.n = 40;
    const from = rig.seen.length;
    rig.run(1500);
    expect(rig.seen.slice(from).some((v) => v.why?.startsWith("held at the knee"))).toBe(false);
    expect(rig.guard.held(rig.now)).toBe(false);
    expect(rig.guard.growthCap(40, 1000)).toBe(50);
    expect(rig.seen.filter((v) => v.why?.startsWith("knee:")).length).toBe(1);
  });

  /** 24 slots: past them calls wait, so every count past 24 delivers what 24 do. */
  const slots24 = (n: number) => (n <= 24 ? 10 : (n / 24) * 10);

  it("keeps a cut that holds the throughput (a hard limit), and checks it only once", () => {
    // 40 → 60 workers gave nothing: 2,400/s at 10 ms, raised by 10 % for the least time's bias and
    // 10 % of headroom, is 30 workers — fewer than the 40 measured to deliver it, and checked there.
    const rig = stage(40, slots24, 10);
    const cut = rig.growTo(60, 600)!;
    expect(cut.out).toBe(30);
    rig.n = cut.out;
    rig.run(2000);
    expect(rig.seen.some((v) => v.why?.startsWith("soft knee"))).toBe(false);
    expect(rig.run(0).out).toBe(30);
  });

  it("holds where a growth that gave nothing came from when Little's law reads it precisely", () => {
    // 24 → 32 workers gave what 24 did, by the count and by X = N / S. With calls alike (a CV near
    // 0) the mean call time is known within 1 %: 24 were measured to deliver it, not the 30 estimated.
    const precise = stage(24, slots24, 10, 0);
    const cut = precise.growTo(32, 600)!;
    expect(cut.why).toBe("knee: 24 → 32 workers moved throughput 2400 → 2400/s (needed +10%); holding at 24");
    // A count measured already is not checked again.
    precise.n = cut.out;
    precise.run(2000);
    expect(
      precise.seen.some((v) => v.why?.startsWith("soft knee") || v.why?.startsWith("knee trimmed")),
    ).toBe(false);
    expect(precise.run(0).out).toBe(24);
    // Calls as spread as a CV of 0.8: a mean of ~240 calls is known within 5 %, too loose to tell a
    // count one short of the knee from the knee; the estimate stands.
    const noisy = stage(24, slots24, 10, 0.8);
    expect(noisy.growTo(32, 600)?.out).toBe(30);
  });

  it("holds at the estimate, not where a failed step came from, when either reading saw a gain", () => {
    // 24 → 48 workers for +15 % by the count (beyond its 9 % of noise), nothing by Little's law: the
    // step failed (+30 % needed), and the count says 24 did not deliver it all.
    const counted = stage(24, slots24, 10, 0);
    counted.rate = (n) => (n <= 24 ? 2400 : 2760);
    expect(counted.growTo(48, 600)?.out).toBe(34); // 2,760/s at 10 ms, +21 %
    // 24 → 32 for nothing by the count, while the calls slowed by only 10 % (Little's law: +21 %).
    const little = stage(24, (n) => (n <= 24 ? 10 : 11), 10, 0);
    little.rate = () => 2400;
    expect(little.growTo(32, 600)?.out).toBe(30);
  });

  it("settles a doubt by Little's law within the noise of a mean call time, not of a count", () => {
    // 24 → 30 reads +5 % by the count (2,520/s): short of the +7.5 % needed, within its 9 % of noise.
    // Every call slowed by the whole step: by X = N / S the step gave nothing.
    const reprobe = (cv: number) => {
      const rig = stage(24, slots24, 10, cv);
      rig.rate = (n) => (n <= 24 ? 2400 : 2520);
      return rig.growTo(30, 600);
    };
    // Calls alike: Little's reading is precise, and the step gave nothing — held where it came from.
    expect(reprobe(0)?.why).toBe(
      "knee: 24 → 30 workers moved throughput 2400 → 2520/s (needed +8%); holding at 24",
    );
    // Calls spread (CV 1): Little's reading is as loose as the count's, and the doubt stands.
    expect(reprobe(1)).toBeUndefined();
  });

  it("never trims a probe's cut, even when the check's window reads a little less", () => {
    // 24 slots, 40 → 60 gave nothing: cut to 30 from 2,400/s, checked there. At 30 the check reads
    // 5 % less, within its allowance: the count that gives that at unloaded speed is 26, but only
    // a slow-start cut is trimmed.
    const rig = stage(40, (n) => (n <= 24 ? 10 : (n / 24) * 10), 10);
    const cut = rig.growTo(60, 600)!;
    expect(cut.out).toBe(30);
    rig.n = cut.out;
    rig.rate = (n) => (n <= 30 ? 2280 : 2400);
    rig.run(2000);
    expect(rig.seen.some((v) => v.why?.startsWith("soft knee") || v.why?.startsWith("knee trimmed"))).toBe(
      false,
    );
    expect(rig.run(0).out).toBe(30);
  });

  it("allows a quarter of loss after a knee slow start found (its short rounds read less precisely)", () => {
    const check = (x: number) => {
      const rig = new KneeRig(10, { holdMs: 5000 });
      rig.rate = () => x;
      rig.guard.hold(10, rig.now, 1000, 30);
      rig.run(600);
      return rig.seen.find((v) => v.why?.startsWith("soft knee"))?.out;
    };
    expect(check(800)).toBeUndefined(); // 20 % below the round's reading: within a round's precision
    expect(check(700)).toBe(30); // 30 % below: the limit gave way; back to the count that gave 1,000/s
  });

  describe("going back to a slow-start round's count", () => {
    /** 25 slots of 10 ms calls (2,500/s); slow start cut 64 → 25 after a round at 64 read 4,000/s. */
    const overRead = (rate: (n: number) => number, roundX = 4000, ms = 1000, queued = true) => {
      const rig = new KneeRig(25, { holdMs: 5000 });
      rig.rate = rate;
      // Every worker busy: X = N / S, so calls past the slots wait (or, not `queued`, run as unloaded).
      if (queued) rig.callMs = (n) => Math.max(10, (n * 1000) / rate(n));
      rig.guard.hold(25, rig.now, roundX, 64, 10);
      const back = rig.until("soft knee");
      expect(back.out).toBe(64);
      rig.n = 64;
      rig.run(ms);
      return rig;
    };

    it("returns to the cut and holds it when the round's count gives no more than the cut (the round over-read)", () => {
      const rig = overRead((n) => Math.min(n, 25) * 100);
      const again = rig.seen.find((v) => v.why?.startsWith("round over-read"));
      expect(again?.why).toBe("round over-read: 64 workers gave 2500/s, 25 gave 2500/s; back to 25");
      expect(again?.out).toBe(25);
      expect(again?.forced).toBe(true);
      expect(rig.guard.held(rig.now)).toBe(true);
    });

    it("probes on from the cut instead when the calls at the round's count ran as quick as unloaded ones", () => {
      const rig = overRead((n) => Math.min(n, 25) * 100, 4000, 1000, false);
      const again = rig.seen.find((v) => v.why?.startsWith("round over-read"));
      expect(again?.why).toBe(
        "round over-read: 64 workers gave 2500/s, 25 gave 2500/s; back to 25, probing on",
      );
      rig.n = 25;
      rig.run(rig.stepMs);
      expect(rig.guard.held(rig.now)).toBe(false);
    });

    it("stays when the round's count gives more than the cut beyond a tenth (a limit that gives way)", () => {
      // 12 % more at 64 than at 25 (each window's noise 5 %: 7 % for both): within it would be a 10 % floor.
      const rig = overRead((n) => (n >= 64 ? 2800 : 2500));
      expect(rig.seen.some((v) => v.why?.startsWith("round over-read"))).toBe(false);
      expect(rig.guard.held(rig.now)).toBe(false);
      const within = overRead((n) => (n >= 64 ? 2700 : 2500));
      expect(within.seen.some((v) => v.why?.startsWith("round over-read"))).toBe(true);
    });

    it("allows the noise of both windows, when it is above a tenth", () => {
      // 200/s at 25 and 224/s at 64 (+12 %), each window about 40 completions (16 % of noise each):
      // within the noise, so the round over-read.
      const rig = overRead((n) => (n >= 64 ? 224 : 200), 400, 2000);
      expect(rig.seen.some((v) => v.why?.startsWith("round over-read"))).toBe(true);
    });

    it("probes on from the cut when the step back to the round's count is within the noise (it shows no knee)", () => {
      // Slow start cut 16 → 15; the check read a loss against the round's 1,365/s; 16 gives what 15 does.
      const rig = new KneeRig(15, { holdMs: 5000 });
      rig.rate = (n) => n * 65;
      rig.guard.hold(15, rig.now, 1365, 16, 10);
      expect(rig.until("soft knee").out).toBe(16);
      rig.n = 16;
      rig.rate = () => 988;
      rig.callMs = (n) => (n * 1000) / rig.rate(n); // queued a little: not as unloaded (10 ms)
      const again = rig.until("round over-read");
      expect(again.why).toBe("round over-read: 16 workers gave 988/s, 15 gave 975/s; back to 15, probing on");
      expect(again.out).toBe(15);
      rig.n = 15;
      rig.run(rig.stepMs);
      expect(rig.guard.held(rig.now)).toBe(false);
      expect(rig.guard.growthCap(15, 100)).toBe(19); // a +25 % probe next
    });

    it("holds the cut as a knee: +25 % steps for two holds", () => {
      const rig = overRead((n) => Math.min(n, 25) * 100);
      rig.n = 25;
      rig.now += 7500; // past the hold (5 s), within two
      rig.run(0);
      rig.guard.grew();
      expect(rig.guard.growthCap(25, 1000)).toBe(32);
      rig.now += 3000; // past two holds
      rig.run(0);
      expect(rig.guard.growthCap(25, 1000)).toBe(1000);
    });

    it("forgets the check when the count moves elsewhere before it is measured", () => {
      const rig = new KneeRig(25, { holdMs: 5000 });
      rig.rate = (n) => Math.min(n, 25) * 100;
      rig.guard.hold(25, rig.now, 4000, 64, 10);
      expect(rig.until("soft knee").out).toBe(64);
      rig.n = 64;
      rig.run(rig.stepMs); // at 64, not measured yet
      rig.n = 80;
      rig.run(rig.stepMs);
      rig.n = 64;
      rig.run(1000);
      expect(rig.seen.some((v) => v.why?.startsWith("round over-read"))).toBe(false);
    });

    it("is not done after a probe's cut: its reading came from long windows", () => {
      // 24 slots, 40 → 60 gave nothing: cut to 30, checked there. The world changed at 30 (a 30 %
      // loss): back to 40 — where the stage now gives no more than 30 did. No second look.
      const rig = stage(40, (n) => (n <= 24 ? 10 : (n / 24) * 10), 10);
      const cut = rig.growTo(60, 600)!;
      expect(cut.out).toBe(30);
      rig.n = 30;
      rig.rate = () => 1600;
      const back = rig.until("soft knee");
      expect(back.out).toBe(40);
      rig.n = 40;
      rig.run(1000);
      expect(rig.seen.some((v) => v.why?.startsWith("round over-read"))).toBe(false);
    });

    it("checks nothing without a backlog (fewer workers were simply enough)", () => {
      const rig = new KneeRig(25, { holdMs: 5000 });
      rig.rate = (n) => Math.min(n, 25) * 100;
      rig.guard.hold(25, rig.now, 4000, 64, 10);
      rig.run(600);
      rig.n = 64;
      rig.backlogged = false;
      rig.run(1000);
      expect(rig.seen.some((v) => v.why?.startsWith("round over-read"))).toBe(false);
    });
  });

  it("checks nothing when there is no count above the cut to go back to, or no reading before it", () => {
    const check = (fromX: number, fromN: number) => {
      const rig = new KneeRig(10, { holdMs: 5000 });
      rig.rate = () => 300;
      rig.guard.hold(10, rig.now, fromX, fromN);
      rig.run(600);
      return rig.seen.filter((v) => v.why?.startsWith("soft knee")).length;
    };
    expect(check(1000, 30)).toBe(1);
    expect(check(1000, 8)).toBe(0); // the count it came from is below the cut
    expect(check(1000, 10)).toBe(0);
    expect(check(0, 30)).toBe(0); // nothing measured before the cut
  });

  it("does not check without a backlog, where fewer workers are simply enough", () => {
    const rig = new KneeRig(10, { holdMs: 5000 });
    rig.rate = () => 500;
    rig.guard.hold(10, rig.now, 1000, 30);
    rig.backlogged = false;
    rig.run(600);
    expect(rig.seen.some((v) => v.why?.startsWith("soft knee"))).toBe(false);
  });
});

describe("leastKnown", () => {
  it("takes the lesser of two times, a 0 being not known", () => {
    expect([leastKnown(3, 5), leastKnown(5, 3), leastKnown(4, 4)]).toEqual([3, 3, 4]);
    expect([leastKnown(0, 5), leastKnown(5, 0), leastKnown(0, 0)]).toEqual([5, 5, 0]);
  });
});

describe("meanNoise", () => {
  /** `n` calls of mean `mean` ms and coefficient of variation `cv`: their count, sum and sum of squares. */
  const calls = (n: number, mean: number, cv: number): [number, number, number] => [
    n,
    n * mean,
    n * mean * mean * (1 + cv * cv),
  ];

  it("is the calls' CV over √(calls timed)", () => {
    expect(meanNoise(...calls(100, 10, 1))).toBeCloseTo(0.1, 10);
    expect(meanNoise(...calls(25, 40, 0.5))).toBeCloseTo(0.1, 10);
    expect(meanNoise(...calls(400, 20, 0.5))).toBeCloseTo(0.025, 10);
    // Two calls of 5 and 15 ms: a mean of 10, a standard deviation of 5.
    expect(meanNoise(2, 20, 250)).toBeCloseTo(0.5 / Math.SQRT2, 10);
  });

  it("is never below 1 %, and 1 for fewer than two calls or none timed", () => {
    expect(meanNoise(...calls(100, 10, 0))).toBe(0.01);
    expect(meanNoise(1, 10, 100)).toBe(1);
    expect(meanNoise(0, 0, 0)).toBe(1);
    expect(meanNoise(5, 0, 0)).toBe(1);
  });
});

describe("callCv", () => {
  it("is the standard deviation of the calls over their mean, and 1 for fewer than two calls or none timed", () => {
    expect(callCv(100, 1000, 100 * 100 * 1.25)).toBeCloseTo(0.5, 10);
    expect(callCv(4, 40, 400)).toBe(0);
    expect([callCv(1, 10, 100), callCv(0, 0, 0), callCv(5, 0, 0)]).toEqual([1, 1, 1]);
  });
});
