import { describeValue } from "../../internal/describe.js";
import { isThenable } from "../../internal/is-thenable.js";
import { TIMED_OUT, within } from "../../clock/within.js";
import type { CallSignal } from "./call-signal.js";
import type { StageRun } from "../stage-run.js";
import type { WorkerInfo, WorkerResource } from "../../model/types.js";

/** What a worker's pool hears from it about its resource (a `perWorker` factory's). */
export interface PoolEvents {
  /** Set once the factory failed too often with no worker running: calls fail with it. */
  readonly setupError: Error | null;
  setupFailed(error: unknown): void;
  setupSucceeded(): void;
  /** A worker whose resource was set up has exited. */
  readyExited(): void;
}

/** What opening and closing a resource needs of the worker's stage (a `WorkerHost`). */
interface ResourceStage {
  readonly name: string;
  readonly run: StageRun;
  readonly pool: PoolEvents;
  closeFailed(error: unknown): void;
  resourceUnclosed(why: string): void;
}

/** What opening and closing a resource needs of its worker (a `StageWorker`). */
export interface ResourceWorker {
  readonly stage: ResourceStage;
  readonly info: WorkerInfo;
  readonly abandoned: boolean;
  resourceOpen: boolean;
}

const isResource = (r: unknown): r is WorkerResource<unknown, unknown> =>
  typeof r === "object" &&
  r !== null &&
  typeof (r as { process?: unknown }).process === "function" &&
  ((r as { close?: unknown }).close === undefined || typeof (r as { close?: unknown }).close === "function");

/** Closes a resource nobody waits for any more (its worker was abandoned); errors are ignored. */
function closeQuietly(resource: unknown): void {
  if (!isResource(resource) || typeof resource.close !== "function") return;
  try {
    const r = resource.close();
    if (isThenable(r)) r.then(undefined, () => {});
  } catch {}
}

/**
 * Runs the stage's `perWorker` factory for `worker`: the resource, or why the worker must exit
 * (the factory threw or rejected — the stage backs off — or returned something that is not a
 * resource, which counts as a failed setup too). A factory that never settles holds the worker in
 * its starting state; `stop()` abandons it after `closeTimeoutMs`, and a resource that arrives
 * after that is closed at once.
 */
export async function openResource(
  worker: ResourceWorker,
  factory: (info: WorkerInfo) => unknown,
): Promise<WorkerResource<unknown, unknown> | string> {
  const stage = worker.stage;
  let made: unknown;
  const run = stage.run;
  try {
    // Counted like a stage call: a stop()/drain() from the factory's synchronous part resolves at once.
    run.inCall++;
    let m: unknown;
    try {
      m = factory(worker.info);
    } finally {
      run.inCall--;
    }
    made = isThenable(m) ? await m : m;
  } catch (error) {
    if (worker.abandoned) return "abandoned";
    stage.pool.setupFailed(error);
    return "perWorker factory failed";
  }
  if (worker.abandoned) {
    closeQuietly(made);
    return "abandoned";
  }
  if (!isResource(made)) {
    stage.pool.setupFailed(
      new TypeError(
        `stage "${stage.name}": the perWorker factory returned ${describeValue(made)}; expected { process(item, ctx), close?() } (close, when given, a function)`,
      ),
    );
    return "perWorker factory returned no resource";
  }
  stage.pool.setupSucceeded();
  worker.resourceOpen = true;
  return made;
}

/**
 * The worker is done: waits for the calls a timeout left running, then closes its resource —
 * each wait bounded by `closeTimeoutMs`. A close that does not settle in time is reported as not
 * closed (and the worker exits without it); a close that throws is logged. With no resource
 * there is nothing those calls could be using: the worker leaves at once (a call that ignores its
 * signal held a plain stage's last worker, and `wait()`, for `closeTimeoutMs` after the last item).
 */
export async function closeResource(
  worker: ResourceWorker,
  resource: WorkerResource<unknown, unknown> | null,
  calls: CallSignal,
): Promise<void> {
  if (resource === null) return;
  const stage = worker.stage;
  const run = stage.run;
  if (calls.hasLate && (await within(run.clock, calls.lateSettled(), run.closeTimeoutMs)) === TIMED_OUT)
    run.workerFault(
      stage.name,
      "calls abandoned by timeoutMs did not settle within closeTimeoutMs; the worker goes on without them",
      undefined,
    );
  stage.pool.readyExited();
  if (typeof resource.close !== "function") {
    worker.resourceOpen = false;
    return;
  }
  try {
    const r = resource.close();
    if (isThenable(r) && (await within(run.clock, r, run.closeTimeoutMs)) === TIMED_OUT) {
      if (!worker.abandoned) stage.resourceUnclosed("its close() did not settle within closeTimeoutMs");
      return;
    }
  } catch (error) {
    if (!worker.abandoned) stage.closeFailed(error);
  }
  worker.resourceOpen = false;
}
