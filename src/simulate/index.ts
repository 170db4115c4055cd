/**
 * `flowrhythm/simulate`: the scaling scenario simulator (the real `Flow` under virtual time), the
 * built-in scenarios S1–S13 and the held-out workloads, the metrics and the bar they are judged by.
 *
 * @packageDocumentation
 * @module flowrhythm/simulate
 */
export { simulate, BIN_MS, phaseStarts } from "./simulate.js";
export type { SimulateOptions, SimulationResult, RunRecord } from "./simulate.js";
export { computeMetrics, nearRef } from "./metrics.js";
export type { ScenarioMetrics } from "./metrics.js";
export { BEYOND, SCENARIOS, parseScenario, shortened } from "./scenario.js";
export type { Scenario, Phase } from "./scenario.js";
export { STRATEGY_NAMES, strategyFor, peakRef } from "./strategies.js";
export type { StrategyName } from "./strategies.js";
export { checkBar, meanMetrics } from "./bar.js";
export type { BarCheck } from "./bar.js";
export { formatMetricsTable } from "./table.js";
export { FifoSemaphore } from "./fifo-semaphore.js";
export { HELD_OUT, checkHeldOut } from "./held-out.js";
export type { HeldOut } from "./held-out.js";
