/**
 * The real-time lines of SCALING.md, for `bench:scaling --realtime` (never a timed test):
 * - a synchronous CPU-bound stage (a 1 ms busy loop, 3,000 items from a list) under
 *   `AdaptiveScaling({ maxWorkers: 64 })` against `FixedScaling(1)`, paired and interleaved: it
 *   must end at ≤ 2 workers with throughput ≥ 0.95 × the fixed pool's;
 * - S10, S11 and S13 in real time against virtual time on the same shortened scenario (a batch by
 *   fewer items), paired by seed: completion time, throughput ratio and cost within 15 %.
 */
import { Flow } from "../../src/flow/flow.js";
import { AdaptiveScaling } from "../../src/scaling/adaptive-scaling.js";
import { FixedScaling } from "../../src/scaling/fixed-scaling.js";
import type { ScalingStrategy } from "../../src/scaling/scaling-strategy.js";
import type { ScenarioMetrics } from "../../src/simulate/metrics.js";
import { BEYOND, type Scenario, shortened } from "../../src/simulate/scenario.js";
import { simulate } from "../../src/simulate/simulate.js";
import { strategyFor } from "../../src/simulate/strategies.js";

const CPU_ITEMS = 3000;
const CPU_MS = 1;
const TOLERANCE = 0.15;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface CpuRun {
  readonly seconds: number;
  readonly throughput: number;
  /** Workers when 90 % of the items are done. */
  readonly finalWorkers: number;
  readonly peakWorkers: number;
  /** Time-weighted mean worker count over the second half of the run. */
  readonly meanWorkersSecondHalf: number;
}

/** One run of the CPU-bound stage: a list of items, each a synchronous 1 ms spin. */
async function cpuRun(strategy: ScalingStrategy): Promise<CpuRun> {
  const items = Array.from({ length: CPU_ITEMS }, (_, i) => i);
  let done = 0;
  let finalWorkers = 0;
  let peak = 0;
  const f = new Flow()
    .setProducer(items)
    .addTransformer(
      (n: number) => {
        // "Ends at": the count at the call that takes 90 % of the items, while the queue still
        // holds the rest (once it runs dry, workers leave, whatever the strategy thinks). Read
        // here, not at the consumer, which may lag until the stage's workers have left.
        if (++done === Math.round(CPU_ITEMS * 0.9)) finalWorkers = f.stageStats("stage")?.totalWorkers ?? 0;
        // Work that never awaits: more workers on one event loop cannot run it faster.
        const until = performance.now() + CPU_MS;
        while (performance.now() < until) {}
        return n;
      },
      { name: "stage", scalingStrategy: strategy },
    )
    .setConsumer(() => {});
  const timeline: [number, number][] = [];
  f.on("scale", (e) => {
    if (e.stage !== "stage") return;
    peak = Math.max(peak, e.to);
    timeline.push([performance.now(), e.to]);
  });
  const t0 = performance.now();
  await f.start();
  const initial = f.stageStats("stage")?.activeWorkers ?? 0;
  peak = Math.max(peak, initial);
  timeline.unshift([t0, initial]);
  await f.wait();
  const t1 = performance.now();
  await f.stop();
  // Time-weighted mean count over the second half of the run.
  const half = (t0 + t1) / 2;
  let area = 0;
  for (let i = 0; i < timeline.length; i++) {
    const from = Math.max(half, timeline[i]![0]);
    const to = Math.min(t1, i + 1 < timeline.length ? timeline[i + 1]![0] : t1);
    if (to > from) area += timeline[i]![1] * (to - from);
  }
  const seconds = (t1 - t0) / 1000;
  return {
    seconds,
    throughput: CPU_ITEMS / seconds,
    finalWorkers,
    peakWorkers: peak,
    meanWorkersSecondHalf: area / (t1 - half),
  };
}

export interface CpuLine {
  readonly pairs: readonly { adaptive: CpuRun; fixed: CpuRun; ratio: number }[];
  readonly medianFinalWorkers: number;
  readonly medianPeakWorkers: number;
  readonly medianThroughputRatio: number;
  readonly pass: boolean;
}

