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
  readonly name: string;
  readonly total: number | null;
}

/** A run's stats snapshot; `children` is how many items its `flatMap` stages made. */
export function runStats(run: RunCounts, children: number): FlowStats {
  const stages: StageStats[] = run.stages.map((s) => s.metrics.snapshot());
  const o = run.outcomes;
  const now = run.clock.now();
  const done = run.consumed + o.failed + o.dropped + o.skipped + o.expanded;
  return Object.freeze({
    name: run.name,
    state: run.state,
    now,
    startedAt: run.startedAt,
    itemsIn: run.itemsIn,
    total: run.total,
    etaMs: eta(run, children, done, now),
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

/**
 * Time left at the mean pace since the start: the items still to finish (the source's total and
 * the children made so far, less those done) over the items done per ms. `null` without a total
 * or before an item finished; 0 once the run has ended.
 */
function eta(run: RunCounts, children: number, done: number, now: number): number | null {
  if (run.state === "drained" || run.state === "stopped") return 0;
  if (run.total === null || done === 0) return null;
  const left = Math.max(0, run.total + children - done);
  const elapsed = Math.max(0, now - run.startedAt);
  return (left * elapsed) / done;
}

/** The stats of a flow that has not started. */
export function idleStats(now: number, name: string): FlowStats {
  return {
    name,
    state: "idle",
    now,
    startedAt: null,
    itemsIn: 0,
    total: null,
    etaMs: null,
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
