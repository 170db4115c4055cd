export { Flow } from "./flow/flow.js";
export { flow } from "./flow/flow-function.js";
export { perWorker } from "./flow/per-worker.js";
export { router } from "./flow/router.js";
export { fanOut } from "./flow/fan-out.js";
export { batch } from "./flow/batch.js";
export { Last, LastValue } from "./flow/last.js";
export { PushHandle } from "./flow/push-handle.js";
export { FixedScaling } from "./scaling/fixed-scaling.js";
export { UtilizationScaling } from "./scaling/utilization-scaling.js";
export { AdaptiveScaling } from "./scaling/adaptive-scaling.js";
export { TargetUtilizationScaling } from "./scaling/target-utilization-scaling.js";
export { ThroughputScaling } from "./scaling/throughput-scaling.js";
export { LatencyBudgetScaling } from "./scaling/latency-budget-scaling.js";
export { PolicyScaling } from "./scaling/policy-scaling.js";
export { MAX_WORKERS } from "./scaling/worker-limits.js";
export { FlowConfigError } from "./internal/flow-config-error.js";
export { VirtualClock } from "./internal/virtual-clock.js";
export { systemClock } from "./internal/clock.js";
export { isOverloadError, retryAfterMs } from "./flow/overload.js";

export type { RetryOptions, BackoffOptions } from "./flow/retry.js";
export type { RateLimitOptions } from "./flow/rate-limit.js";
export type { ChainOf } from "./flow/flow-function.js";
export type { Composable, StageFn, StageLike, InOf, OutOf } from "./flow/composable.js";
export type { Router, RouterOptions } from "./flow/router.js";
export type { FanOut, FanOutOptions, BranchResults } from "./flow/fan-out.js";
export type { Batch, BatchOptions, BatchFn } from "./flow/batch.js";
export type { Unlast } from "./flow/last.js";
export type { PerWorker } from "./flow/per-worker.js";
export type {
  StageOptions,
  FlowOptions,
  DrainOptions,
  SignalOptions,
  RunOptions,
  DumpOptions,
  PushOptions,
} from "./flow/options.js";
export type { SendResult, SendOptions, RefusalReason } from "./flow/push-handle.js";
export type { QueueDiscipline } from "./flow/bounded-queue.js";
export type {
  Transformer,
  Consumer,
  Source,
  SourceContext,
  StageContext,
  WorkerInfo,
  WorkerResource,
} from "./flow/types.js";
export type {
  TransformerError,
  SourceError,
  DeadLetter,
  DeadLetterSink,
  RetryEvent,
  Dropped,
  DropReason,
  ListenerError,
  FlowErrorEvent,
  ErrorHandler,
  FlowEvents,
} from "./flow/events.js";
export type { ScalingStrategy } from "./scaling/scaling-strategy.js";
export type { FixedScalingOptions } from "./scaling/fixed-scaling.js";
export type { UtilizationScalingOptions } from "./scaling/utilization-scaling.js";
export type { AdaptiveScalingOptions } from "./scaling/adaptive-scaling.js";
export type { TargetUtilizationScalingOptions } from "./scaling/target-utilization-scaling.js";
export type { ThroughputScalingOptions } from "./scaling/throughput-scaling.js";
export type { LatencyBudgetScalingOptions } from "./scaling/latency-budget-scaling.js";
export type { PolicyOptions, ResolvedPolicy } from "./scaling/policy-options.js";
export type { Rates } from "./scaling/policy-scaling.js";
export type { ScaleEvent } from "./scaling/scaling-controller.js";
export type { StageStats, FlowStats, FlowState, FlowEnd, LatencySummary } from "./stats/stage-stats.js";
export type {
  StageNode,
  StructureItem,
  StructureBranch,
  StructureEdge,
} from "./stats/render-dump.js";
export type { FlowConfigErrorCode } from "./internal/flow-config-error.js";
export type { Clock } from "./internal/clock.js";
export type { VirtualClockOptions } from "./internal/virtual-clock.js";
