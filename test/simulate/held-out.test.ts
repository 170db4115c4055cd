import { describe, expect, it } from "vitest";
import type { ScenarioMetrics } from "../../src/simulate/index.js";
import { checkHeldOut, HELD_OUT } from "../../src/simulate/index.js";
import { BEYOND, parseScenario, SCENARIOS } from "../../src/simulate/index.js";

const metrics = (o: Partial<ScenarioMetrics>): ScenarioMetrics => ({
  throughputRatio: 1,
  t90S: 0.3,
  costRatio: 1,
  overshoot: 0,
  peakWorkers: 1,
  p99WaitMs: 1,
  p99WaitSteadyMs: 1,
  p99ProcessingMs: 10,
  scaleEvents: 0,
  reversals: 0,
  reversalsPer10s: 0,
  tDownS: Number.NaN,
  workerSeconds: 100,
  completionS: Number.NaN,
  steadyWorkers: Number.NaN,
  overloadShare: Number.NaN,
  failedItems: 0,
  ...o,
});

describe("HELD_OUT", () => {
  it("is valid scenarios with ids of their own", () => {
    const taken = new Set([...SCENARIOS, ...BEYOND].map((s) => s.id));
    const ids = HELD_OUT.map((h) => h.scenario.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(HELD_OUT.length).toBeGreaterThanOrEqual(3);
    for (const h of HELD_OUT) {
      expect(taken.has(h.scenario.id)).toBe(false);
      const s = parseScenario(h.scenario);
      expect(h.kind === "batch").toBe(s.batchItems !== undefined);
    }
  });

  it("judges open workloads by throughput, cost, steady wait and reversals, a batch against its reference", () => {
    const open = HELD_OUT.find((h) => h.kind === "open")!;
    const batch = HELD_OUT.find((h) => h.kind === "batch")!;
    const id = open.scenario.id;
    const b = batch.scenario.id;
    const good = checkHeldOut(
      { [id]: metrics({}), [b]: metrics({ completionS: 11, workerSeconds: 120 }) },
      { [b]: metrics({ completionS: 10, workerSeconds: 100 }) },
    );
    expect(good.filter((c) => !c.pass)).toEqual([]);
    expect(good.filter((c) => c.scenario === id).map((c) => c.metric)).toEqual([
      "throughput ratio",
      "cost ratio",
      "steady p99 wait ms",
      "reversals per 10 s",
    ]);
    const bad = checkHeldOut(
      {
        [id]: metrics({ costRatio: 1.31, p99WaitSteadyMs: 2 * open.serviceAtPeakMs + 1 }),
        [b]: metrics({
          completionS: 11.6,
          workerSeconds: 131,
          p99ProcessingMs: 2 * batch.serviceAtPeakMs + 1,
        }),
      },
      { [b]: metrics({ completionS: 10, workerSeconds: 100 }) },
    );
    expect(bad.filter((c) => !c.pass).map((c) => `${c.scenario} ${c.metric}`)).toEqual([
      `${id} cost ratio`,
      `${id} steady p99 wait ms`,
      `${b} time × reference`,
      `${b} worker-s × reference`,
      `${b} p99 processing ms`,
    ]);
  });
});
