import { isCallable } from "../internal/callable.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { tryGet } from "../internal/read-value.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import type { Batch, BatchSettings } from "./batch.js";
import { isStageLike, SHAPE, STAGE_LIKE, TREE } from "./composable.js";
import type { FanOut } from "./fan-out.js";
import type { FlatMap } from "./flat-map.js";
import { parseStageOptions, STAGE_DEFAULTS, type StageSettings } from "./options.js";
import { isPerWorker } from "./per-worker.js";
import type { Router } from "./router.js";

/** What a stage does with its items. */
export type StageRole = "transformer" | "consumer" | "classifier" | "merge";

/** One stage as the builder keeps it. */
export interface StageDef {
  readonly role: StageRole;
  /** A function or a `perWorker(...)`. */
  readonly fn: unknown;
  /** Validated options; never `name` (that is `name` below). */
  options: StageSettings;
  name: string;
  readonly batch: BatchSettings | null;
  /** A `flatMap` stage: its function gives each item's children. */
  readonly expand: boolean;
  /** The default strategy of the flow this stage was composed from, if it had one. */
  readonly fallbackStrategy: ScalingStrategy | undefined;
}

/** A router arm or a fan-out branch: a labelled chain of nodes. */
export interface Branch {
  readonly label: string;
  readonly nodes: readonly StageNode[];
}

/** One element of a flow's chain. */
export type StageNode =
  | { readonly type: "stage"; readonly def: StageDef }
  | {
      readonly type: "router";
      readonly def: StageDef;
      readonly arms: readonly Branch[];
      readonly fallback: Branch | null;
    }
  | { readonly type: "fanOut"; readonly def: StageDef; readonly branches: readonly Branch[] };

/** What a `Flow` shows of itself when composed into another (under its {@link TREE} key). */
export interface ComposedFlow {
  readonly tree: StageTree;
  readonly defaultStrategy: ScalingStrategy | undefined;
}

/** The stage's queue size: as set, else the default, at least one batch for a batch stage. */
export function queueSizeOf(def: StageDef): number {
  return def.options.queueSize ?? Math.max(STAGE_DEFAULTS.queueSize, def.batch?.size ?? 0);
}

/**
 * A flow's stages as the builder keeps them: a chain of nodes (stages, routers with their arms,
 * fan-outs with their branches) and the consumer. It names stages, composes sub-flows and
 * shapes (prefixing the names of what they contain), and finds any stage by its dotted name.
 */
export class StageTree {
  readonly nodes: StageNode[] = [];
  consumer: StageDef | null = null;

  /** Every stage definition, in the order items meet them (the consumer last). */
  defs(): StageDef[] {
    const out = defsIn(this.nodes);
    if (this.consumer) out.push(this.consumer);
    return out;
  }

  get isEmpty(): boolean {
    return this.nodes.length === 0 && this.consumer === null;
  }

  find(name: string): StageDef | undefined {
    return this.defs().find((d) => d.name === name);
  }

  names(): string[] {
    return this.defs().map((d) => d.name);
  }

  /** Appends a transformer, a shape or a sub-flow (with its validated options); the consumer, once set, stays last. */
  add(x: unknown, settings: StageSettings, where: string): void {
    if (this.consumer)
      throw new FlowConfigError(
        `${where}: the flow already has a consumer ("${this.consumer.name}"), which ends it; add transformers before setConsumer(), or compose: new Flow().addTransformer(flowSoFar).addTransformer(next).setConsumer(…)`,
        { code: "ERR_FLOW_STATE" },
      );
    if (!isStageLike(x))
      throw new FlowConfigError(`${where}: fn = ${describeValue(x)}: expected ${STAGE_LIKE}`, {
        option: "fn",
      });
    const isFlow = typeof tryGet(x, TREE) === "function";
    const opts = isFlow ? subFlowOptions(settings, where) : settings;
    const name = opts.name ?? this.#fresh(derivedName(x, `stage${this.nodes.length + 1}`));
    const nodes = toNodes(x, name, withoutName(opts), where);
    this.#assertNamesFree(nodes.flatMap(namesIn), where, null);
    for (const node of nodes) checkBatchQueue(node.def, where);
    this.nodes.push(...nodes);
  }

