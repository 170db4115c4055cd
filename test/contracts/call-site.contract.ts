import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/index.js";
import type { StageContext, WorkerInfo } from "../../src/index.js";
import { CallSignal } from "../../src/runtime/stage/call-signal.js";
import type { CallSite, Lane } from "../../src/runtime/stage/call-site.js";
import type { PoolEvents, ResourceWorker } from "../../src/runtime/stage/worker-resource.js";

/**
 * A stage's function, and optionally a per-lane setup and close (like `perWorker`). Every function
 * the suite passes is self-contained — it closes over nothing — so that an implementation whose
 * calls run elsewhere can ship it by source; what a test observes of setup and close comes over
 * the `BroadcastChannel` named {@link CONTRACT_CHANNEL}, which reaches this thread from any other.
 */
export interface CallDef {
  fn: (item: unknown, ctx: StageContext) => unknown;
  setup?: (info: WorkerInfo) => unknown;
  close?: (info: WorkerInfo) => unknown;
}

/** The channel setup and close report to (a constant: the functions cannot close over it). */
export const CONTRACT_CHANNEL = "flowrhythm-call-site-contract";

/** Collects what setup and close report over {@link CONTRACT_CHANNEL}, until `done()`. */
function listen(): { log: string[]; done: () => Promise<string[]> } {
  const log: string[] = [];
  const channel = new BroadcastChannel(CONTRACT_CHANNEL);
  channel.onmessage = (e) => log.push(String((e as MessageEvent).data));
  return {
    log,
    done: async () => {
      // Messages from another thread arrive a macrotask or more later.
      await new Promise((r) => setTimeout(r, 50));
      channel.close();
      return log;
    },
  };
}

/** Builds a call site for `def` whose setup results go to `pool`. */
export type MakeCallSite = (def: CallDef, pool: PoolEvents) => CallSite;

