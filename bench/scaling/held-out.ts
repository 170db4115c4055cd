/**
 * The held-out workloads (src/simulate/held-out.ts): every strategy × 3 seeds, the lines they are
 * judged by, and a sweep of `FixedScaling` around each workload's N_ref that re-derives the
 * reference. Writes `held-out.json` and `held-out.md` to the output folder.
 */
import { writeFileSync } from "node:fs";
import { FixedScaling } from "../../src/scaling/fixed-scaling.js";
import type { BarCheck } from "../../src/simulate/bar.js";
import { meanMetrics } from "../../src/simulate/bar.js";
import { checkHeldOut, HELD_OUT, type HeldOut } from "../../src/simulate/held-out.js";
import type { ScenarioMetrics } from "../../src/simulate/metrics.js";
import { simulate } from "../../src/simulate/simulate.js";
import { peakRef, type StrategyName, strategyFor } from "../../src/simulate/strategies.js";

interface SweepPoint {
  readonly workers: number;
  readonly mean: ScenarioMetrics;
  readonly meets: boolean;
}

interface WorkloadResult {
  readonly title: string;
  readonly catches: string;
  readonly strategies: Record<string, { mean: ScenarioMetrics; runs: ScenarioMetrics[] }>;
  readonly sweep: readonly SweepPoint[];
  /** The fewest fixed workers that meet the reference rule (`null`: none of the sweep did). */
  readonly sweepBest: number | null;
}

const f = (v: number, d = 2): string => (Number.isNaN(v) ? "–" : Number.isFinite(v) ? v.toFixed(d) : "∞");

async function means(h: HeldOut, make: () => Parameters<typeof simulate>[1], seeds: readonly number[]) {
  const runs: ScenarioMetrics[] = [];
  for (const seed of seeds) runs.push((await simulate(h.scenario, make(), { seed })).metrics);
  return { mean: meanMetrics(runs), runs };
}

/**
 * An open workload's peak held steady (60 s, or the phase's length if longer): the phase with the highest N_ref at its highest
 * rate. A whole run's p99 wait would hide the peak behind the quieter phases.
 */
function peakSteady(h: HeldOut): HeldOut {
  if (h.kind === "batch") return h;
  const s = h.scenario;
  const top = s.phases.reduce((a, p) =>
    Math.max(p.nRef, p.nRefTo ?? 0) > Math.max(a.nRef, a.nRefTo ?? 0) ? p : a,
  );
  const phase = {
    durationS: Math.max(60, top.durationS),
    rate: Math.max(top.rate, top.rateTo ?? 0),
    nRef: Math.max(top.nRef, top.nRefTo ?? 0),
    ...(top.serviceMs === undefined ? {} : { serviceMs: top.serviceMs }),
    ...(top.xOpt === undefined ? {} : { xOpt: top.xOpt }),
  };
  return { ...h, scenario: { ...s, id: `${s.id}-peak`, phases: [phase] } };
}

/**
 * The sweep: N_ref − 2 … N_ref + 2 (a batch: ± 1) on the peak held steady (a batch: the job), the
 * fewest that meet the reference rule.
 */
async function sweep(
  h: HeldOut,
  seeds: readonly number[],
): Promise<{ points: SweepPoint[]; best: number | null }> {
  const peak = peakRef(h.scenario);
  const span = h.kind === "batch" ? 1 : 2;
  const points: SweepPoint[] = [];
  const job = peakSteady(h);
  for (let n = Math.max(1, peak - span); n <= peak + span; n++) {
    const { mean } = await means(job, () => new FixedScaling({ workers: n }), seeds);
    points.push({ workers: n, mean, meets: false });
  }
  const fastest = Math.min(...points.map((p) => p.mean.completionS));
  const judged = points.map((p) => ({
    ...p,
    meets:
      h.kind === "open"
        ? p.mean.throughputRatio >= 0.98 && p.mean.p99WaitSteadyMs <= h.serviceAtPeakMs
        : p.mean.completionS <= fastest * 1.01,
  }));
  return { points: judged, best: judged.find((p) => p.meets)?.workers ?? null };
}

