import { availableParallelism } from "node:os";
import type { ErrorHandler } from "../model/events.js";
import type { FlowSettings } from "../model/options.js";
import type { RuntimeConfig, SegmentLaunch } from "../runtime/stage-run.js";
import { ITEM_TRACER, TIMING_SINKS, type FlowHooks } from "./observe.js";

/**
 * `maxThreads` when not set: one thread more than the cores Node reports. The extra thread keeps
 * every core busy while a result crosses back and the next item crosses in (on 2 cores, piscina's
 * best for a 1 ms pure-JS job was 3 threads: 1.73× the event loop, against 1.63× with 2); the
 * thread budget holds busy threads at the cores actually in use + 1 either way.
 */
export const defaultMaxThreads = (): number => availableParallelism() + 1;

/** A run's settings, from the flow's options and what the call that started it was given. */
export function runtimeConfig(
  o: FlowSettings,
  handler: ErrorHandler | undefined,
  flow: RuntimeConfig["events"] & FlowHooks,
  maxWaitingSends: number,
  total: number | null | undefined,
  segment: SegmentLaunch | null = null,
): RuntimeConfig {
  return {
    name: o.name,
    total: total ?? null,
    timingSinks: flow[TIMING_SINKS],
    tracer: flow[ITEM_TRACER],
    clock: o.clock,
    random: o.random ?? Math.random,
    tickMs: o.tickMs,
    statsIntervalMs: o.statsIntervalMs,
    statsWindowMs: o.statsWindowMs,
    sampleEvery: o.timingSampleEvery,
    handler,
    deadLetter: o.deadLetter,
    handlerTimeoutMs: o.handlerTimeoutMs,
    closeTimeoutMs: o.closeTimeoutMs,
    events: flow,
    maxTotalWorkers: o.maxTotalWorkers,
    maxThreads: o.maxThreads ?? defaultMaxThreads(),
    maxThreadsAsked: o.maxThreads !== undefined,
    maxWaitingSends,
    segment,
  };
}