/** A pool that records what it heard, and a worker that belongs to it. */
export function laneHarness(closeTimeoutMs = 200) {
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

/** Opens a lane that must open: a string answer fails the test with it. */
async function mustOpen(site: CallSite, worker: ResourceWorker): Promise<Lane> {
  const lane = await site.open(worker);
  if (typeof lane === "string") throw new Error(`expected a lane, got the answer "${lane}"`);
  return lane;
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
      const h = laneHarness();
      const site = make(
        {
          fn: (item, ctx) => (typeof item === "number" ? item * 2 : Promise.resolve(`${ctx.stage}:${item}`)),
        },
        h.pool,
      );
      const lane = await mustOpen(site, h.worker);
      expect(await callOf(lane, 21, h.ctx)).toBe(42);
      expect(await callOf(lane, "x", h.ctx)).toBe("s:x");
      const value = { deep: [1, { two: 2 }] };
      const echoed = await callOf(await mustOpen(make({ fn: (v) => v }, h.pool), h.worker), value, h.ctx);
      expect(echoed).toEqual(value);
      if (site.values === "shared") expect(echoed).toBe(value);
      await lane.close(h.calls);
    });

    it("surfaces a throw and a rejection of the function as a failed call, and the lane goes on", async () => {
      const h = laneHarness();
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
      const lane = await mustOpen(site, h.worker);
      await expect(callOf(lane, "throw", h.ctx)).rejects.toThrow("sync boom");
      await expect(callOf(lane, "reject", h.ctx)).rejects.toThrow("async boom");
      expect(await callOf(lane, "ok", h.ctx)).toBe("fine");
      expect(lane.broken).toBe(false);
    });

    it("runs a lane's setup once when it opens and its close once when it closes", async () => {
      const h = laneHarness();
      const heard = listen();
      const site = make(
        {
          fn: (item) => item,
          setup: (info) => {
            const c = new BroadcastChannel("flowrhythm-call-site-contract");
            c.postMessage(`setup ${info.id}`);
            c.close();
          },
          close: (info) => {
            const c = new BroadcastChannel("flowrhythm-call-site-contract");
            c.postMessage(`close ${info.id}`);
            c.close();
          },
        },
        h.pool,
      );
      const lane = await mustOpen(site, h.worker);
      await callOf(lane, 1, h.ctx);
      await callOf(lane, 2, h.ctx);
      await lane.close(h.calls);
      expect(await heard.done()).toEqual(["setup 1", "close 1"]);
      expect(h.heard).toEqual(["ready", "ready exited"]);
    });

    it("keeps a thrown error's name, message, own properties and cause (what overloadOn, retryAfterMs and retryOn read)", async () => {
      const h = laneHarness();
      const site = make(
        {
          fn: () => {
            const error = new Error("slow down", { cause: new Error("upstream") });
            error.name = "HttpError";
            Object.assign(error, { status: 429, retryAfterMs: 30, response: { status: 429 } });
            throw error;
          },
        },
        h.pool,
      );
      const lane = await mustOpen(site, h.worker);
      const error = await Promise.resolve(callOf(lane, 1, h.ctx)).then(
        () => null,
        (e: unknown) => e as Error & Record<string, unknown>,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error!.name).toBe("HttpError");
      expect(error!.message).toBe("slow down");
      expect(error!.status).toBe(429);
      expect(error!.retryAfterMs).toBe(30);
      expect(error!.response).toEqual({ status: 429 });
      expect((error!.cause as Error).message).toBe("upstream");
      await lane.close(h.calls);
    });

    it("settles a call that honours its signal once the signal aborts", async () => {
      const h = laneHarness();
      const abort = new AbortController();
      const ctx = { ...h.ctx, signal: abort.signal } as StageContext;
      const site = make(
        {
          fn: (_item, c) =>
            new Promise((_, reject) =>
              c.signal.addEventListener("abort", () => reject(new Error("aborted"))),
            ),
        },
        h.pool,
      );
      const lane = await mustOpen(site, h.worker);
      const call = Promise.resolve(callOf(lane, 1, ctx));
      setTimeout(() => abort.abort(new Error("stop")), 20);
      await expect(call).rejects.toThrow("aborted");
      await lane.close(h.calls);
    });

    it("keeps ctx.worker.data from call to call of one lane", async () => {
      const h = laneHarness();
      const site = make(
        {
          fn: (_item, c) => {
            const data = c.worker.data as { n?: number };
            data.n = (data.n ?? 0) + 1;
            return data.n;
          },
        },
        h.pool,
      );
      const lane = await mustOpen(site, h.worker);
      expect([
        await callOf(lane, 1, h.ctx),
        await callOf(lane, 2, h.ctx),
        await callOf(lane, 3, h.ctx),
      ]).toEqual([1, 2, 3]);
      await lane.close(h.calls);
    });

    it("answers a failed setup with why, tells the pool, and makes no lane", async () => {
      const h = laneHarness();
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
      const hang = laneHarness(50);
      const hanging = make({ fn: (i) => i, setup: () => {}, close: () => new Promise(() => {}) }, hang.pool);
      const lane = await mustOpen(hanging, hang.worker);
      const t0 = performance.now();
      await lane.close(hang.calls);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(hang.faults.some((f) => f.startsWith("unclosed"))).toBe(true);
      const thrower = laneHarness();
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
      const lane2 = await mustOpen(throwing, thrower.worker);
      await expect(lane2.close(thrower.calls)).resolves.toBeUndefined();
      expect(thrower.faults).toContain("close threw: close boom");
    });

    it("gives lanes whose calls fail with the setup error once the pool has given up on setup", async () => {
      const h = laneHarness();
      const gaveUp = new Error("setup kept failing");
      const site = make({ fn: (i) => i, setup: () => {} }, { ...h.pool, setupError: gaveUp });
      const lane = await mustOpen(site, h.worker);
      expect(lane.broken).toBe(true);
      await expect(callOf(lane, 1, h.ctx)).rejects.toBe(gaveUp);
    });
  });
}
