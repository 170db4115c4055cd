import { expect } from "vitest";
import { FlowConfigError, type FlowErrorEvent } from "../src/index.js";
import type { Clock } from "../src/index.js";
import { runVirtual as runToEnd, VirtualClock } from "../src/testing.js";

export { flowStats, stageStats } from "../src/testing.js";
import type { Flow } from "../src/index.js";

/** Resolves after `ms` on the given clock; rejects with the signal's reason if it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Starts a flow on a virtual clock and advances time until it has finished. */
export function runVirtual(flow: Flow<any, any>, clock: VirtualClock, maxMs = 600_000): Promise<void> {
  return runToEnd(flow, clock, { maxMs });
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export { VirtualClock };

/**
 * Ends a property scenario's run: naturally, or with `drain()`, `drain({ timeoutMs: 20 })` or
 * `stop()` once `atMs` of virtual time have passed; then advances time until `finished()` holds.
 */
export async function endRun(
  flow: Flow<any, any>,
  clock: VirtualClock,
  end: "natural" | "drain" | "drainDeadline" | "stop",
  atMs: number,
  finished: () => boolean,
  maxMs: number,
): Promise<void> {
  if (end !== "natural") {
    await clock.advance(atMs);
    if (end === "drain") void flow.drain();
    else if (end === "drainDeadline") void flow.drain({ timeoutMs: 20 });
    else void flow.stop();
  }
  await clock.runUntil(finished, { stepMs: 5, maxMs });
}

/**
 * Checks conservation for items `{ id }` numbered from 0 (in flows that never skip): the ids
 * consumed, failed and dropped are exactly the ids taken, once each, and the flow's counters match. Returns the failed and
 * dropped ids.
 */
export function expectConservation(
  flow: Flow<any, any>,
  consumed: readonly number[],
  events: readonly FlowErrorEvent[],
): { failed: number[]; dropped: number[] } {
  const ids = (type: string) =>
    events.flatMap((e) => (e.type === type ? [(e as { item: { id: number } }).item.id] : []));
  const failed = ids("TransformerError");
  const dropped = ids("Dropped");
  const s = flow.stats();
  expect([...consumed, ...failed, ...dropped].sort((a, b) => a - b)).toEqual(
    Array.from({ length: s.itemsIn }, (_, i) => i),
  );
  expect(s).toMatchObject({
    inFlight: 0,
    consumed: consumed.length,
    failed: failed.length,
    dropped: dropped.length,
    skipped: 0,
  });
  return { failed, dropped };
}

/** `[first, <hole>, last]`: a sparse array (`[a, , b]` says the same, but reads as a typo). */
export function withHole(first: unknown, last: unknown): unknown[] {
  const a: unknown[] = [first];
  a[2] = last;
  return a;
}

/** The `FlowConfigError` `f` throws (the test fails if it throws something else, or nothing). */
export function configErrorOf(f: () => unknown): FlowConfigError {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(FlowConfigError);
  return error as FlowConfigError;
}
