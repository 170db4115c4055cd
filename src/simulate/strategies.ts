import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { AdaptiveScaling } from "../scaling/adaptive-scaling.js";
import { FixedScaling } from "../scaling/fixed-scaling.js";
import { LatencyBudgetScaling } from "../scaling/latency-budget-scaling.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import { TargetUtilizationScaling } from "../scaling/target-utilization-scaling.js";
import { ThroughputScaling } from "../scaling/throughput-scaling.js";
import { UtilizationScaling } from "../scaling/utilization-scaling.js";
import { parseScenario, type Scenario } from "./scenario.js";

/** The strategies the simulator knows by name, each with its defaults but `maxWorkers`. */
export const STRATEGY_NAMES = [
  "adaptive",
  "target-utilization",
  "throughput",
  "latency-budget",
  "utilization",
  "fixed",
] as const;

/** The strategies the simulator knows by name (`flowrhythm simulate --strategy`). */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** The highest N_ref of a scenario: what `fixed` runs with (a pool sized for the peak). */
export const peakRef = (s: Pick<Scenario, "phases">): number => Math.max(...s.phases.map((p) => p.nRef));

/**
 * A fresh strategy for a run. Every one gets the scenario's `maxWorkers` (256 unless set), the
 * adaptive ones its `initialWorkers` too, and their own defaults otherwise; `latency-budget` gets
 * a budget of twice the scenario's processing time and `fixed` the scenario's peak N_ref.
 */
export function strategyFor(name: StrategyName, input: Scenario): ScalingStrategy {
  const scenario = parseScenario(input);
  const { maxWorkers, initialWorkers } = scenario;
  switch (name) {
    case "adaptive":
      return new AdaptiveScaling({ maxWorkers, initialWorkers });
    case "target-utilization":
      return new TargetUtilizationScaling({ maxWorkers, initialWorkers });
    case "throughput":
      return new ThroughputScaling({ maxWorkers, initialWorkers });
    case "latency-budget":
      return new LatencyBudgetScaling({
        latencyBudgetMs: 2 * scenario.serviceMs,
        maxWorkers,
        initialWorkers,
      });
    case "utilization":
      return new UtilizationScaling({ maxWorkers });
    case "fixed":
      return new FixedScaling({ workers: peakRef(scenario) });
    default:
      throw new FlowConfigError(
        `strategyFor: name = ${describeValue(name)}: expected one of ${STRATEGY_NAMES.join(", ")}`,
        { option: "name" },
      );
  }
}
