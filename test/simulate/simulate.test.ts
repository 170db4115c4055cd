import { describe, expect, it } from "vitest";
import { AdaptiveScaling } from "../../src/index.js";
import { FixedScaling } from "../../src/index.js";
import { FifoSemaphore } from "../../src/simulate/index.js";
import { computeMetrics } from "../../src/simulate/index.js";
import { parseScenario, type Scenario, shortened } from "../../src/simulate/index.js";
import { VirtualClock } from "../../src/index.js";
import { BIN_MS, type RunRecord, simulate } from "../../src/simulate/index.js";
import { build } from "hdr-histogram-js";
import { pareto, seededRandom } from "../../src/simulate/random.js";

const small: Scenario = parseScenario({
  id: "small",
  phases: [
    { durationS: 5, rate: 200, nRef: 3 },
    { durationS: 5, rate: 0, nRef: 1 },
  ],
});

describe("simulate", () => {
  it("is deterministic for a seed, and the seed matters", async () => {
    const a = await simulate(small, new AdaptiveScaling(), { seed: 7 });
    const b = await simulate(small, new AdaptiveScaling(), { seed: 7 });
    const c = await simulate(small, new AdaptiveScaling(), { seed: 8 });
    expect(b.metrics).toEqual(a.metrics);
    expect(b.record.timeline).toEqual(a.record.timeline);
    expect(c.record.offered).not.toEqual(a.record.offered);
  });

  it("offers Poisson arrivals at the phase's rate and completes them all with enough workers", async () => {
    const { record, metrics } = await simulate(small, new FixedScaling({ workers: 4 }), { seed: 1 });
    const offered = record.offered.reduce((a, b) => a + b, 0);
    expect(offered).toBeGreaterThan(900); // 200/s for 5 s ≈ 1000 ± 3σ
    expect(offered).toBeLessThan(1100);
    const done = record.completions.reduce((a, b) => a + b, 0);
    expect(done).toBe(offered);
    expect(metrics.throughputRatio).toBeCloseTo(offered / 1000, 5);
    expect(metrics.p99ProcessingMs).toBeCloseTo(10, 0); // constant 10 ms service
    expect(metrics.costRatio).toBeCloseTo((4 * 10) / (3 * 5 + 1 * 5), 5);
  });

  it("makes callers queue on a dependency's FIFO semaphore (S5's knee)", async () => {
    const s = parseScenario({
      id: "dep",
      phases: [{ durationS: 5, rate: 1000, xOpt: 400, nRef: 4 }],
      dependencySlots: 4,
      queueSize: 100,
    });
    const { metrics } = await simulate(s, new FixedScaling({ workers: 8 }), { seed: 1 });
    expect(metrics.throughputRatio).toBeGreaterThan(0.95);
    // Four slots of 10 each cap the rate at 400/s, the scenario's X_opt.
    expect(metrics.throughputRatio).toBeLessThan(1.01);
    expect(metrics.p99ProcessingMs).toBeGreaterThan(19); // 8 callers, 4 slots: half of them wait a turn
  });
});