  /** Sets the consumer, once: a function, `perWorker(...)` or `batch(...)`, with its validated options. */
  setConsumer(x: unknown, opts: StageSettings, where: string): void {
    if (this.consumer)
      throw new FlowConfigError(
        `${where}: the flow already has a consumer ("${this.consumer.name}"); a flow has one. To change its options, call configure("${this.consumer.name}", options); to run another consumer, build a new Flow (a flow of transformers composes: new Flow().addTransformer(chain).setConsumer(other))`,
        { code: "ERR_FLOW_STATE" },
      );
    const shape = isStageLike(x) ? tryGet(x, SHAPE) : undefined;
    if (!isCallable(x) && !isPerWorker(x) && shape !== "batch")
      throw new FlowConfigError(
        `${where}: fn = ${describeValue(x)}: expected a function, perWorker(factory) or batch(...)${shape === "flatMap" ? " (a flatMap gives items: add it with addTransformer, then a consumer)" : ""}`,
        { option: "fn" },
      );
    const b = shape === "batch" ? (x as Batch<unknown, unknown>) : null;
    const def = makeDef(
      "consumer",
      b ? b.fn : x,
      withoutName(opts),
      opts.name ?? b?.name ?? "consumer",
      b?.settings ?? null,
    );
    this.#assertNamesFree([def.name], where, null);
    checkBatchQueue(def, where);
    this.consumer = def;
  }

  /** Merges new options into the stage called `name` (renaming it when they carry a new name). */
  configure(name: string, options: unknown): void {
    const def = this.find(name);
    if (!def)
      throw new FlowConfigError(
        `configure: no stage named ${describeValue(name)}; stages: ${this.names().join(", ")}`,
        { code: "ERR_FLOW_STAGE_NAME", option: "stageName" },
      );
    const where = `configure, stage "${name}"`;
    const opts = parseStageOptions(options, where);
    if (opts.name !== undefined && opts.name !== name) this.#assertNamesFree([opts.name], "configure", def);
    const merged = { ...def.options, ...withoutName(opts) };
    checkBatchQueue({ ...def, options: merged }, where);
    def.options = merged;
    if (opts.name !== undefined) def.name = opts.name;
  }

  /** A deep copy of the chain with every stage name prefixed, for composing into another flow. */
  copy(prefix: string, fallback: ScalingStrategy | undefined): StageNode[] {
    const copyDef = (d: StageDef): StageDef => ({
      ...d,
      options: { ...d.options },
      name: `${prefix}.${d.name}`,
      fallbackStrategy: d.fallbackStrategy ?? (d.options.scalingStrategy ? undefined : fallback),
    });
    const copyBranch = (b: Branch): Branch => ({ label: b.label, nodes: b.nodes.map(copyNode) });
    const copyNode = (n: StageNode): StageNode => {
      if (n.type === "stage") return { type: "stage", def: copyDef(n.def) };
      if (n.type === "router")
        return {
          type: "router",
          def: copyDef(n.def),
          arms: n.arms.map(copyBranch),
          fallback: n.fallback ? copyBranch(n.fallback) : null,
        };
      return { type: "fanOut", def: copyDef(n.def), branches: n.branches.map(copyBranch) };
    };
    return this.nodes.map(copyNode);
  }

