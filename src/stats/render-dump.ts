import type { FlowStats, StageStats } from "./stage-stats.js";

/** One stage as the structure dump shows it. */
export interface StageNode {
  readonly name: string;
  readonly kind: "producer" | "transformer" | "consumer" | "stream";
  readonly queueSize?: number;
  readonly queue?: string;
  readonly strategy?: string;
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
}

/** What `flow.dump()` renders. */
export interface DumpOptions {
  /** `structure`: the graph; `stats`: live numbers. @defaultValue "structure" */
  mode?: "structure" | "stats";
  /** `mermaid` is for structure only. @defaultValue "text" */
  format?: "text" | "json" | "mermaid";
}

const fmtNum = (n: number, digits = 1): string => (Number.isInteger(n) ? String(n) : n.toFixed(digits));

function mermaidId(i: number): string {
  return `s${i}`;
}

/** Renders the chain of stages as text, JSON or a mermaid flowchart. */
export function renderStructure(nodes: readonly StageNode[], format: "text" | "json" | "mermaid"): string {
  if (format === "json") return JSON.stringify({ stages: nodes }, null, 2);
  if (format === "mermaid") {
    const lines = ["flowchart LR"];
    nodes.forEach((n, i) => {
      const detail =
        n.kind === "producer"
          ? "producer"
          : `${n.kind}<br/>${n.strategy ?? ""} [${n.minWorkers}..${n.maxWorkers}]<br/>queue ${n.queueSize} ${n.queue}`;
      lines.push(`  ${mermaidId(i)}["${n.name.replaceAll('"', "'")}<br/>${detail}"]`);
      if (i > 0) lines.push(`  ${mermaidId(i - 1)} --> ${mermaidId(i)}`);
    });
    return lines.join("\n");
  }
  return nodes
    .map((n) =>
      n.kind === "producer"
        ? `[producer] ${n.name}`
        : `  -> [${n.kind}] ${n.name}  queue=${n.queueSize} ${n.queue}  workers=${n.strategy} [${n.minWorkers}..${n.maxWorkers}]`,
    )
    .join("\n");
}

const COLUMNS = [
  "stage",
  "busy",
  "idle",
  "blkd",
  "total",
  "queue",
  "in/s",
  "out/s",
  "done",
  "err",
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
    String(s.totalWorkers),
    `${s.queueLength}/${s.queueCapacity === Number.POSITIVE_INFINITY ? "∞" : s.queueCapacity}`,
    fmtNum(s.arrivalRate, 0),
    fmtNum(s.throughput, 0),
    String(s.processed),
    String(s.errors),
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
  const head = `state=${stats.state} in=${stats.itemsIn} consumed=${stats.consumed} failed=${stats.failed} dropped=${stats.dropped} inFlight=${stats.inFlight}`;
  return `${head}\n${renderStatsTable(stats.stages)}`;
}
