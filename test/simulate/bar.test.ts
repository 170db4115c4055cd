import { describe, expect, it } from "vitest";
import { AdaptiveScaling } from "../../src/index.js";
import { checkBar, checkBeyondBar, meanMetrics } from "../../src/simulate/bar.js";
import type { ScenarioMetrics } from "../../src/simulate/index.js";
import { BEYOND, SCENARIOS } from "../../src/simulate/index.js";
import { simulate } from "../../src/simulate/index.js";
import { strategyFor } from "../../src/simulate/index.js";

// The whole suite of SCALING.md for the default strategy, as `npm run bench:scaling` runs it
// (3 seeds, means): about half a minute of real time for some 12 minutes of virtual traffic.
describe("AdaptiveScaling against the bar of SCALING.md (virtual time, S1–S9 × 3 seeds)", () => {
  it("meets every line", async () => {
    const means: Record<string, ScenarioMetrics> = {};
    for (const scenario of SCENARIOS) {
      const runs: ScenarioMetrics[] = [];
      for (const seed of [1, 2, 3])
        runs.push((await simulate(scenario, strategyFor("adaptive", scenario), { seed })).metrics);
      means[scenario.id] = meanMetrics(runs);
    }
    const bar = checkBar(means, (id) => SCENARIOS.find((s) => s.id === id)?.serviceMs ?? 10, 5);
    expect(bar.length).toBe(39);
    expect(bar.filter((b) => !b.pass)).toEqual([]);
  }, 300_000);

  it("meets the lines of S7 and S10–S13 (SCALING.md, beyond the nine)", async () => {
    const means: Record<string, ScenarioMetrics> = {};
    const references: Record<string, ScenarioMetrics> = {};
    for (const scenario of [...SCENARIOS.filter((s) => s.id === "S7"), ...BEYOND]) {
      const runs: ScenarioMetrics[] = [];
      const fixed: ScenarioMetrics[] = [];
      for (const seed of [1, 2, 3]) {
        runs.push((await simulate(scenario, strategyFor("adaptive", scenario), { seed })).metrics);
        if (["S7", "S10", "S10b", "S11"].includes(scenario.id))
          fixed.push((await simulate(scenario, strategyFor("fixed", scenario), { seed })).metrics);
      }
      means[scenario.id] = meanMetrics(runs);
      if (fixed.length > 0) references[scenario.id] = meanMetrics(fixed);
    }
    const bar = checkBeyondBar(means, references);
    expect(bar.length).toBe(16);
    // S11's p99 processing (≤ 2·S = 20 ms) reads 20.015 ms at the histogram's resolution: the
    // second look slow start takes at a step that did not pay runs halfway back (64 workers
    // into 40 slots, 16 ms a call), not at the 128 that fell short (32 ms a call).
    expect(bar.filter((b) => !b.pass).map((b) => `${b.scenario} ${b.metric}`)).toEqual([]);
  }, 300_000);

  it("is what the knee guard buys: an HPA-style controller runs to the maximum on S5", async () => {
    const s5 = SCENARIOS.find((s) => s.id === "S5")!;
    const hpa = await simulate(s5, strategyFor("target-utilization", s5), { seed: 1 });
    const ours = await simulate(s5, new AdaptiveScaling({ maxWorkers: 256 }), { seed: 1 });
    expect(hpa.metrics.peakWorkers).toBe(256);
    expect(hpa.metrics.costRatio).toBeGreaterThan(4);
    expect(ours.metrics.costRatio).toBeLessThan(1.25);
    expect(ours.metrics.p99ProcessingMs).toBeLessThan(hpa.metrics.p99ProcessingMs / 3);
  }, 60_000);
});
