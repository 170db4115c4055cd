import { fmtNum } from "../internal/format.js";

/** One stage as the structure dump shows it. */
export interface StageNode {
  /** The stage's name. */
  readonly name: string;
  /** What the stage does; `classifier` is a router's stage, `merge` a fan-out's. */
  readonly kind: "producer" | "transformer" | "consumer" | "classifier" | "merge";
  /** Its input queue's bound. */
  readonly queueSize?: number;
  /** Its queue discipline: `fifo`, `lifo` or `priority`. */
  readonly queue?: string;
  /** Its scaling strategy's class name (`custom` for a plain object). */
  readonly strategy?: string;
  /** The fewest workers its strategy runs. */
  readonly minWorkers?: number;
  /** The most workers its strategy runs. */
  readonly maxWorkers?: number;
  /** Set on `ordered: true` stages. */
  readonly ordered?: boolean;
  /** Set on batch stages. */
  readonly batchSize?: number;
  /** Set on batch stages: how long a partial batch waits. */
  readonly flushMs?: number;
}

/** A router arm or a fan-out branch in the structure. */
export interface StructureBranch {
  /** The arm's key, or the branch's name. */
  readonly label: string;
  /** The router's `default` arm. */
  readonly fallback: boolean;
  /** The chain inside the arm or branch. */
  readonly items: readonly StructureItem[];
}

/** One element of a flow's chain, as the structure dump shows it. */
export type StructureItem =
  | {
      /** A plain stage. */
      readonly type: "stage";
      /** The stage. */
      readonly stage: StageNode;
    }
  | {
      /** A router: its classifier stage and its arms. */
      readonly type: "router";
      /** The classifier's stage. */
      readonly stage: StageNode;
      /** The arms (`fallback` marks the `default` one). */
      readonly branches: readonly StructureBranch[];
    }
  | {
      /** A fan-out: its branches and the merge stage. */
      readonly type: "fanOut";
      /** The merge stage. */
      readonly stage: StageNode;
      /** The branches, each given every item. */
      readonly branches: readonly StructureBranch[];
    };

/** An edge of the structure graph: items go from `from` to `to` (a router's edges carry the arm). */
export interface StructureEdge {
  /** The stage items leave (`producer` for the source). */
  readonly from: string;
  /** The stage they go to. */
  readonly to: string;
  /** A router arm's key (`default` for the default arm). */
  readonly label?: string;
}

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