/** The CPU-bound line: `pairs` paired runs, the order alternating so drift hits both sides. */
export async function cpuLine(pairs = 5): Promise<CpuLine> {
  await cpuRun(new FixedScaling({ workers: 1 })); // warm-up: JIT and the first timers
  const out: { adaptive: CpuRun; fixed: CpuRun; ratio: number }[] = [];
  for (let i = 0; i < pairs; i++) {
    let adaptive: CpuRun;
    let fixed: CpuRun;
    if (i % 2 === 0) {
      adaptive = await cpuRun(new AdaptiveScaling({ maxWorkers: 64 }));
      fixed = await cpuRun(new FixedScaling({ workers: 1 }));
    } else {
      fixed = await cpuRun(new FixedScaling({ workers: 1 }));
      adaptive = await cpuRun(new AdaptiveScaling({ maxWorkers: 64 }));
    }
    out.push({ adaptive, fixed, ratio: adaptive.throughput / fixed.throughput });
  }
  const medianFinalWorkers = median(out.map((p) => p.adaptive.finalWorkers));
  const medianPeakWorkers = median(out.map((p) => p.adaptive.peakWorkers));
  const medianThroughputRatio = median(out.map((p) => p.ratio));
  const line: CpuLine = {
    pairs: out,
    medianFinalWorkers,
    medianPeakWorkers,
    medianThroughputRatio,
    pass: medianFinalWorkers <= 2 && medianThroughputRatio >= 0.95,
  };
  console.log(
    `\nCPU-bound stage (1 ms synchronous spin, ${CPU_ITEMS} items), AdaptiveScaling({ maxWorkers: 64 }) vs FixedScaling(1), median of ${pairs} paired runs:`,
  );
  for (const [i, p] of out.entries())
    console.log(
      `  pair ${i + 1}: adaptive ${p.adaptive.throughput.toFixed(0)}/s (workers at 90 % ${p.adaptive.finalWorkers}, mean over the second half ${p.adaptive.meanWorkersSecondHalf.toFixed(1)}, peak ${p.adaptive.peakWorkers}), fixed(1) ${p.fixed.throughput.toFixed(0)}/s, ratio ${p.ratio.toFixed(3)}`,
    );
  console.log(
    `  ${line.pass ? "pass" : "MISS"}  workers at 90 % done ${medianFinalWorkers} (≤ 2), peak ${medianPeakWorkers}, throughput × FixedScaling(1) ${medianThroughputRatio.toFixed(3)} (≥ 0.95)`,
  );
  return line;
}

/** How much of each scenario the real-time runs take: a batch by items, the rest by time. */
const REALTIME_SHARE: Readonly<Record<string, number>> = { S10: 0.25, S11: 0.25, S13: 0.2 };

/** What is compared: a batch by completion time, throughput ratio and worker-seconds. */
const compared = (s: Scenario): [string, (m: ScenarioMetrics) => number][] =>
  s.batchItems !== undefined
    ? [
        ["completion s", (m) => m.completionS],
        ["throughput ratio", (m) => m.throughputRatio],
        ["worker-seconds", (m) => m.workerSeconds],
      ]
    : [
        ["throughput ratio", (m) => m.throughputRatio],
        ["cost ratio", (m) => m.costRatio],
      ];

export interface BeyondLine {
  readonly scenario: string;
  readonly share: number;
  readonly runs: readonly { seed: number; virtual: ScenarioMetrics; real: ScenarioMetrics }[];
  /** The same runs with `FixedScaling(N_ref)`: the gap real timers make without a controller. */
  readonly control: readonly { seed: number; virtual: ScenarioMetrics; real: ScenarioMetrics }[];
  readonly metrics: readonly {
    metric: string;
    virtual: number;
    real: number;
    off: number;
    /** The control's real / virtual − 1 on the same metric. */
    fixedOff: number;
    pass: boolean;
  }[];
  readonly pass: boolean;
}

/** S10, S11 and S13 (AdaptiveScaling as the suite runs it) in real against virtual time. */
export async function beyondLines(seeds = 5): Promise<BeyondLine[]> {
  const out: BeyondLine[] = [];
  console.log(
    `\nS10, S11, S13 in real time against virtual time on the same shortened scenario, adaptive, median of ${seeds} paired runs:`,
  );
  for (const id of ["S10", "S11", "S13"]) {
    const full = BEYOND.find((s) => s.id === id)!;
    const share = REALTIME_SHARE[id]!;
    const scenario = shortened(full, share);
    const runs: BeyondLine["runs"][number][] = [];
    const control: BeyondLine["runs"][number][] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const virtual = (await simulate(scenario, strategyFor("adaptive", scenario), { seed })).metrics;
      const real = (await simulate(scenario, strategyFor("adaptive", scenario), { seed, realtime: true }))
        .metrics;
      runs.push({ seed, virtual, real });
      // The control: a fixed pool at N_ref on the same job shows what real timers and a busy
      // machine cost by themselves, without a controller.
      control.push({
        seed,
        virtual: (await simulate(scenario, strategyFor("fixed", scenario), { seed })).metrics,
        real: (await simulate(scenario, strategyFor("fixed", scenario), { seed, realtime: true })).metrics,
      });
    }
    const metrics = compared(scenario).map(([metric, read]) => {
      const v = median(runs.map((r) => read(r.virtual)));
      const r = median(runs.map((x) => read(x.real)));
      const off = r / v - 1;
      const fixedOff =
        median(control.map((x) => read(x.real))) / median(control.map((x) => read(x.virtual))) - 1;
      return { metric, virtual: v, real: r, off, fixedOff, pass: Math.abs(off) <= TOLERANCE };
    });
    const line: BeyondLine = {
      scenario: id,
      share,
      runs,
      control,
      metrics,
      pass: metrics.every((m) => m.pass),
    };
    out.push(line);
    const what =
      scenario.batchItems !== undefined ? `${scenario.batchItems} items` : `${share} of its length`;
    console.log(
      `  ${line.pass ? "pass" : "MISS"}  ${id} (${what})  ${metrics
        .map(
          (m) =>
            `${m.metric} ${fmt(m.virtual)} virtual / ${fmt(m.real)} real (${pct(m.off)}; fixed pool ${pct(m.fixedOff)})`,
        )
        .join("  ")}`,
    );
  }
  return out;
}

function pct(v: number): string {
  return `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)} %`;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)) : String(v);
}
