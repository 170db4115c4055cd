import type { FlowStats, StageStats } from "./stage-stats.js";

/** One stage as the structure dump shows it. */
export interface StageNode {
  readonly name: string;
  /** What the stage does; `classifier` is a router's stage, `merge` a fan-out's. */
  readonly kind: "producer" | "transformer" | "consumer" | "classifier" | "merge";
  readonly queueSize?: number;
  readonly queue?: string;
  readonly strategy?: string;
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  /** Set on `ordered: true` stages. */
  readonly ordered?: boolean;
  /** Set on batch stages. */
  readonly batchSize?: number;
  readonly flushMs?: number;
}

/** A router arm or a fan-out branch in the structure. */
export interface StructureBranch {
  readonly label: string;
  /** The router's `default` arm. */
  readonly fallback: boolean;
  readonly items: readonly StructureItem[];
}

/** One element of a flow's chain, as the structure dump shows it. */
export type StructureItem =
  | { readonly type: "stage"; readonly stage: StageNode }
  | { readonly type: "router"; readonly stage: StageNode; readonly branches: readonly StructureBranch[] }
  | { readonly type: "fanOut"; readonly stage: StageNode; readonly branches: readonly StructureBranch[] };

/** An edge of the structure graph: items go from `from` to `to` (a router's edges carry the arm). */
export interface StructureEdge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
}

const fmtNum = (n: number, digits = 1): string => (Number.isInteger(n) ? String(n) : n.toFixed(digits));

const PRODUCER: StageNode = { name: "producer", kind: "producer" };

function tag(n: StageNode): string {
  const kind = n.kind === "classifier" ? "router" : n.kind;
  return n.batchSize === undefined ? kind : kind === "transformer" ? "batch" : `batch ${kind}`;
}

function details(n: StageNode): string {
  const batch = n.batchSize === undefined ? "" : `size=${n.batchSize} flushMs=${fmtNum(n.flushMs ?? 0)}  `;
  const order = n.ordered ? " ordered" : "";
  return `${batch}queue=${n.queueSize} ${n.queue}${order}  workers=${n.strategy} [${n.minWorkers}..${n.maxWorkers}]`;
}

function textLines(items: readonly StructureItem[], indent: string, out: string[]): void {
  for (const item of items) {
    const n = item.stage;
    if (item.type === "fanOut") {
      out.push(`${indent}-> [fan-out] ${n.name}: every item to each branch, then merged`);
    } else out.push(`${indent}-> [${tag(n)}] ${n.name}  ${details(n)}`);
    if (item.type === "stage") continue;
    for (const b of item.branches) {
      const head = item.type === "fanOut" ? "branch" : "arm";
      out.push(`${indent}     ${b.fallback ? "default (any other label)" : `${head} "${b.label}"`}:`);
      textLines(b.items, `${indent}       `, out);
    }
    if (item.type === "fanOut") out.push(`${indent}   -> [${tag(n)}] ${n.name}  ${details(n)}`);
  }
}

/** The structure as a graph: every stage (the producer first) and the edges items take. */
function structureGraph(items: readonly StructureItem[]): {
  nodes: StageNode[];
  edges: StructureEdge[];
} {
  const nodes: StageNode[] = [PRODUCER];
  const edges: StructureEdge[] = [];
  interface End {
    readonly name: string;
    readonly label?: string;
  }
  const link = (from: readonly End[], to: string): void => {
    for (const f of from)
      edges.push(f.label === undefined ? { from: f.name, to } : { from: f.name, to, label: f.label });
  };
  const walk = (list: readonly StructureItem[], from: readonly End[]): End[] => {
    let ends: End[] = [...from];
    for (const item of list) {
      const n = item.stage;
      if (item.type === "fanOut") {
        const branchEnds = item.branches.flatMap((b) =>
          walk(
            b.items,
            ends.map((e) => ({ name: e.name, label: b.label })),
          ),
        );
        nodes.push(n);
        link(branchEnds, n.name);
        ends = [{ name: n.name }];
        continue;
      }
      nodes.push(n);
      link(ends, n.name);
      ends =
        item.type === "router"
          ? item.branches.flatMap((b) =>
              walk(b.items, [{ name: n.name, label: b.fallback ? "default" : b.label }]),
            )
          : [{ name: n.name }];
    }
    return ends;
  };
  walk(items, [{ name: PRODUCER.name }]);
  return { nodes, edges };
}

/** Renders the structure as an indented tree (text), a graph (JSON) or a mermaid flowchart. */
export function renderStructure(
  items: readonly StructureItem[],
  format: "text" | "json" | "mermaid",
): string {
  if (format === "text") {
    const out = [`[producer] ${PRODUCER.name}`];
    textLines(items, "  ", out);
    return out.join("\n");
  }
  const { nodes, edges } = structureGraph(items);
  if (format === "json") return JSON.stringify({ stages: nodes, edges }, null, 2);
  const ids = new Map(nodes.map((n, i) => [n.name, `s${i}`]));
  const lines = ["flowchart LR"];
  nodes.forEach((n, i) => {
    const label =
      n.kind === "producer"
        ? "producer"
        : `${n.name}<br/>${tag(n)}<br/>${details(n).replaceAll("  ", "<br/>")}`;
    const text = `"${label.replaceAll('"', "'")}"`;
    const shape =
      n.kind === "producer"
        ? `([${text}])`
        : n.kind === "classifier"
          ? `{${text}}`
          : n.kind === "merge"
            ? `[[${text}]]`
            : `[${text}]`;
    lines.push(`  s${i}${shape}`);
  });
  for (const e of edges) {
    const arrow = e.label === undefined ? "-->" : `-->|${e.label.replaceAll("|", "/").replaceAll('"', "'")}|`;
    lines.push(`  ${ids.get(e.from)} ${arrow} ${ids.get(e.to)}`);
  }
  return lines.join("\n");
}

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
  const head = `state=${stats.state} in=${stats.itemsIn} consumed=${stats.consumed} failed=${stats.failed} dropped=${stats.dropped} inFlight=${stats.inFlight}`;
  return `${head}\n${renderStatsTable(stats.stages)}`;
}