export async function runHeldOut(names: readonly StrategyName[], seeds: readonly number[], out: string) {
  const started = performance.now();
  const results: Record<string, WorkloadResult> = {};
  const checks: Record<string, BarCheck[]> = {};
  const fixedRef: Record<string, ScenarioMetrics> = {};
  const perStrategy: Record<string, Record<string, ScenarioMetrics>> = {};
  for (const h of HELD_OUT) {
    const s = h.scenario;
    const strategies: WorkloadResult["strategies"] = {};
    for (const name of names) {
      const r = await means(h, () => strategyFor(name, s), seeds);
      strategies[name] = r;
      (perStrategy[name] ??= {})[s.id] = r.mean;
    }
    // The reference of a batch is FixedScaling(N_ref) on the same job, with or without "fixed".
    fixedRef[s.id] =
      strategies.fixed?.mean ?? (await means(h, () => new FixedScaling({ workers: peakRef(s) }), seeds)).mean;
    const sw = await sweep(h, seeds);
    results[s.id] = {
      title: s.title ?? "",
      catches: h.catches,
      strategies,
      sweep: sw.points,
      sweepBest: sw.best,
    };
    console.log(`\n${s.id} — ${s.title} (means of ${seeds.length} seeds)`);
    console.log(table(h, strategies, fixedRef[s.id]!));
    console.log(
      `  sweep of FixedScaling${h.kind === "open" ? " (peak held steady)" : ""}: ${sw.points.map((p) => `${p.workers}${p.meets ? "✓" : "✗"}`).join(" ")} → fewest meeting the reference rule: ${sw.best ?? "none"} (N_ref ${peakRef(s)})`,
    );
  }
  for (const name of names) checks[name] = checkHeldOut(perStrategy[name] ?? {}, fixedRef);
  console.log("\nHeld-out lines met per strategy:");
  for (const name of names) {
    const c = checks[name]!;
    const missed = c.filter((b) => !b.pass).map((b) => `${b.scenario} ${b.metric} ${f(b.measured)}`);
    console.log(
      `  ${name.padEnd(18)} ${c.filter((b) => b.pass).length}/${c.length}${missed.length ? `  missed: ${missed.join("; ")}` : ""}`,
    );
  }
  const finite = (_k: string, v: unknown): unknown =>
    typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? null : String(v)) : v;
  writeFileSync(
    `${out}/held-out.json`,
    `${JSON.stringify({ node: process.version, seeds, strategies: names, workloads: results, lines: checks }, finite, 2)}\n`,
  );
  writeFileSync(`${out}/held-out.md`, markdown(results, checks, fixedRef, seeds.length));
  console.log(
    `\nwrote ${out}/held-out.json and held-out.md in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

function table(h: HeldOut, strategies: WorkloadResult["strategies"], ref: ScenarioMetrics): string {
  const rows = Object.entries(strategies).map(([name, { mean: m }]) => [name, ...cells(h, m, ref)]);
  const header = ["strategy", ...headers(h)];
  const widths = header.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

function headers(h: HeldOut): string[] {
  return h.kind === "batch"
    ? ["time s", "× ref", "worker-s", "× ref", "peak", "p99 proc", "rev/10s"]
    : ["thr", "T90 s", "cost", "peak", "p99 wait", "steady", "p99 proc", "rev/10s"];
}

function cells(h: HeldOut, m: ScenarioMetrics, ref: ScenarioMetrics): string[] {
  return h.kind === "batch"
    ? [
        f(m.completionS),
        f(m.completionS / ref.completionS),
        f(m.workerSeconds, 0),
        f(m.workerSeconds / ref.workerSeconds),
        f(m.peakWorkers, 0),
        f(m.p99ProcessingMs, 1),
        f(m.reversalsPer10s),
      ]
    : [
        f(m.throughputRatio, 3),
        f(m.t90S, 1),
        f(m.costRatio),
        f(m.peakWorkers, 0),
        f(m.p99WaitMs, 1),
        f(m.p99WaitSteadyMs, 1),
        f(m.p99ProcessingMs, 1),
        f(m.reversalsPer10s),
      ];
}

function markdown(
  results: Record<string, WorkloadResult>,
  checks: Record<string, BarCheck[]>,
  ref: Record<string, ScenarioMetrics>,
  seeds: number,
): string {
  const out: string[] = [
    `Held-out workloads (never tuned on), means of ${seeds} seeds, virtual time. A ✗ marks a missed line`,
    "(src/simulate/held-out.ts: open workloads need throughput ratio ≥ 0.98, cost ≤ 1.3, steady p99",
    "wait ≤ 2·S, ≤ 1 reversal per 10 s; the batch ≤ 1.15 × the time and ≤ 1.3 × the worker-seconds of",
    "FixedScaling(N_ref), p99 processing ≤ 2·S).",
  ];
  for (const h of HELD_OUT) {
    const id = h.scenario.id;
    const r = results[id];
    if (!r) continue;
    out.push(`\n### ${id} — ${r.title}\n`, `Catches: ${r.catches}.\n`);
    out.push(`| strategy | ${headers(h).join(" | ")} | lines met |`);
    out.push(
      `|---|${headers(h)
        .map(() => "---")
        .join("|")}|---|`,
    );
    for (const [name, { mean }] of Object.entries(r.strategies)) {
      const mine = (checks[name] ?? []).filter((b) => b.scenario === id);
      const missed = mine.filter((b) => !b.pass).map((b) => b.metric);
      out.push(
        `| ${name} | ${cells(h, mean, ref[id]!).join(" | ")} | ${mine.length - missed.length}/${mine.length}${missed.length ? ` ✗ ${missed.join(", ")}` : ""} |`,
      );
    }
    const sweepLine = r.sweep
      .map((p) =>
        h.kind === "open"
          ? `${p.workers}: thr ${f(p.mean.throughputRatio, 3)}, steady p99 wait ${f(p.mean.p99WaitSteadyMs, 1)} ms${p.meets ? " ✓" : ""}`
          : `${p.workers}: ${f(p.mean.completionS)} s, ${f(p.mean.workerSeconds, 0)} worker-s${p.meets ? " ✓" : ""}`,
      )
      .join("; ");
    out.push(
      `\nSweep of FixedScaling${h.kind === "open" ? " on the peak held steady" : ""} (✓ = meets the reference rule): ${sweepLine}. Fewest meeting it: ${r.sweepBest ?? "none"}.`,
    );
  }
  out.push("\nLines met per strategy, all workloads:\n");
  out.push("| strategy | lines met | missed |", "|---|---|---|");
  for (const [name, c] of Object.entries(checks)) {
    const missed = c.filter((b) => !b.pass).map((b) => `${b.scenario} ${b.metric} ${f(b.measured)}`);
    out.push(`| ${name} | ${c.length - missed.length}/${c.length} | ${missed.join("; ") || "–"} |`);
  }
  return `${out.join("\n")}\n`;
}
