import { emptyDropCounts } from "../model/events.js";
import type { Clock } from "../clock/clock.js";
import type { FlowEnd, FlowState, FlowStats, StageStats } from "../stats/stage-stats.js";
import type { Outcomes } from "./outcomes.js";
import type { Stage } from "./stage/stage.js";

/** What a stats snapshot reads of a run. */
interface RunCounts {
  readonly stages: readonly Stage[];
  readonly outcomes: Outcomes;
  readonly state: FlowState;
  readonly clock: Clock;
  readonly startedAt: number;
  readonly itemsIn: number;
  readonly consumed: number;
  readonly endedBy: FlowEnd | null;
}

/** A run's stats snapshot; `children` is how many items its `flatMap` stages made. */
export function runStats(run: RunCounts, children: number): FlowStats {
  const stages: StageStats[] = run.stages.map((s) => s.metrics.snapshot());
  const o = run.outcomes;
  return Object.freeze({
    state: run.state,
    now: run.clock.now(),
    startedAt: run.startedAt,
    itemsIn: run.itemsIn,
    consumed: run.consumed,
    failed: o.failed,
    dropped: o.dropped,
    droppedByReason: Object.freeze({ ...o.dropReasons }),
    skipped: o.skipped,
    expanded: o.expanded,
    children,
    inFlight: run.itemsIn + children - run.consumed - o.failed - o.dropped - o.skipped - o.expanded,
    endedBy: run.endedBy,
    listenerErrors: o.listenerErrors,
    stages: Object.freeze(stages),
  });
}

/** The stats of a flow that has not started. */
export function idleStats(now: number): FlowStats {
  return {
    state: "idle",
    now,
    startedAt: null,
    itemsIn: 0,
    consumed: 0,
    failed: 0,
    dropped: 0,
    droppedByReason: emptyDropCounts(),
    skipped: 0,
    expanded: 0,
    children: 0,
    inFlight: 0,
    endedBy: null,
    listenerErrors: 0,
    stages: [],
  };
}
