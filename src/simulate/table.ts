import type { ScenarioMetrics } from "./metrics.js";

const num = (v: number, digits = 2): string =>
  Number.isNaN(v) ? "–" : Number.isFinite(v) ? v.toFixed(digits) : "∞";

const COLUMNS: [string, (m: ScenarioMetrics) => string][] = [
  ["thr", (m) => num(m.throughputRatio, 3)],
  ["T90 s", (m) => num(m.t90S, 1)],
  ["cost", (m) => num(m.costRatio)],
  ["over", (m) => num(m.overshoot)],
  ["peak", (m) => num(m.peakWorkers, 0)],
  ["p99 wait", (m) => num(m.p99WaitMs, 1)],
  ["steady", (m) => num(m.p99WaitSteadyMs, 1)],
  ["p99 proc", (m) => num(m.p99ProcessingMs, 1)],
  ["events", (m) => num(m.scaleEvents, 0)],
  ["rev/10s", (m) => num(m.reversalsPer10s)],
  ["t_down", (m) => num(m.tDownS, 1)],
];

/** The metrics of several strategies as an aligned text table (one row per strategy). */
export function formatMetricsTable(rows: readonly (readonly [string, ScenarioMetrics])[]): string {
  const header = ["strategy", ...COLUMNS.map(([h]) => h)];
  const body = rows.map(([name, m]) => [name, ...COLUMNS.map(([, f]) => f(m))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...body.map(line)].join("\n");
}
