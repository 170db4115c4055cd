/**
 * `npm run bench:jobs`: batch jobs nobody tuned the strategies on, in virtual time — a list of
 * items queued behind a dependency (slots, a limit that gives way, noisy or slow calls), run by
 * `AdaptiveScaling` with only `maxWorkers` and by a sweep of `FixedScaling`. Reports the job's time
 * and worker-seconds against the right fixed pool (the fewest workers within 2 % of the sweep's
 * best time), three seeds each. Writes `jobs.json` and `jobs.md` to bench/results (or `--out DIR`).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { FixedScaling } from "../../src/scaling/fixed-scaling.js";
import type { ScalingStrategy } from "../../src/scaling/scaling-strategy.js";
import type { Scenario } from "../../src/simulate/scenario.js";
import { simulate } from "../../src/simulate/simulate.js";
import { strategyFor } from "../../src/simulate/strategies.js";

interface Job {
  readonly scenario: Scenario;
  /** The fixed pools swept. */
  readonly pools: readonly number[];
}

const job = (id: string, title: string, items: number, pools: number[], extra: Partial<Scenario>): Job => ({
  scenario: {
    id,
    title,
    phases: [{ durationS: 600, rate: 0, nRef: pools[0]! }],
    batchItems: items,
    queueSize: 64,
    maxWorkers: 256,
    ...extra,
  },
  pools,
});

const CALLS_30 = { serviceMs: 30, service: "lognormal", serviceCv: 0.3 } as const;

export const JOBS: readonly Job[] = [
  job("J1", "25 slots, lognormal 30 ms CV 0.3", 3000, [20, 25, 32, 64], { ...CALLS_30, dependencySlots: 25 }),
  job("J2", "10 slots, lognormal 30 ms CV 0.3", 1500, [10, 12, 16, 32], { ...CALLS_30, dependencySlots: 10 }),
  job("J3", "60 slots, lognormal 30 ms CV 0.3", 6000, [60, 64, 80, 128], {
    ...CALLS_30,
    dependencySlots: 60,
  }),
  job("J4", "soft limit, 5 ms + 0.3 ms a call in flight", 20_000, [16, 32, 64, 128], {
    serviceMs: 5,
    latencyPerInFlightMs: 0.3,
  }),
  job("J5", "400 × 10 ms, no limit, maxWorkers 64", 400, [16, 32, 64], { serviceMs: 10, maxWorkers: 64 }),
  job("J6", "25 slots, lognormal 200 ms CV 0.3", 1000, [25, 32, 64], {
    serviceMs: 200,
    service: "lognormal",
    serviceCv: 0.3,
    dependencySlots: 25,
  }),
  job("J7", "24 slots, lognormal 40 ms CV 0.8", 6000, [24, 28, 32, 40], {
    serviceMs: 40,
    service: "lognormal",
    serviceCv: 0.8,
    dependencySlots: 24,
  }),
];

const SEEDS = [1, 2, 3];

/** The job's time (s), its worker-seconds up to then (the suite's own metrics), and its peak count. */
async function run(s: Scenario, strategy: ScalingStrategy, seed: number) {
  const { metrics, record } = await simulate(s, strategy, { seed });
  return {
    time: metrics.completionS,
    ws: metrics.workerSeconds,
    peak: Math.max(...record.timeline.map(([, n]) => n)),
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const outAt = process.argv.indexOf("--out");
  const out = outAt > 0 ? process.argv[outAt + 1]! : "bench/results";
  const rows: string[] = [
    "Batch jobs in virtual time, 3 seeds: `AdaptiveScaling({ maxWorkers })` against the right fixed pool (the fewest within 2 % of the sweep's best time).",
    "",
    "| job | right pool: time s · worker-s | adaptive: time s (per seed) · worker-s · peaks | × right: time · worker-s |",
    "|---|---|---|---|",
  ];
  const results = [];
  for (const { scenario, pools } of JOBS) {
    const sweep = [];
    for (const workers of pools) {
      const runs = [];
      for (const seed of SEEDS) runs.push(await run(scenario, new FixedScaling({ workers }), seed));
      sweep.push({ workers, time: mean(runs.map((r) => r.time)), ws: mean(runs.map((r) => r.ws)) });
    }
    const best = Math.min(...sweep.map((p) => p.time));
    const right = sweep.find((p) => p.time <= best * 1.02)!;
    const runs = [];
    for (const seed of SEEDS) runs.push(await run(scenario, strategyFor("adaptive", scenario), seed));
    const time = mean(runs.map((r) => r.time));
    const ws = mean(runs.map((r) => r.ws));
    results.push({ id: scenario.id, title: scenario.title, sweep, right: right.workers, adaptive: runs });
    rows.push(
      `| ${scenario.id} ${scenario.title}, ${scenario.batchItems} items | F${right.workers}: ${right.time.toFixed(2)} · ${right.ws.toFixed(0)} | ${time.toFixed(2)} (${runs.map((r) => r.time.toFixed(2)).join(", ")}) · ${ws.toFixed(0)} · ${runs.map((r) => r.peak).join("/")} | ${(time / right.time).toFixed(2)} · ${(ws / right.ws).toFixed(2)} |`,
    );
    console.log(rows.at(-1));
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/jobs.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${out}/jobs.md`, `${rows.join("\n")}\n`);
  console.log(`\nwrote ${out}/jobs.json and jobs.md`);
}

await main();
