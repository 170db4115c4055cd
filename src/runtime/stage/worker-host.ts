import type { DeadLetterSink, DropReason } from "../../model/events.js";
import type { RetryPolicy } from "../../model/retry.js";
import type { EntryKind } from "../../plan/stage-spec.js";
import type { StageMetrics } from "../../stats/stage-metrics.js";
import type { Outlet } from "../outlet/outlets.js";
import type { ReorderBuffer } from "../outlet/reorder-buffer.js";
import type { StageQueue } from "../queue/stage-queue.js";
import type { ScalingController } from "../scaling/scaling-controller.js";
import type { StageRun } from "../stage-run.js";
import type { CallSite } from "./call-site.js";
import type { PoolEvents } from "./worker-resource.js";
import type { RateLimiter } from "./rate-limiter.js";

/** A worker's state; each worker is in exactly one, and the stage's stats count them. */
export const WorkerState = {
  Starting: 0,
  Idle: 1,
  Busy: 2,
  Blocked: 3,
  Exited: 4,
  Retrying: 5,
  RateLimited: 6,
} as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/** A worker as its stage's pool holds it. */
export interface PooledWorker {
  state: WorkerState;
  /** Set when the worker should exit after its current item. */
  retiring: boolean;
  /** Settles once the worker has exited and its resource is closed. */
  readonly exited: Promise<void>;
  /** Starts the worker's loop; the pool has counted it as starting. */
  start(): void;
  /** `stop()` gave up waiting for the worker (see `StageWorker.abandon`). */
  abandon(): void;
}

/**
 * What a worker needs of its stage, and all it may use: the stage's settings, its input, its
 * counters and where its outputs go. A `Stage` is one; a worker never sees the stage's wiring,
 * its pool's sizing or its lifecycle.
 */
export interface WorkerHost {
  readonly name: string;
  readonly run: StageRun;
  readonly input: StageQueue<unknown>;
  readonly metrics: StageMetrics;
  readonly controller: ScalingController;
  readonly reorder: ReorderBuffer | null;
  /** Where outputs go now (the wired outlet, or a drop outlet once the stage is cut off). */
  readonly outlet: Outlet;
  readonly entryKind: EntryKind;
  readonly classifier: boolean;
  /** Inside a fan-out branch: `Last` is not allowed there. */
  readonly inBranch: boolean;
  /** Set once a `Last` elsewhere cut the stage off: what it still produces is dropped. */
  readonly cut: boolean;
  /** Where the stage's calls run. */
  readonly calls: CallSite;
  readonly retry: RetryPolicy | null;
  readonly timeoutMs: number;
  readonly overloadOn: (error: unknown) => boolean;
  readonly limiter: RateLimiter | null;
  readonly deadLetter: DeadLetterSink | null;
  readonly pool: PoolEvents;
  /** The argument the stage's function gets for a queue entry. */
  arg(entry: unknown): unknown;
  /** What goes downstream when the function returned `out` for `entry`. */
  output(entry: unknown, out: unknown): unknown;
  /** Moves `worker` to `state`, keeping the stage's counts of each state. */
  setState(worker: { state: WorkerState }, state: WorkerState): void;
  /** Reports an entry failed for good (after `attempt` attempts). */
  failed(entry: unknown, id: number, error: unknown, attempt: number, own?: boolean): Promise<void>;
  /** Reports an entry dropped. */
  drop(entry: unknown, id: number, reason: DropReason, own?: boolean): void;
  /** Reports an entry skipped (its stage's function returned `Skip`). */
  skipped(entry: unknown, id: number): void;
  /** Reports an entry expanded by a `flatMap` into `children` items. */
  expanded(entry: unknown, id: number, children: number): void;
  /** The outlet for a `Last` value; the stage's other outputs are dropped from now on. */
  takeOutletForLast(): Outlet;
  /** `worker` has exited; `why` says why, when no decision retired it. */
  workerExited(worker: PooledWorker, why: string): void;
  closeFailed(error: unknown): void;
  /** A worker's resource will not be closed in time. */
  resourceUnclosed(why: string): void;
}
