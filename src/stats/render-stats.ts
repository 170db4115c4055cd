import { fmtNum } from "../internal/format.js";
import type { FlowStats, StageStats } from "./stage-stats.js";

const COLUMNS = [
  "stage",
  "busy",
  "idle",
  "blkd",
  "rtry",
  "rlim",
  "total",
  "queue",
  "in/s",
  "out/s",
  "done",
  "err",
  "retries",
  "ovld",
  "drop",
  "p50 ms",
  "p99 ms",
  "wait p99",
];

function row(s: StageStats): string[] {
  return [
    s.stageName,
    String(s.busyWorkers),
    String(s.idleWorkers),
    String(s.blockedWorkers),
    String(s.retryingWorkers),
    String(s.rateLimitedWorkers),
    String(s.totalWorkers),
    `${s.queueLength}/${s.queueCapacity === Number.POSITIVE_INFINITY ? "∞" : s.queueCapacity}`,
    fmtNum(s.arrivalRate, 0),
    fmtNum(s.throughput, 0),
    String(s.processed),
    String(s.errors),
    String(s.retries),
    String(s.overloads),
    String(s.dropped),
    fmtNum(s.latency.p50, 2),
    fmtNum(s.latency.p99, 2),
    fmtNum(s.queueWait.p99, 2),
  ];
}

/** Renders stage stats as an aligned table. */
export function renderStatsTable(stages: readonly StageStats[]): string {
  const rows = [COLUMNS, ...stages.map(row)];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    )
    .join("\n");
}

/** Renders flow stats as text (a header and the table) or JSON. */
export function renderStats(stats: FlowStats, format: "text" | "json"): string {
  if (format === "json")
    return JSON.stringify(stats, (_k, v) => (v === Number.POSITIVE_INFINITY ? "Infinity" : v), 2);
  const head = `state=${stats.state} in=${stats.itemsIn} consumed=${stats.consumed} failed=${stats.failed} dropped=${stats.dropped} skipped=${stats.skipped}${stats.expanded > 0 ? ` expanded=${stats.expanded} children=${stats.children}` : ""} inFlight=${stats.inFlight}`;
  return `${head}\n${renderStatsTable(stats.stages)}`;
}
