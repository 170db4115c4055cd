/**
 * The public surface of `flowrhythm`: the `Flow` builder and its shapes, the scaling strategies,
 * the stats types and the errors. Everything here is imported as `import { … } from "flowrhythm"`.
 *
 * @packageDocumentation
 * @module flowrhythm
 */
export { Flow } from "./flow/flow.js";
export { flow } from "./flow/flow-function.js";
export { perWorker } from "./model/per-worker.js";
export { threaded } from "./model/threaded.js";
export { transfer } from "./model/item/transfer.js";
export { router } from "./model/router.js";
export { fanOut } from "./model/fan-out.js";
export { batch } from "./model/batch.js";
export { flatMap } from "./model/flat-map.js";
export { acked } from "./model/item/acked.js";
export { Last, LastValue } from "./model/item/last.js";
export { Skip } from "./model/item/skip.js";
export { PushHandle } from "./runtime/push-handle.js";
export { reportProgress } from "./observe/progress.js";
export { FixedScaling } from "./scaling/fixed-scaling.js";
export { UtilizationScaling } from "./scaling/utilization-scaling.js";
export { AdaptiveScaling } from "./scaling/adaptive-scaling.js";
export { TargetUtilizationScaling } from "./scaling/target-utilization-scaling.js";
export { ThroughputScaling } from "./scaling/throughput-scaling.js";
export { LatencyBudgetScaling } from "./scaling/latency-budget-scaling.js";
export { PolicyScaling } from "./scaling/policy-scaling.js";
export { MAX_WORKERS } from "./scaling/worker-limits.js";
export { FlowConfigError } from "./errors.js";
export { VirtualClock } from "./clock/virtual-clock.js";
export { systemClock } from "./clock/clock.js";
export { isOverloadError, retryAfterMs } from "./model/overload.js";

export type { RetryOptions, BackoffOptions } from "./model/retry.js";
export type { RateLimitOptions } from "./model/rate-limit.js";
export type { ChainOf } from "./flow/flow-function.js";
export type { Composable, StageFn, StageLike, InOf, OutOf } from "./model/composable.js";
export type { Router, RouterOptions } from "./model/router.js";
export type { FanOut, FanOutOptions, BranchResults } from "./model/fan-out.js";
export type { Batch, BatchOptions, BatchFn } from "./model/batch.js";
export type { FlatMap, FlatMapOptions, FlatMapFn, FlatMapResource, Children } from "./model/flat-map.js";
export type { Acked, AckCallbacks, NackReason, Unacked } from "./model/item/acked.js";
export type { Unlast } from "./model/item/last.js";
export type { SkipValue, Unskip } from "./model/item/skip.js";
export type { PerWorker } from "./model/per-worker.js";
export type { Threaded, ThreadedOptions, ThreadModule, ThreadIn, ThreadOut } from "./model/threaded.js";
export type {
  StageOptions,
  FlowOptions,
  DrainOptions,
  SignalOptions,
  RunOptions,
  DumpOptions,
  PushOptions,
} from "./model/options.js";
export type { SendResult, SendOptions, RefusalReason } from "./runtime/push-handle.js";
export type { QueueDiscipline } from "./model/options.js";
export type {
  Transformer,
  Consumer,
  Source,
  SourceContext,
  StageContext,
  WorkerInfo,
  WorkerResource,
} from "./model/types.js";
export type {
  TransformerError,
  SourceError,
  DeadLetter,
  DeadLetterSink,
  RetryEvent,
  Dropped,
  DropReason,
  Skipped,
  Expanded,
  ListenerError,
  FlowErrorEvent,
  ErrorHandler,
  FlowEvents,
} from "./model/events.js";
export type { ScalingStrategy } from "./scaling/scaling-strategy.js";
export type { FixedScalingOptions } from "./scaling/fixed-scaling.js";
export type { UtilizationScalingOptions } from "./scaling/utilization-scaling.js";
export type { AdaptiveScalingOptions } from "./scaling/adaptive-scaling.js";
export type { TargetUtilizationScalingOptions } from "./scaling/target-utilization-scaling.js";
export type { ThroughputScalingOptions } from "./scaling/throughput-scaling.js";
export type { LatencyBudgetScalingOptions } from "./scaling/latency-budget-scaling.js";
export type { PolicyOptions, ResolvedPolicy } from "./scaling/policy-options.js";
export type { Rates } from "./scaling/policy-scaling.js";
export type { ScaleEvent } from "./model/events.js";
export type { StageStats, FlowStats, FlowState, FlowEnd, LatencySummary } from "./stats/stage-stats.js";
export type { ProgressOptions, ProgressHandle, ProgressStream, ProgressMode } from "./observe/progress.js";
export type {
  StageNode,
  StructureItem,
  StructureBranch,
  StructureEdge,
} from "./plan/structure.js";
export type { FlowConfigErrorCode } from "./errors.js";
export type { Clock } from "./clock/clock.js";
export type { VirtualClockOptions } from "./clock/virtual-clock.js";
