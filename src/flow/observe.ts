import type { TimingSink } from "../stats/latency-recorder.js";
import type { ItemTracer } from "../model/item/tracer.js";
import type { FlowStats } from "../stats/stage-stats.js";

export type { TimingSink } from "../stats/latency-recorder.js";
export type { ItemOutcome, ItemTracer, StageCall } from "../model/item/tracer.js";

/** Where a flow keeps the sinks exporters tap its timing samples with (see {@link tapTimings}). */
export const TIMING_SINKS: unique symbol = Symbol("flowrhythm.timingSinks");

/** Where a flow keeps its item tracer (see {@link traceWith}). */
export const ITEM_TRACER: unique symbol = Symbol("flowrhythm.itemTracer");

/** A flow's hook for `flowrhythm/redis`: a flow of some of its stages, run as a remote segment. */
export const SEGMENT: unique symbol = Symbol("flowrhythm.segment");

/** Where a flow keeps the sinks told of each run's end (see {@link onRunEnd}). */
export const RUN_END_SINKS: unique symbol = Symbol("flowrhythm.runEndSinks");

/** Receives a run's final stats as it ends. */
export type RunEndSink = (stats: FlowStats) => void;

/** The hooks exporters reach a flow by ({@link tapTimings}, {@link onRunEnd}, {@link traceWith}): a `Flow` has them. */
export interface FlowHooks {
  readonly [TIMING_SINKS]: Set<TimingSink>;
  readonly [RUN_END_SINKS]: Set<RunEndSink>;
  [ITEM_TRACER]: ItemTracer | null;
}

/**
 * Hands `sink` the timing samples of `flow`'s stages as they are folded into its histograms (on
 * the flow's tick, or when someone reads its stats), in this run and every later one, until the
 * returned function is called. For exporters (OpenTelemetry, Prometheus): they see what the flow
 * times — one call in `timingSampleEvery` — at no cost per item. A sink that throws is ignored.
 */
export function tapTimings(flow: FlowHooks, sink: TimingSink): () => void {
  flow[TIMING_SINKS].add(sink);
  return () => {
    flow[TIMING_SINKS].delete(sink);
  };
}

/**
 * Traces `flow`'s items with `tracer` from its next run on (a run in progress keeps what it
 * started with), until the returned function is called. One tracer at a time: a second one
 * replaces the first.
 */
export function traceWith(flow: FlowHooks, tracer: ItemTracer): () => void {
  flow[ITEM_TRACER] = tracer;
  return () => {
    if (flow[ITEM_TRACER] === tracer) flow[ITEM_TRACER] = null;
  };
}

/**
 * Hands `sink` each run's final stats as the run ends — before any listener of `drained` or
 * `stopped` runs, so a listener that starts the next run at once cannot take the ended run's
 * last counts with it — until the returned function is called. For exporters whose counters
 * carry over runs. A sink that throws is ignored.
 */
export function onRunEnd(flow: FlowHooks, sink: RunEndSink): () => void {
  flow[RUN_END_SINKS].add(sink);
  return () => {
    flow[RUN_END_SINKS].delete(sink);
  };
}

/** A run of `flow` has ended: its sinks get the final stats (see {@link onRunEnd}). */
export function runEnded(flow: FlowHooks & { stats(): FlowStats }): void {
  if (flow[RUN_END_SINKS].size === 0) return;
  const stats = flow.stats();
  for (const sink of flow[RUN_END_SINKS]) {
    try {
      sink(stats);
    } catch {}
  }
}
