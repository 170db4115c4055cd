import { BatchStage } from "./stage/batch-stage.js";
import type { Channel } from "./queue/channel.js";
import {
  ConsumedSink,
  JoinOutlet,
  type Outlet,
  type OutletHost,
  RouterOutlet,
  SplitOutlet,
} from "./outlet/outlets.js";
import type { Plan, PlanOutlet, PlanStage } from "../plan/plan.js";
import { Stage } from "./stage/stage.js";
import type { StageRun } from "./stage-run.js";

/** A plan made live: its stages, the outlet the producer feeds, and what that outlet is. */
export interface Wiring {
  readonly stages: readonly Stage[];
  /** Feeds the flow; the producer (or push handle) is registered as its one feeder. */
  readonly entry: Outlet;
  /** The stage whose input `entry` is, when it is a plain stage input (a router's included). */
  readonly entryStage: Stage | null;
  /** The stage named in drops of items the entry refused. */
  readonly entryOwner: Stage;
}

/**
 * Builds the running stages of a plan and connects them: each stage to the outlet its plan
 * names (the next stage's channel, a router, a fan-out split or join, or the end), each
 * composite outlet to its targets, registering every connection as a feeder so that inputs
 * close exactly when everything upstream of them is done. `end` is where the flow's outputs
 * go: a stream reader's channel, or consumed.
 */
export function wirePlan(plan: Plan, run: StageRun & OutletHost, end: Channel<unknown> | null): Wiring {
  const stages = plan.stages.map((ps) =>
    ps.spec.batch ? new BatchStage(ps.spec, run) : new Stage(ps.spec, run),
  );
  const sink: Outlet = end ?? new ConsumedSink(run);
  const made = new Map<PlanOutlet, Outlet>();
  const stageOf = (ps: PlanStage): Stage => stages[ps.index]!;
  const outletOf = (p: PlanOutlet): Outlet => {
    if (p.type === "sink") return sink;
    if (p.type === "stage") return stageOf(p.stage).input;
    let o = made.get(p);
    if (o !== undefined) return o;
    switch (p.type) {
      case "router":
        o = new RouterOutlet(
          new Map([...p.arms].map(([label, arm]) => [label, outletOf(arm)])),
          p.fallback ? outletOf(p.fallback) : null,
          stageOf(p.classifier),
        );
        break;
      case "split":
        o = new SplitOutlet(p.branches.map(outletOf), stageOf(p.merge), run, p.nested);
        break;
      case "join":
        o = new JoinOutlet(stageOf(p.merge).input, stageOf(p.merge));
        break;
    }
    made.set(p, o);
    return o;
  };
  plan.stages.forEach((ps, i) => {
    stages[i]!.connect(outletOf(ps.outlet), ps.outlet.type === "sink" && end === null);
  });
  const entry = outletOf(plan.entry);
  entry.addFeeder();
  const first = plan.entry;
  return {
    stages,
    entry,
    entryStage: first.type === "stage" ? stageOf(first.stage) : null,
    entryOwner: first.type === "split" ? stageOf(first.merge) : stages[0]!,
  };
}