describe("simulate: ramps, load-dependent latency, heavy tails", () => {
  it("ramps the arrival rate linearly within a phase, and X_opt and N_ref with it", async () => {
    const s = parseScenario({
      id: "ramp",
      phases: [{ durationS: 10, rate: 100, rateTo: 300, nRef: 1, nRefTo: 5 }],
    });
    const { record, metrics } = await simulate(s, new FixedScaling({ workers: 8 }), { seed: 3 });
    let first = 0;
    let second = 0;
    for (let b = 0; b < record.offered.length; b++)
      if (b < 50) first += record.offered[b]!;
      else second += record.offered[b]!;
    // ∫ (100 + 20·t) dt: 750 in the first 5 s, 1250 in the last (±4σ of a Poisson count).
    expect(first).toBeGreaterThan(640);
    expect(first).toBeLessThan(860);
    expect(second).toBeGreaterThan(1108);
    expect(second).toBeLessThan(1392);
    // X_opt follows the rate (∫ = 2000), N_ref goes 1 → 5 (∫ = 30 worker-seconds).
    expect(metrics.throughputRatio).toBeCloseTo((first + second) / 2000, 2);
    expect(metrics.costRatio).toBeCloseTo(80 / 30, 2);
    expect(metrics.overshoot).toBeCloseTo(8 / 5 - 1, 5);
    expect(metrics.t90S).toBeLessThan(1);
  });

  it("slows each call by latencyPerInFlightMs per call in flight", async () => {
    const s = parseScenario({
      id: "contention",
      phases: [{ durationS: 10, rate: 0, xOpt: 1000, nRef: 8 }],
      batchItems: 400,
      queueSize: 64,
      latencyPerInFlightMs: 1,
    });
    const { metrics } = await simulate(s, new FixedScaling({ workers: 8 }), { seed: 1 });
    // Eight calls always in flight: 10 + 8 × 1 = 18 ms each, 50 rounds.
    expect(metrics.p99ProcessingMs).toBeCloseTo(18, 0);
    expect(metrics.completionS).toBeGreaterThan(0.85);
    expect(metrics.completionS).toBeLessThan(0.95);
  });

  it("draws Pareto processing times with the asked mean and a heavy tail", () => {
    const random = seededRandom(11);
    const n = 200_000;
    const draws = Array.from({ length: n }, () => pareto(random, 20, 3));
    const mean = draws.reduce((a, b) => a + b, 0) / n;
    expect(mean).toBeGreaterThan(19);
    expect(mean).toBeLessThan(21);
    // α = 1 + √(1 + 1/9) ≈ 2.054; scale = 20·(α − 1)/α ≈ 10.26 is the smallest value.
    const alpha = 1 + Math.sqrt(1 + 1 / 9);
    const scale = (20 * (alpha - 1)) / alpha;
    draws.sort((a, b) => a - b);
    expect(draws[0]!).toBeGreaterThanOrEqual(scale);
    expect(draws[n / 2]!).toBeCloseTo(scale * 2 ** (1 / alpha), 0);
    // The tail: P(X > 10·mean) = (scale / 200)^α ≈ 0.23 %.
    const over = draws.filter((d) => d > 200).length / n;
    expect(over).toBeGreaterThan(0.0015);
    expect(over).toBeLessThan(0.0032);
    expect(pareto(random, 20, 0)).toBe(20);
  });

  it("runs a scenario with Pareto service", async () => {
    const s = parseScenario({
      id: "tail",
      phases: [{ durationS: 10, rate: 200, nRef: 8 }],
      serviceMs: 10,
      service: "pareto",
      serviceCv: 3,
    });
    const { metrics } = await simulate(s, new FixedScaling({ workers: 16 }), { seed: 1 });
    expect(metrics.throughputRatio).toBeGreaterThan(0.95);
    // The median call is ~7 ms; the p99 several times the mean.
    expect(metrics.p99ProcessingMs).toBeGreaterThan(40);
  });
});

describe("shortened", () => {
  it("shortens phases, but a batch by its items (its phases are only a time limit)", () => {
    const open = shortened({ id: "o", phases: [{ durationS: 60, rate: 10, nRef: 1 }] }, 0.1);
    expect(open.phases[0]!.durationS).toBeCloseTo(6, 9);
    const batch = shortened(
      { id: "b", phases: [{ durationS: 120, rate: 0, nRef: 4 }], batchItems: 20_000 },
      0.25,
    );
    expect(batch.batchItems).toBe(5000);
    expect(batch.phases[0]!.durationS).toBe(120);
  });
});

