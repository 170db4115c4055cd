import { createHash } from "node:crypto";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import type { Branch, StageDef, StageNode, StageTree } from "../model/stage-tree.js";
import { KEY_NAME } from "./options.js";

/**
 * A run of the flow's chain that one process runs for an item: the remote stage it starts at (none
 * for the first, fed by the source) and the local stages after it, up to the next remote stage.
 */
export interface Segment {
  /** The remote stage whose queue feeds this segment, or `null` for the first (the source's). */
  readonly remote: string | null;
  readonly nodes: readonly StageNode[];
  /** The flow's consumer, in the last segment; `null` elsewhere (the next remote stage's queue). */
  readonly consumer: StageDef | null;
  /** The remote stage after this segment, whose queue its items go to; `null` in the last. */
  readonly next: string | null;
}

/** What a process shows of its flow's remote layout: the remote stages and the topology hash. */
export interface FlowTopology {
  /** The remote stages, in chain order. */
  readonly remote: readonly string[];
  /** A hash of the flow's name, stage names and shapes: every process serving the flow must match it. */
  readonly hash: string;
}

/** The flow cut at its remote stages, and the hash another process must match to serve it. */
export interface Topology extends FlowTopology {
  /** The segments, the first fed by the source. */
  readonly segments: readonly Segment[];
}

const WHERE = "distribute";

/** Cuts `tree` at the stages named in `remote` (or every top-level stage for `"all"`), checking what cannot cross. */
export function cutAtRemote(tree: StageTree, flowName: string, remote: readonly string[] | "all"): Topology {
  if (!KEY_NAME.test(flowName))
    throw new FlowConfigError(
      `${WHERE}: the flow's name = ${describeValue(flowName)}: expected letters, digits, _ . - (it names the Redis keys; set new Flow({ name }))`,
      { option: "name" },
    );
  const top: StageDef[] = [...tree.nodes.map((n) => n.def), ...(tree.consumer ? [tree.consumer] : [])];
  const names = remote === "all" ? top.map((d) => d.name) : remote;
  if (names.length === 0)
    throw new FlowConfigError(`${WHERE}: remote = []: expected at least one stage`, { option: "remote" });
  const wanted = new Set(names);
  for (const name of names) {
    const node = tree.nodes.find((n) => n.def.name === name);
    const def = node?.def ?? (tree.consumer?.name === name ? tree.consumer : undefined);
    if (def === undefined)
      throw new FlowConfigError(
        `${WHERE}: remote names ${describeValue(name)}: expected a top-level stage of the flow (${top.map((d) => d.name).join(", ")})`,
        { option: "remote" },
      );
    checkRemote(node?.type ?? "stage", def);
  }
  const segments: Segment[] = [];
  let current: { remote: string | null; nodes: StageNode[] } = { remote: null, nodes: [] };
  const close = (next: string | null, consumer: StageDef | null) =>
    segments.push({ remote: current.remote, nodes: current.nodes, consumer, next });
  for (const node of tree.nodes) {
    if (wanted.has(node.def.name)) {
      close(node.def.name, null);
      current = { remote: node.def.name, nodes: [] };
    }
    if (segments.length > 0) checkAfterRemote(node);
    current.nodes.push(node);
  }
  const consumer = tree.consumer;
  if (consumer && wanted.has(consumer.name)) {
    close(consumer.name, null);
    current = { remote: consumer.name, nodes: [] };
  }
  if (consumer && segments.length > 0) checkDef(consumer, "after a remote stage");
  close(null, consumer);
  const order = segments.flatMap((s) => (s.remote === null ? [] : [s.remote]));
  // Each segment before a remote stage ends in a consumer named "<stage>:send".
  const all = new Set(tree.names());
  for (const name of order)
    if (all.has(`${name}:send`))
      throw new FlowConfigError(
        `${WHERE}: a stage is named "${name}:send", the name of the consumer that sends items to remote stage "${name}"; rename it`,
        { option: "name" },
      );
  return { segments, remote: order, hash: hashOf(flowName, order, tree) };
}

// A remote stage is one stage: its queue is the one in Redis.
function checkRemote(type: StageNode["type"], def: StageDef): void {
  const at = `${WHERE}: remote stage "${def.name}"`;
  if (!KEY_NAME.test(def.name))
    throw new FlowConfigError(
      `${at}: name = ${describeValue(def.name)}: expected letters, digits, _ . - (it names a BullMQ queue)`,
      { option: "remote" },
    );
  if (type !== "stage")
    throw new FlowConfigError(
      `${at} is a ${type}: expected a plain stage (a function or perWorker); put the ${type} after it, in its segment`,
      { option: "remote" },
    );
  if (def.batch !== null)
    throw new FlowConfigError(
      `${at} is a batch stage: a batch cannot gather from a queue that other processes take from too; make the stage before it remote, and batch locally after it`,
      { option: "remote" },
    );
  if (def.expand)
    throw new FlowConfigError(
      `${at} is a flatMap: its children would need ids from every process; keep it local`,
      {
        option: "remote",
      },
    );
  checkDef(def, "remote");
}

// After the first remote stage, items of one run arrive in any process, in any order.
function checkAfterRemote(node: StageNode): void {
  const walk = (n: StageNode): void => {
    checkDef(n.def, "after a remote stage");
    if (n.type === "router")
      for (const b of [...n.arms, ...(n.fallback ? [n.fallback] : [])]) b.nodes.forEach(walk);
    if (n.type === "fanOut") for (const b of n.branches) b.nodes.forEach(walk);
  };
  walk(node);
}

function checkDef(def: StageDef, where: string): void {
  if (def.options.ordered === true)
    throw new FlowConfigError(
      `${WHERE}: stage "${def.name}" (${where}): ordered = true: expected false; items of a run reach it from several processes, so no input order holds`,
      { option: "ordered" },
    );
  if (def.expand)
    throw new FlowConfigError(
      `${WHERE}: stage "${def.name}" (${where}) is a flatMap: its children's ids would collide across processes; put it before the first remote stage`,
      { option: "remote" },
    );
}

/** A hash of the names and shapes (not the functions' source): processes that agree on it run the same flow. */
function hashOf(flowName: string, remote: readonly string[], tree: StageTree): string {
  const branch = (b: Branch): unknown => [b.label, b.nodes.map(node)];
  const def = (d: StageDef): unknown => [d.name, d.role, d.batch === null ? 0 : 1, d.expand ? 1 : 0];
  const node = (n: StageNode): unknown => {
    if (n.type === "stage") return ["stage", def(n.def)];
    if (n.type === "router")
      return ["router", def(n.def), n.arms.map(branch), n.fallback ? branch(n.fallback) : null];
    return ["fanOut", def(n.def), n.branches.map(branch)];
  };
  const shape = [1, flowName, remote, tree.nodes.map(node), tree.consumer ? def(tree.consumer) : null];
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex").slice(0, 16);
}
