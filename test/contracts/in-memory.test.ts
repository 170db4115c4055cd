import { describe, expect, it } from "vitest";
import { TimeCache } from "../../src/clock/clock.js";
import { VirtualClock } from "../../src/index.js";
import type { WorkerInfo, WorkerResource } from "../../src/index.js";
import { Channel } from "../../src/runtime/queue/channel.js";
import { InLoopCalls, type Lane } from "../../src/runtime/stage/call-site.js";
import { type CallDef, callSiteContract, laneHarness } from "./call-site.contract.js";
import { stageQueueContract } from "./stage-queue.contract.js";

// Today's implementations of the two seams run the contract suites every implementation must pass.
stageQueueContract("in memory (Channel)", (capacity) => {
  const cache = new TimeCache(new VirtualClock());
  return new Channel<number>(capacity, "fifo", cache, { enqueued() {}, inputEnded() {} });
});

/** `def` as a `perWorker` factory: its setup's result (awaited), then a resource over `fn`. */
function factoryOf(def: CallDef): (info: WorkerInfo) => Promise<WorkerResource<unknown, unknown>> {
  return async (info) => {
    await def.setup!(info);
    return { process: def.fn, close: async () => void (await def.close?.(info)) };
  };
}

callSiteContract("in this event loop (InLoopCalls)", (def, pool) =>
  def.setup === undefined ? new InLoopCalls(def.fn, null, pool) : new InLoopCalls(null, factoryOf(def), pool),
);

// What today's implementations promise beyond the contract: nothing between the worker and the
// stage's function, and entries handed over as the very values sent.
describe("today's implementations, beyond the contract", () => {
  it("InLoopCalls gives the worker the stage's own function as the lane's call (nothing added per item)", async () => {
    const h = laneHarness();
    const fn = (x: unknown): unknown => x;
    const site = new InLoopCalls(fn, null, h.pool);
    const lane = await site.open(h.worker);
    expect(typeof lane).toBe("object");
    expect((lane as Lane).call).toBe(fn);
    expect(site.values).toBe("shared");
  });

  it("Channel hands a waiting taker the very entry it was given, not a copy", () => {
    const cache = new TimeCache(new VirtualClock());
    const q = new Channel<object>(2, "fifo", cache, { enqueued() {}, inputEnded() {} });
    const got: object[] = [];
    q.wait({ deliver: (e) => got.push(e), release() {} });
    const entry = { id: 1 };
    q.offer(entry, 1);
    expect(got[0]).toBe(entry);
    expect(q.values).toBe("shared");
  });
});
