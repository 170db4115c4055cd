import { isCallable } from "../internal/callable.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { tryGet } from "../internal/read-value.js";
import type { WorkerInfo, WorkerResource } from "./types.js";

export const PER_WORKER: unique symbol = Symbol.for("flowrhythm.perWorker");

/** A stage built from a per-worker resource factory; made by {@link perWorker}. */
export interface PerWorker<In, Out> {
  /** @internal Marks a per-worker stage for the builder. */
  readonly [PER_WORKER]: true;
  /** Builds one worker's resource; called once per worker. */
  readonly factory: (worker: WorkerInfo) => WorkerResource<In, Out> | PromiseLike<WorkerResource<In, Out>>;
}

/**
 * A stage whose workers each own a resource (a connection, a client, a child process). The
 * factory runs once when a worker starts; the resource's `close` runs exactly once when that
 * worker stops, whatever the reason: scale-down, drain, `stop()`, or an exception.
 *
 * @example
 * ```ts
 * flow.addTransformer(perWorker(async () => {
 *   const db = await connect();
 *   return { process: (row: Row) => db.insert(row), close: () => db.end() };
 * }), { name: "store" });
 * ```
 */
export function perWorker<In, Out>(
  factory: (worker: WorkerInfo) => WorkerResource<In, Out> | PromiseLike<WorkerResource<In, Out>>,
): PerWorker<In, Out> {
  if (!isCallable(factory)) {
    throw new FlowConfigError(
      `perWorker: factory = ${describeValue(factory)}: expected a factory function (worker) => ({ process, close? }); a class is not one (wrap it: () => new X())`,
      { option: "factory" },
    );
  }
  return { [PER_WORKER]: true, factory };
}

export function isPerWorker(value: unknown): value is PerWorker<unknown, unknown> {
  return typeof value === "object" && value !== null && tryGet(value, PER_WORKER) === true;
}
