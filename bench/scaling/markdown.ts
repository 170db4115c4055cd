import type { BarCheck } from "../../src/simulate/bar.js";
import type { ScenarioMetrics } from "../../src/simulate/metrics.js";

/** The bar's metrics the first table has a column for. */
const COLUMNS = [
  "throughput ratio",
  "T90 s",
  "cost ratio",
  "steady p99 wait ms",
  "reversals per 10 s",
  "t_down s",
];

type Results = Record<string, { title: string; strategies: Record<string, { mean: ScenarioMetrics }> }>;

const f = (v: number, d = 2): string => (Number.isNaN(v) ? "–" : Number.isFinite(v) ? v.toFixed(d) : "∞");

/** The README's tables: the default strategy against the bar, and every strategy side by side. */
export function markdownTables(results: Results, bar: readonly BarCheck[], seeds: number): string {
  const out: string[] = [];
  out.push(
    `AdaptiveScaling with defaults, means of ${seeds} seeds (virtual time); **bold** = a line of the bar, ✗ = missed:\n`,
  );
  out.push(
    "| scenario | throughput ratio | T90 s | cost | overshoot | p99 wait ms (steady) | p99 proc ms | events | reversals /10 s | t_down s |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const [id, r] of Object.entries(results)) {
    const m = r.strategies.adaptive?.mean;
    if (!m) continue;
    const cell = (metric: string, text: string): string => {
      const b = bar.find((x) => x.scenario === id && x.metric === metric);
      return b ? `**${text}**${b.pass ? "" : " ✗"}` : text;
    };
    out.push(
      `| ${id} ${r.title} | ${cell("throughput ratio", f(m.throughputRatio, 3))} | ${cell("T90 s", f(m.t90S, 1))} | ${cell(
        "cost ratio",
        f(m.costRatio),
      )} | ${f(m.overshoot)} | ${f(m.p99WaitMs, 1)} (${cell("steady p99 wait ms", f(m.p99WaitSteadyMs, 1))}) | ${f(
        m.p99ProcessingMs,
        1,
      )} | ${f(m.scaleEvents, 0)} | ${cell("reversals per 10 s", f(m.reversalsPer10s))} | ${cell("t_down s", f(m.tDownS, 1))} |`,
    );
  }
  const extra = bar.filter((b) => !COLUMNS.includes(b.metric));
  if (extra.length > 0) {
    out.push(
      "\nThe lines beyond the table's columns (S7, S10–S13; the reference is `fixed` in the same run):\n",
    );
    out.push("| scenario | line | measured | bar | |");
    out.push("|---|---|---|---|---|");
    for (const b of extra)
      out.push(
        `| ${b.scenario} | ${b.metric} | ${f(b.measured, 3)} | ${b.limit} | ${b.pass ? "met" : "✗ missed"} |`,
      );
  }
  const names = Object.keys(Object.values(results)[0]?.strategies ?? {});
  out.push(
    `\nEvery strategy, means of ${seeds} seeds — throughput ratio / T90 s / cost ratio / p99 processing ms:\n`,
  );
  out.push(`| scenario | ${names.join(" | ")} |`);
  out.push(`|---|${names.map(() => "---").join("|")}|`);
  for (const [id, r] of Object.entries(results)) {
    const cells = names.map((n) => {
      const m = r.strategies[n]!.mean;
      return `${f(m.throughputRatio)} / ${f(m.t90S, 1)} / ${f(m.costRatio)} / ${f(m.p99ProcessingMs, 0)}`;
    });
    out.push(`| ${id} | ${cells.join(" | ")} |`);
  }
  return `${out.join("\n")}\n`;
}
