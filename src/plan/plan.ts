import { isOverloadError } from "../model/overload.js";
import { FlowConfigError } from "../errors.js";
import { describeThrown } from "../internal/describe.js";
import { AdaptiveScaling } from "../scaling/adaptive-scaling.js";
import { FixedScaling } from "../scaling/fixed-scaling.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import { checkStrategy, workerLimitsOf } from "../scaling/worker-limits.js";
import type { StageNode as DumpNode, StructureItem } from "./structure.js";
import type { PerWorker } from "../model/per-worker.js";
import { isPerWorker } from "../model/per-worker.js";
import { threadsOf } from "../model/threaded.js";
import { STAGE_DEFAULTS } from "../model/options.js";
import { Entry, type EntryKind, type StageSpec } from "./stage-spec.js";
import type { Branch, StageDef, StageNode, StageTree } from "../model/stage-tree.js";
import { queueSizeOf } from "../model/stage-tree.js";

/** One stage of a compiled flow. */
export interface PlanStage {
  readonly index: number;
  readonly spec: StageSpec;
  /** Where its outputs go; set once the whole plan is compiled. */
  outlet: PlanOutlet;
}

/** Where a stage's outputs (or the producer's items) go. */
export type PlanOutlet =
  | { readonly type: "stage"; readonly stage: PlanStage }
  | { readonly type: "sink" }
  | {
      readonly type: "router";
      readonly classifier: PlanStage;
      readonly arms: ReadonlyMap<string, PlanOutlet>;
      readonly fallback: PlanOutlet | null;
    }
  | {
      readonly type: "split";
      readonly merge: PlanStage;
      readonly branches: readonly PlanOutlet[];
      readonly nested: boolean;
    }
  | { readonly type: "join"; readonly merge: PlanStage };

/**
 * A flow compiled for one run: every stage with its resolved settings, the outlet each hands
 * its outputs to, and the outlet the producer feeds.
 */
export interface Plan {
  readonly stages: readonly PlanStage[];
  readonly entry: PlanOutlet;
  /** The tree it was compiled from, for rendering the structure. */
  readonly tree: StageTree;
}

/**
 * Compiles a stage tree: stages are numbered in the order items meet them, then wired back to
 * front — each node's outlet is the entry of what follows it, router arms all lead to what
 * follows the router, and fan-out branches each end in a join that feeds the merge stage.
 *
 * Strategies: a stage without one gets a `clone()` of its composed flow's default, else of the
 * flow's default, else one fixed worker; a strategy object met twice is cloned for the second
 * stage, so no two stages share scaling state.
 */
export function compilePlan(
  tree: StageTree,
  defaultStrategy: ScalingStrategy | undefined,
  maxThreads: number,
): Plan {
  const stages: PlanStage[] = [];
  const byDef = new Map<StageDef, PlanStage>();
  const used = new Set<ScalingStrategy>();
  const add = (def: StageDef, entry: EntryKind, inBranch: boolean): void => {
    const ps: PlanStage = {
      index: stages.length,
      spec: specOf(def, entry, inBranch, resolveStrategy(def, defaultStrategy, used, maxThreads)),
      outlet: SINK,
    };
    stages.push(ps);
    byDef.set(def, ps);
  };
  const number = (nodes: readonly StageNode[], inBranch: boolean): void => {
    for (const node of nodes) {
      if (node.type === "stage") add(node.def, inBranch ? Entry.Envelope : Entry.Plain, inBranch);
      else if (node.type === "router") {
        add(node.def, inBranch ? Entry.Envelope : Entry.Plain, inBranch);
        for (const arm of armsOf(node)) number(arm.nodes, inBranch);
      } else {
        for (const b of node.branches) number(b.nodes, true);
        add(node.def, Entry.Record, inBranch);
      }
    }
  };
  number(tree.nodes, false);
  if (tree.consumer) add(tree.consumer, Entry.Plain, false);

  const wire = (nodes: readonly StageNode[], after: PlanOutlet, inBranch: boolean): PlanOutlet => {
    let next = after;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      const ps = byDef.get(node.def)!;
      if (node.type === "stage") {
        ps.outlet = next;
        next = { type: "stage", stage: ps };
      } else if (node.type === "router") {
        const target = next;
        ps.outlet = {
          type: "router",
          classifier: ps,
          arms: new Map(node.arms.map((arm) => [arm.label, wire(arm.nodes, target, inBranch)])),
          fallback: node.fallback ? wire(node.fallback.nodes, target, inBranch) : null,
        };
        next = { type: "stage", stage: ps };
      } else {
        ps.outlet = next;
        next = {
          type: "split",
          merge: ps,
          branches: node.branches.map((b) => wire(b.nodes, { type: "join", merge: ps }, true)),
          nested: inBranch,
        };
      }
    }
    return next;
  };
  let end: PlanOutlet = SINK;
  if (tree.consumer) {
    const consumer = byDef.get(tree.consumer)!;
    consumer.outlet = SINK;
    end = { type: "stage", stage: consumer };
  }
  return { stages, entry: wire(tree.nodes, end, false), tree };
}

const SINK: PlanOutlet = { type: "sink" };

function armsOf(node: Extract<StageNode, { type: "router" }>): readonly Branch[] {
  return node.fallback ? [...node.arms, node.fallback] : node.arms;
}

