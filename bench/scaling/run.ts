/**
 * The scaling scenario suite of SCALING.md (S1–S9), run on the real Flow under virtual time.
 *
 *   npm run bench:scaling                      every scenario × strategy × 3 seeds
 *   npm run bench:scaling -- --only S1,S5 --strategies adaptive,fixed --seeds 1
 *   npm run bench:scaling -- --realtime        S1 and S5 at a tenth of their length, in real
 *                                              time and in virtual time, side by side; then the
 *                                              CPU-bound line and S10, S11, S13 real against
 *                                              virtual (bench/scaling/realtime-lines.ts)
 *   npm run bench:scaling -- --held-out        the held-out workloads (src/simulate/held-out.ts)
 *                                              × every strategy × 3 seeds: held-out.json and .md
 *
 * Prints a table per scenario and the bar check of AdaptiveScaling, writes
 * bench/results/scaling.json and a chart per scenario (bench/results/scaling-<id>.svg).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AdaptiveScaling } from "../../src/scaling/adaptive-scaling.js";
import { checkBar, checkBeyondBar, meanMetrics } from "../../src/simulate/bar.js";
import type { ScenarioMetrics } from "../../src/simulate/metrics.js";
import { BEYOND, parseScenario, SCENARIOS, type Scenario, shortened } from "../../src/simulate/scenario.js";
import { simulate } from "../../src/simulate/simulate.js";
import { STRATEGY_NAMES, type StrategyName, strategyFor } from "../../src/simulate/strategies.js";
import { formatMetricsTable } from "../../src/simulate/table.js";
import { runHeldOut } from "./held-out.js";
import { beyondLines, cpuLine } from "./realtime-lines.js";
import { markdownTables } from "./markdown.js";
import { workersChart } from "./svg.js";

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    strategies: { type: "string" },
    seeds: { type: "string" },
    realtime: { type: "boolean", default: false },
    "held-out": { type: "boolean", default: false },
    out: { type: "string", default: "bench/results" },
  },
});
const only = values.only?.split(",");
const names = (values.strategies?.split(",") ??
  (values.realtime ? ["adaptive"] : [...STRATEGY_NAMES])) as StrategyName[];
for (const n of names)
  if (!STRATEGY_NAMES.includes(n))
    throw new Error(`unknown strategy ${n}; one of ${STRATEGY_NAMES.join(", ")}`);
const seeds = Array.from({ length: Number(values.seeds ?? (values.realtime ? 1 : 3)) }, (_, i) => i + 1);
const scenarios = [...SCENARIOS, ...BEYOND].filter((s) =>
  only ? only.includes(s.id) : values.realtime ? ["S1", "S5"].includes(s.id) : true,
);
mkdirSync(values.out!, { recursive: true });

const finite = (_k: string, v: unknown): unknown =>
  typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? null : String(v)) : v;

if (values["held-out"]) await runHeldOut(names, seeds, values.out!);
else if (values.realtime) await realtime();
else await virtual();

async function virtual(): Promise<void> {
  const started = performance.now();
  const results: Record<
    string,
    { title: string; strategies: Record<string, { mean: ScenarioMetrics; runs: ScenarioMetrics[] }> }
  > = {};
  const adaptiveMeans: Record<string, ScenarioMetrics> = {};
  for (const scenario of scenarios) {
    const rows: [string, ScenarioMetrics][] = [];
    const lines: Record<string, readonly (readonly [number, number])[]> = {};
    const entry: (typeof results)[string] = { title: scenario.title ?? "", strategies: {} };
    let duration = 0;
    for (const name of names) {
      const runs: ScenarioMetrics[] = [];
      for (const seed of seeds) {
        const { metrics, record } = await simulate(scenario, strategyFor(name, scenario), { seed });
        runs.push(metrics);
        if (seed === 1) lines[name] = record.timeline;
        duration = record.durationMs;
      }
      const mean = meanMetrics(runs);
      entry.strategies[name] = { mean, runs };
      rows.push([name, mean]);
      if (name === "adaptive") adaptiveMeans[scenario.id] = mean;
    }
    results[scenario.id] = entry;
    console.log(`\n${scenario.id} — ${scenario.title} (means of ${seeds.length} seeds)`);
    console.log(formatMetricsTable(rows));
    writeFileSync(`${values.out}/scaling-${scenario.id}.svg`, workersChart(scenario, lines, duration));
  }
  // S1–S9 against the bar of the nine; S7 and S10–S13 against the lines added with them, with
  // `fixed` (a pool at N_ref) from the same run as the reference where one is needed.
  const nine = Object.fromEntries(
    Object.entries(adaptiveMeans).filter(([id]) => SCENARIOS.some((s) => s.id === id)),
  );
  const references = Object.fromEntries(
    Object.entries(results)
      .filter(([, r]) => r.strategies.fixed !== undefined)
      .map(([id, r]) => [id, r.strategies.fixed!.mean]),
  );
  const beyond = Object.fromEntries(
    Object.entries(adaptiveMeans).filter(([id]) => id === "S7" || BEYOND.some((s) => s.id === id)),
  );
  const bar = names.includes("adaptive")
    ? [
        ...checkBar(
          nine,
          (id) => parseScenario(SCENARIOS.find((s) => s.id === id)).serviceMs,
          new AdaptiveScaling().policy.downStabilizationMs / 1000,
        ),
        ...checkBeyondBar(beyond, references),
      ]
    : [];
  if (bar.length > 0) {
    console.log("\nAdaptiveScaling (defaults) against the bar of SCALING.md:");
    for (const b of bar)
      console.log(
        `  ${b.pass ? "pass" : "MISS"}  ${b.scenario.padEnd(4)} ${b.metric.padEnd(20)} ${fmt(b.measured).padStart(8)}  ${b.limit}`,
      );
    console.log(`  ${bar.filter((b) => b.pass).length}/${bar.length} lines met`);
  }
  const file = `${values.out}/scaling.json`;
  writeFileSync(
    file,
    `${JSON.stringify({ node: process.version, seeds, strategies: names, scenarios: results, bar }, finite, 2)}\n`,
  );
  writeFileSync(`${values.out}/scaling.md`, markdownTables(results, bar, seeds.length));
  console.log(
    `\nwrote ${file}, scaling.md and the charts in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

async function realtime(): Promise<void> {
  console.log(
    "Real time at 1/10 of each scenario's length, against virtual time on the same shortened scenario.",
  );
  const out: unknown[] = [];
  for (const full of scenarios) {
    const scenario: Scenario = shortened(full, 0.1);
    for (const name of names) {
      for (const seed of seeds) {
        const v = (await simulate(scenario, strategyFor(name, scenario), { seed })).metrics;
        const r = (await simulate(scenario, strategyFor(name, scenario), { seed, realtime: true })).metrics;
        const dThr = r.throughputRatio / v.throughputRatio - 1;
        const dCost = r.costRatio / v.costRatio - 1;
        const ok = Math.abs(dThr) <= 0.15 && Math.abs(dCost) <= 0.15;
        console.log(
          `${scenario.id.padEnd(4)} ${name.padEnd(18)} seed ${seed}  throughput ratio ${v.throughputRatio.toFixed(3)} virtual / ${r.throughputRatio.toFixed(3)} real (${pct(dThr)})  cost ${v.costRatio.toFixed(2)} / ${r.costRatio.toFixed(2)} (${pct(dCost)})  ${ok ? "within 15%" : "OFF BY MORE THAN 15%"}`,
        );
        out.push({ scenario: scenario.id, strategy: name, seed, virtual: v, real: r, withinTolerance: ok });
      }
    }
  }
  // The lines of SCALING.md that only real time can judge (a full run; `--only` skips them).
  const cpu = only ? null : await cpuLine(5);
  const beyond = only ? [] : await beyondLines(5);
  writeFileSync(
    `${values.out}/scaling-realtime.json`,
    `${JSON.stringify({ node: process.version, open: out, cpu, beyond }, finite, 2)}\n`,
  );
}

function fmt(v: number): string {
  return Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : String(v);
}
function pct(v: number): string {
  return `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}%`;
}
