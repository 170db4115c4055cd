import type { StageContext, WorkerInfo, WorkerResource } from "../../model/types.js";
import type { CallSignal } from "./call-signal.js";
import { closeResource, openResource, type ResourceWorker } from "./worker-resource.js";
import type { PoolEvents } from "./worker-resource.js";

/**
 * One worker's way to make calls, from the moment it starts to the moment it leaves: a resource
 * a `perWorker` factory set up for it, or a thread of its own (`threaded`).
 */
export interface Lane {
  /**
   * The function the worker calls once per attempt, directly: for calls in this event loop it is
   * the stage's function itself, so the seam costs nothing per item. A result, a promise of
   * one, or a throw; across threads a crash of the thread rejects the call in flight (the
   * attempt fails like any other, and retries apply).
   */
  readonly call: (item: unknown, ctx: StageContext) => unknown;
  /** Calls fail with a setup error: nothing behind the lane answered (never counted as overload). */
  readonly broken: boolean;
  /**
   * Closes the lane once its worker is done: waits for calls a timeout left running, then gives
   * back what `open` took (a resource's `close()`, a thread) — each wait bounded by the flow's
   * `closeTimeoutMs`, and reported when it is not met. Never rejects.
   */
  close(calls: CallSignal): Promise<void>;
}

/**
 * Where a stage's calls run: in this event loop (`InLoopCalls`) or in worker threads
 * (`ThreadCalls`). Each worker opens a lane when it starts, calls through it, and closes it when
 * it leaves; the worker pool sizes the lanes like any workers.
 *
 * What calls in another thread honour (both implementations pass the contract suite,
 * `test/contracts/call-site.contract.ts`):
 * - An error reaches the stage with its name, message, own properties and cause: `overloadOn`,
 *   `retryAfterMs` and `retryOn` read them, and structured clone alone drops them.
 * - A lane recovers by itself: a thread that crashed fails the call in flight and is replaced on
 *   the next call (its setup runs again), so the item's retry — which stays with its worker —
 *   finds a working lane.
 * - `ctx` does not cross as it is: `ctx.worker.data` lives where the calls run, one thread per
 *   lane (a shared pool could not pin one worker's calls to one thread), and a call whose signal
 *   aborts is ended where it runs — its thread terminated, and replaced on the next call — which
 *   in this event loop cannot be done.
 */
export interface CallSite {
  /**
   * How an item reaches a call and a result comes back: `shared` (the very value, in this event
   * loop) or `cloned` (a structured clone, across threads: functions, symbols and class
   * prototypes do not survive, and large buffers should be transferred rather than copied).
   */
  readonly values: "shared" | "cloned";
  /**
   * Opens a lane for `worker`; a string says why it could not (its pool backs off before the next
   * worker tries: see `WorkerPool.setupFailed`). `worker.abandoned` set meanwhile: what was opened
   * is closed at once and the answer is a string.
   */
  open(worker: ResourceWorker): Lane | string | Promise<Lane | string>;
  /** Called on the flow's tick: takes readings of where the calls run (threads' utilization). */
  tick?(): void;
  /**
   * `stop()` gave up on the stage's workers: ends what they leave behind that would outlive the
   * run (threads still starting, or still in a call or a close).
   */
  abandon?(): void;
}

/** A lane for a stage's plain function: calls it as it is, and has nothing to close but late calls. */
function plainLane(worker: ResourceWorker, fn: (item: unknown, ctx: StageContext) => unknown): Lane {
  return { call: fn, broken: false, close: (calls) => closeResource(worker, null, calls) };
}

/** A lane over a worker's own resource: `process` per call, `close()` at the end. */
export function resourceLane(worker: ResourceWorker, resource: WorkerResource<unknown, unknown>): Lane {
  return {
    call: (item, ctx) => resource.process(item, ctx),
    broken: false,
    close: (calls) => closeResource(worker, resource, calls),
  };
}

/**
 * Calls in this event loop: the stage's function, or each worker's `perWorker` resource. Once
 * the factory has failed too often with no worker running, lanes are broken: their calls fail
 * with the setup error, so the stage's items reach an outcome instead of waiting for a worker
 * that never comes.
 */
export class InLoopCalls implements CallSite {
  readonly values = "shared" as const;

  constructor(
    private readonly fn: ((item: unknown, ctx: StageContext) => unknown) | null,
    private readonly factory:
      | ((worker: WorkerInfo) => WorkerResource<any, any> | PromiseLike<WorkerResource<any, any>>)
      | null,
    private readonly pool: PoolEvents,
  ) {}

  open(worker: ResourceWorker): Lane | string | Promise<Lane | string> {
    const factory = this.factory;
    if (factory === null) return plainLane(worker, this.fn!);
    return openLane(worker, this.pool, factory);
  }
}

/**
 * Opens a lane over the resource `factory` makes for `worker`, or a broken lane once the pool's
 * setups have failed for good (its calls fail with the setup error).
 */
export function openLane(
  worker: ResourceWorker,
  pool: PoolEvents,
  factory: (info: WorkerInfo) => unknown,
): Lane | Promise<Lane | string> {
  const error = pool.setupError;
  if (error !== null)
    return {
      call: () => {
        throw error;
      },
      broken: true,
      close: (calls) => closeResource(worker, null, calls),
    };
  return openResource(worker, factory).then((r) => (typeof r === "string" ? r : resourceLane(worker, r)));
}
