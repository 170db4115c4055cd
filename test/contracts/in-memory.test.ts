import { TimeCache } from "../../src/clock/clock.js";
import { VirtualClock } from "../../src/index.js";
import type { WorkerInfo, WorkerResource } from "../../src/index.js";
import { Channel } from "../../src/runtime/queue/channel.js";
import { InLoopCalls } from "../../src/runtime/stage/call-site.js";
import { type CallDef, callSiteContract } from "./call-site.contract.js";
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
