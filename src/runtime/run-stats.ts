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