function resolveStrategy(
  def: StageDef,
  flowDefault: ScalingStrategy | undefined,
  used: Set<ScalingStrategy>,
  maxThreads: number,
): ScalingStrategy {
  const own = def.options.scalingStrategy;
  // One thread buys a CPU stage nothing: with no strategy of its own it scales up to the threads.
  if (own === undefined && threadsOf(def.fn) !== null) return new AdaptiveScaling({ maxWorkers: maxThreads });
  const base = own ?? def.fallbackStrategy ?? flowDefault;
  if (base === undefined) return new FixedScaling({ workers: 1 });
  const strategy = own === undefined || used.has(own) ? cloneOf(base, def.name) : own;
  used.add(strategy);
  return strategy;
}

// A strategy's clone() is user code run at start: what it throws or returns that is no strategy
// is an error of the call that starts the flow, naming the stage, not a crash inside the run.
function cloneOf(base: ScalingStrategy, stage: string): ScalingStrategy {
  if (base.clone === undefined) return base;
  let copy: unknown;
  try {
    copy = base.clone();
  } catch (error) {
    throw new FlowConfigError(
      `stage "${stage}": its scaling strategy's clone() threw ${describeThrown(error)}`,
      {
        option: "scalingStrategy.clone",
        cause: error,
      },
    );
  }
  if (copy === undefined) return base;
  const issues = checkStrategy(copy);
  if (issues.length > 0)
    throw new FlowConfigError(
      `stage "${stage}": its scaling strategy's clone() returned something that is not a ScalingStrategy (${issues[0]!.message})`,
      { option: "scalingStrategy.clone" },
    );
  return copy as ScalingStrategy;
}

function specOf(def: StageDef, entry: EntryKind, inBranch: boolean, strategy: ScalingStrategy): StageSpec {
  const o = def.options;
  const perWorker = isPerWorker(def.fn) ? (def.fn as PerWorker<unknown, unknown>) : null;
  return {
    name: def.name,
    role: def.role,
    fn: perWorker ? null : (def.fn as StageSpec["fn"]),
    factory: perWorker ? perWorker.factory : null,
    threads: threadsOf(def.fn),
    strategy,
    queueSize: queueSizeOf(def),
    queue: o.queue ?? STAGE_DEFAULTS.queue,
    ordered: o.ordered ?? STAGE_DEFAULTS.ordered,
    batch: def.batch,
    expand: def.expand,
    entry,
    inBranch,
    retry: o.retry ?? null,
    timeoutMs: o.timeoutMs ?? STAGE_DEFAULTS.timeoutMs,
    deadLetter: o.deadLetter ?? null,
    overloadOn: o.overloadOn ?? isOverloadError,
    rateLimit: o.rateLimit ?? null,
  };
}

/** The stages every output of `stage` can reach (not `stage` itself). */
export function downstreamOf(stage: PlanStage): Set<PlanStage> {
  const seen = new Set<PlanStage>();
  const visit = (outlet: PlanOutlet): void => {
    switch (outlet.type) {
      case "sink":
        return;
      case "stage":
        if (seen.has(outlet.stage)) return;
        seen.add(outlet.stage);
        visit(outlet.stage.outlet);
        return;
      case "router":
        for (const arm of outlet.arms.values()) visit(arm);
        if (outlet.fallback) visit(outlet.fallback);
        return;
      case "split":
        for (const b of outlet.branches) visit(b);
        return;
      case "join":
        visit({ type: "stage", stage: outlet.merge });
    }
  };
  visit(stage.outlet);
  return seen;
}

/** The plan as the structure dump shows it: the tree, each stage with its resolved settings. */
export function structureOf(plan: Plan): StructureItem[] {
  const byName = new Map(plan.stages.map((s) => [s.spec.name, s.spec]));
  const node = (def: StageDef): DumpNode => {
    const spec = byName.get(def.name)!;
    const s = spec.strategy;
    const { min, max } = workerLimitsOf(s).limits;
    return {
      name: spec.name,
      kind: spec.role,
      queueSize: spec.queueSize,
      queue: typeof spec.queue === "string" ? spec.queue : "priority",
      strategy: s.constructor?.name && s.constructor !== Object ? s.constructor.name : "custom",
      minWorkers: min,
      maxWorkers: max,
      ...(spec.ordered ? { ordered: true } : {}),
      ...(spec.batch ? { batchSize: spec.batch.size, flushMs: spec.batch.flushMs } : {}),
    };
  };
  const items = (nodes: readonly StageNode[]): StructureItem[] =>
    nodes.map((n): StructureItem => {
      if (n.type === "stage") return { type: "stage", stage: node(n.def) };
      const branches = (n.type === "router" ? armsOf(n) : n.branches).map((b) => ({
        label: b.label,
        fallback: n.type === "router" && b === n.fallback,
        items: items(b.nodes),
      }));
      return n.type === "router"
        ? { type: "router", stage: node(n.def), branches }
        : { type: "fanOut", stage: node(n.def), branches };
    });
  const all = items(plan.tree.nodes);
  if (plan.tree.consumer) all.push({ type: "stage", stage: node(plan.tree.consumer) });
  return all;
}