  // A name is taken by a stage of that name, and by any stage it would prefix (`sub` by `sub.trim`).
  #fresh(base: string): string {
    const names = this.names();
    const taken = (n: string) => names.some((m) => m === n || m.startsWith(`${n}.`));
    let name = base;
    for (let k = 2; taken(name); k++) name = `${base}-${k}`;
    return name;
  }

  #assertNamesFree(names: readonly string[], where: string, self: StageDef | null): void {
    const taken = new Set(
      this.defs()
        .filter((d) => d !== self)
        .map((d) => d.name),
    );
    for (const name of names) {
      if (taken.has(name))
        throw new FlowConfigError(`${where}: a stage named ${describeValue(name)} already exists`, {
          code: "ERR_FLOW_STAGE_NAME",
          option: "name",
        });
      taken.add(name);
    }
  }
}

function makeDef(
  role: StageRole,
  fn: unknown,
  options: StageSettings,
  name: string,
  batch: BatchSettings | null = null,
  expand = false,
): StageDef {
  return { role, fn, options, name, batch, expand, fallbackStrategy: undefined };
}

function withoutName(options: StageSettings): StageSettings {
  const { name: _name, ...rest } = options;
  return rest;
}

/** A fan-out among `nodes` (at any depth) with a `flatMap` in one of its branches. */
function expandingFanOut(nodes: readonly StageNode[]): StageDef | undefined {
  for (const node of nodes) {
    if (node.type === "stage") continue;
    if (node.type === "fanOut" && node.branches.some((b) => defsIn(b.nodes).some((d) => d.expand)))
      return node.def;
    const inner =
      node.type === "router" ? [...node.arms, ...(node.fallback ? [node.fallback] : [])] : node.branches;
    for (const b of inner) {
      const found = expandingFanOut(b.nodes);
      if (found) return found;
    }
  }
  return undefined;
}

/** The stage definitions of `nodes`, in the order items meet them (a fan-out's merge after its branches). */
function defsIn(nodes: readonly StageNode[]): StageDef[] {
  return nodes.flatMap((node): StageDef[] => {
    if (node.type === "stage") return [node.def];
    if (node.type === "fanOut") return [...node.branches.flatMap((b) => defsIn(b.nodes)), node.def];
    const arms = [...node.arms, ...(node.fallback ? [node.fallback] : [])];
    return [node.def, ...arms.flatMap((b) => defsIn(b.nodes))];
  });
}

function namesIn(node: StageNode): string[] {
  if (node.type === "stage") return [node.def.name];
  const inner =
    node.type === "router" ? [...node.arms, ...(node.fallback ? [node.fallback] : [])] : node.branches;
  return [node.def.name, ...inner.flatMap((b) => b.nodes.flatMap(namesIn))];
}

/** The name a stage-like gets when the caller gives none. */
function derivedName(x: unknown, fallback: string): string {
  const fnName = (f: unknown) => {
    const n = typeof f === "function" ? tryGet(f, "name") : undefined;
    return typeof n === "string" && n ? n : undefined;
  };
  if (typeof x === "function") return fnName(x) ?? fallback;
  const o = x as Record<symbol, unknown>;
  switch (o[SHAPE]) {
    case "batch": {
      const b = x as Batch<unknown, unknown>;
      return b.name ?? fnName(b.fn) ?? "batch";
    }
    case "router": {
      const r = x as Router<unknown, unknown>;
      return r.name ?? fnName(r.classify) ?? "router";
    }
    case "fanOut": {
      const f = x as FanOut<unknown, unknown>;
      return f.name ?? fnName(f.merge) ?? "fanOut";
    }
    case "flatMap": {
      const m = x as FlatMap<unknown, unknown>;
      return m.name ?? fnName(m.fn) ?? "flatMap";
    }
  }
  return typeof o[TREE] === "function" ? "sub" : fallback;
}

/**
 * The nodes for a stage-like placed under `name`: a stage named `name`; a router whose
 * classifier is `name` and whose arms are `name.<label>`; a fan-out whose merge stage is `name`
 * and whose branches are `name.<label>`; or a sub-flow whose stages are `name.<stage>`.
 */
