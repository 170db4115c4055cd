import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/index.js";
import type { StageContext, WorkerInfo } from "../../src/index.js";
import { CallSignal } from "../../src/runtime/stage/call-signal.js";
import type { CallSite, Lane } from "../../src/runtime/stage/call-site.js";
import type { PoolEvents, ResourceWorker } from "../../src/runtime/stage/worker-resource.js";

/** A stage's function, and optionally a per-lane setup and close (like `perWorker`). */
export interface CallDef {
  fn: (item: unknown, ctx: StageContext) => unknown;
  setup?: (info: WorkerInfo) => unknown;
  close?: (info: WorkerInfo) => unknown;
}

/** Builds a call site for `def` whose setup results go to `pool`. */
export type MakeCallSite = (def: CallDef, pool: PoolEvents) => CallSite;

/** A pool that records what it heard, and a worker that belongs to it. */
function harness(closeTimeoutMs = 200) {
  const heard: string[] = [];
  const faults: string[] = [];
  const pool: PoolEvents = {
    setupError: null,
    setupFailed: (e) => heard.push(`failed: ${(e as Error).message}`),
    setupSucceeded: () => heard.push("ready"),
    readyExited: () => heard.push("ready exited"),
  };
  const abort = new AbortController();
  const worker: ResourceWorker = {
    stage: {
      name: "s",
      run: {
        clock: systemClock,
        closeTimeoutMs,
        inCall: 0,
        workerFault: (_s: string, what: string) => faults.push(what),
      } as unknown as ResourceWorker["stage"]["run"],
      pool,
      closeFailed: (e) => faults.push(`close threw: ${(e as Error).message}`),
      resourceUnclosed: (why) => faults.push(`unclosed: ${why}`),
    },
    info: { id: 1, data: {} },
    abandoned: false,
    resourceOpen: false,
  };
  const ctx = { signal: abort.signal, attempt: 1, stage: "s", worker: worker.info } as StageContext;
  const calls = new CallSignal(abort.signal, false);
  return { heard, faults, pool, worker, ctx, calls };
}

async function openLane(site: CallSite, worker: ResourceWorker): Promise<Lane | string> {
  return await site.open(worker);
}

async function callOf(lane: Lane, item: unknown, ctx: StageContext): Promise<unknown> {
  return await lane.call(item, ctx);
}

/**
 * What every {@link CallSite} must do, wherever its calls run: results and errors come back, a
 * lane's setup runs once and its close once, a failed setup is an answer (not a throw) the pool
 * hears of, and closing never rejects nor waits past the deadline.
 */
export function callSiteContract(name: string, make: MakeCallSite): void {
  describe(`CallSite contract: ${name}`, () => {
    it("returns each call's result, sync or async, with the item and the context it was given", async () => {
      const h = harness();
      const site = make(
        {
          fn: (item, ctx) => (typeof item === "number" ? item * 2 : Promise.resolve(`${ctx.stage}:${item}`)),
        },
        h.pool,
      );
      const lane = await openLane(site, h.worker);
      if (typeof lane === "string") throw new Error(lane);
      expect(await callOf(lane, 21, h.ctx)).toBe(42);
      expect(await callOf(lane, "x", h.ctx)).toBe("s:x");
      const value = { deep: [1, { two: 2 }] };
      const echoed = await callOf(
        (await openLane(make({ fn: (v) => v }, h.pool), h.worker)) as Lane,
        value,
        h.ctx,
      );
      expect(echoed).toEqual(value);
      if (site.values === "shared") expect(echoed).toBe(value);
      await lane.close(h.calls);
    });

    it("surfaces a throw and a rejection of the function as a failed call, and the lane goes on", async () => {
      const h = harness();
      const site = make(
        {
          fn: (item) => {
            if (item === "throw") throw new Error("sync boom");
            if (item === "reject") return Promise.reject(new Error("async boom"));
            return "fine";
          },
        },
        h.pool,
      );
      const lane = (await openLane(site, h.worker)) as Lane;
      await expect(callOf(lane, "throw", h.ctx)).rejects.toThrow("sync boom");
      await expect(callOf(lane, "reject", h.ctx)).rejects.toThrow("async boom");
      expect(await callOf(lane, "ok", h.ctx)).toBe("fine");
      expect(lane.broken).toBe(false);
    });

    it("runs a lane's setup once when it opens and its close once when it closes", async () => {
      const h = harness();
      const log: string[] = [];
      const site = make(
        {
          fn: (item) => item,
          setup: (info) => log.push(`setup ${info.id}`),
          close: (info) => log.push(`close ${info.id}`),
        },
        h.pool,
      );
      const lane = (await openLane(site, h.worker)) as Lane;
      await callOf(lane, 1, h.ctx);
      await callOf(lane, 2, h.ctx);
      await lane.close(h.calls);
      expect(log).toEqual(["setup 1", "close 1"]);
      expect(h.heard).toEqual(["ready", "ready exited"]);
    });

    it("answers a failed setup with why, tells the pool, and makes no lane", async () => {
      const h = harness();
      const site = make(
        {
          fn: (item) => item,
          setup: () => {
            throw new Error("no connection");
          },
        },
        h.pool,
      );
      const lane = await openLane(site, h.worker);
      expect(typeof lane).toBe("string");
      expect(h.heard).toEqual(["failed: no connection"]);
    });

    it("closes without rejecting, and no later than the deadline, when the close hangs or throws", async () => {
      const hang = harness(50);
      const hanging = make({ fn: (i) => i, setup: () => {}, close: () => new Promise(() => {}) }, hang.pool);
      const lane = (await openLane(hanging, hang.worker)) as Lane;
      const t0 = performance.now();
      await lane.close(hang.calls);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(hang.faults.some((f) => f.startsWith("unclosed"))).toBe(true);
      const thrower = harness();
      const throwing = make(
        {
          fn: (i) => i,
          setup: () => {},
          close: () => {
            throw new Error("close boom");
          },
        },
        thrower.pool,
      );
      const lane2 = (await openLane(throwing, thrower.worker)) as Lane;
      await expect(lane2.close(thrower.calls)).resolves.toBeUndefined();
      expect(thrower.faults).toContain("close threw: close boom");
    });

    it("gives lanes whose calls fail with the setup error once the pool has given up on setup", async () => {
      const h = harness();
      const gaveUp = new Error("setup kept failing");
      const site = make({ fn: (i) => i, setup: () => {} }, { ...h.pool, setupError: gaveUp });
      const lane = (await openLane(site, h.worker)) as Lane;
      expect(lane.broken).toBe(true);
      await expect(callOf(lane, 1, h.ctx)).rejects.toBe(gaveUp);
    });
  });
}