describe("computeMetrics", () => {
  function record(timeline: [number, number][], rate: (bin: number) => number): RunRecord {
    const scenario = parseScenario({
      id: "m",
      phases: [
        { durationS: 10, rate: 100, nRef: 2 },
        { durationS: 10, rate: 100, nRef: 4 },
        { durationS: 10, rate: 0, nRef: 1 },
      ],
    });
    const bins = 301;
    const offered = new Uint32Array(bins);
    const completions = new Uint32Array(bins);
    for (let b = 0; b < 200; b++) offered[b] = 10;
    for (let b = 0; b < 300; b++) completions[b] = rate(b);
    const h = () =>
      build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3 });
    return {
      scenario,
      durationMs: 30_000,
      completions,
      offered,
      timeline,
      waitAll: h(),
      waitSteady: h(),
      processing: h(),
      scaleReasons: [],
      completedAtMs: Number.NaN,
      callsAfterWarmup: 0,
      overloadsAfterWarmup: 0,
      failedItems: 0,
    };
  }

  it("reads T90, cost, overshoot, reversals and t_down off the record", () => {
    // Completions lag 1 s at the start and 2 s after the change at 10 s (offered is 10 per bin).
    const r = record(
      [
        [0, 1],
        [1000, 2],
        [12_000, 6],
        [13_000, 4],
        [16_000, 5],
        [22_000, 2],
        [24_000, 1],
      ],
      (b) => (b < 10 || (b >= 100 && b < 120) ? 5 : b < 200 ? 10 : 0),
    );
    const m = computeMetrics(r);
    // The worse of the start and the change at 10 s: 2 s of lag, plus 0.3 s until the trailing
    // 500 ms window holds 90 % (the metric is conservative by up to 0.4 s).
    expect(m.t90S).toBeCloseTo(2.3, 5);
    // Worker-seconds: 1·1 + 2·11 + 6·1 + 4·3 + 5·6 + 2·2 + 1·6 = 81; ∫N_ref = 20 + 40 + 10 = 70.
    expect(m.costRatio).toBeCloseTo(81 / 70, 5);
    expect(m.peakWorkers).toBe(6);
    expect(m.overshoot).toBeCloseTo(6 / 4 - 1, 5);
    // Directions: up, up, down (12→13 s: a reversal), up (13→16 s: a reversal), down (6 s later: not).
    expect(m.reversals).toBe(2);
    expect(m.scaleEvents).toBe(6);
    // N_ref drops to 1 at 20 s; near it means ≤ 2 workers, reached at 22 s.
    expect(m.tDownS).toBeCloseTo(2, 5);
    expect(m.throughputRatio).toBeCloseTo((10 * 5 + 90 * 10 + 20 * 5 + 80 * 10) / 2000, 5);
  });

  it("reports T90 as ∞ when the rate never holds", () => {
    const m = computeMetrics(record([[0, 1]], (b) => (b % 10 === 0 ? 0 : 10)));
    expect(m.t90S).toBe(Number.POSITIVE_INFINITY);
    expect(BIN_MS).toBe(100);
  });
});

describe("VirtualClock with gridMs", () => {
  it("fires every timer due at one instant before promises settle, in order", async () => {
    const clock = new VirtualClock(0, { gridMs: 0.5 });
    const log: string[] = [];
    clock.setTimeout(() => {
      log.push(`a@${clock.now()}`);
      void Promise.resolve().then(() => log.push(`a-then@${clock.now()}`));
    }, 10);
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 10.2); // on the 0.5 ms grid: 10
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 10.4); // 10.5
    await clock.advanceTo(20);
    expect(log).toEqual(["a@10", "b@10", "a-then@10", "c@10.5"]);
    expect(clock.now()).toBe(20);
  });

  it("skips cleared timers", async () => {
    const clock = new VirtualClock(0, { gridMs: 0.1 });
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 5);
    clock.clearTimeout(h);
    await clock.advanceTo(10);
    expect(fired).toBe(false);
  });
});

describe("FifoSemaphore", () => {
  it("serves waiters first come, first served", async () => {
    const sem = new FifoSemaphore(2);
    const order: number[] = [];
    expect(sem.acquire()).toBeUndefined();
    expect(sem.acquire()).toBeUndefined();
    const waits = [1, 2, 3].map((i) => sem.acquire()!.then(() => order.push(i)));
    sem.release();
    sem.release();
    sem.release();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    sem.release();
    sem.release();
    expect(sem.acquire()).toBeUndefined(); // two slots free again
    expect(sem.acquire()).toBeUndefined();
    expect(sem.acquire()).toBeInstanceOf(Promise);
  });
});