function toNodes(x: unknown, name: string, options: StageSettings, where: string): StageNode[] {
  if (typeof x === "function" || isPerWorker(x))
    return [{ type: "stage", def: makeDef("transformer", x, options, name) }];
  const o = x as Record<symbol, unknown>;
  switch (o[SHAPE]) {
    case "batch": {
      const b = x as Batch<unknown, unknown>;
      return [{ type: "stage", def: makeDef("transformer", b.fn, options, name, b.settings) }];
    }
    case "flatMap": {
      const m = x as FlatMap<unknown, unknown>;
      return [{ type: "stage", def: makeDef("transformer", m.fn, options, name, null, true) }];
    }
    case "router": {
      const r = x as Router<unknown, unknown>;
      const arm = (label: string, stage: unknown): Branch => ({
        label,
        nodes: toNodes(stage, `${name}.${label}`, {}, where),
      });
      return [
        {
          type: "router",
          def: makeDef("classifier", r.classify, options, name),
          arms: Object.entries(r.arms).map(([label, stage]) => arm(label, stage)),
          fallback: r.fallback === undefined ? null : arm("default", r.fallback),
        },
      ];
    }
    case "fanOut": {
      const f = x as FanOut<unknown, unknown>;
      const used = new Set<string>();
      const branches = f.branches.map((b, i): Branch => {
        const base =
          (!(typeof (b as unknown as Record<symbol, unknown>)[TREE] === "function") && derivedName(b, "")) ||
          `branch${i + 1}`;
        let label = base;
        for (let k = 2; used.has(label); k++) label = `${base}-${k}`;
        used.add(label);
        const nodes = toNodes(b, `${name}.${label}`, {}, where);
        const inner = expandingFanOut(nodes);
        if (inner)
          throw new FlowConfigError(
            `${where}: the fan-out "${inner.name}" expands (a flatMap in a branch) inside a branch of the fan-out "${name}"; a fan-out that expands cannot sit in another fan-out's branch — expand in the outer fan-out's branch, or before or after it`,
            { option: "fn" },
          );
        return { label, nodes };
      });
      const expanding = branches.flatMap((b) => defsIn(b.nodes).filter((d) => d.expand));
      const branchesExpanding = new Set(
        branches.filter((b) => defsIn(b.nodes).some((d) => d.expand)).map((b) => b.label),
      );
      if (branchesExpanding.size > 1)
        throw new FlowConfigError(
          `${where}: the fan-out "${name}" has flatMap stages in ${branchesExpanding.size} branches (${expanding.map((d) => `"${d.name}"`).join(", ")}); each child merges with the other branches' results, so only one branch may expand`,
          { option: "fn" },
        );
      return [{ type: "fanOut", def: makeDef("merge", f.merge, options, name), branches }];
    }
  }
  const composed = (o[TREE] as () => ComposedFlow)();
  if (composed.tree.consumer)
    throw new FlowConfigError(
      `${where}: the flow composed as "${name}" has a consumer; compose flows of transformers (a consumer ends a flow)`,
      { option: "fn" },
    );
  if (composed.tree.nodes.length === 0)
    throw new FlowConfigError(`${where}: the flow composed as "${name}" has no stages`, { option: "fn" });
  return composed.tree.copy(name, composed.defaultStrategy);
}

function subFlowOptions(opts: StageSettings, where: string): StageSettings {
  const extra = Object.keys(opts).filter((k) => k !== "name");
  if (extra.length > 0)
    throw new FlowConfigError(
      `${where}: option "${extra[0]}" does not apply to a composed flow (only "name" does); configure its stages by their dotted names`,
      { option: extra[0]! },
    );
  return opts;
}

function checkBatchQueue(def: StageDef, where: string): void {
  const size = def.batch?.size;
  const q = def.options.queueSize;
  if (size !== undefined && q !== undefined && q < size)
    throw new FlowConfigError(
      `${where}: option "queueSize" = ${q}: expected at least the batch size (${size}); a batch stage's queue holds whole batches`,
      { option: "queueSize" },
    );
}
