import { TimeCache } from "../../../src/clock/clock.js";
import { VirtualClock } from "../../../src/index.js";
import { Channel } from "../../../src/runtime/queue/channel.js";
import type { StageQueue } from "../../../src/runtime/queue/stage-queue.js";
import { stageQueueContract } from "../stage-queue.contract.js";

/**
 * The shape of any queue whose accepting takes a round trip (Redis): `offer` cannot answer
 * synchronously, so it refuses, and `put` accepts a tick later. Everything else is the in-memory
 * channel. Which of the contract's tests such a queue can pass says what the contract assumes
 * beyond its guarantees. Not part of `npm test` (6 of its 8 examples fail: they set up state
 * with `offer` and read it back at once); run it with
 * `npx vitest run --config test/contracts/prototype/check.config.ts`.
 */
function latent(capacity: number): StageQueue<number> {
  const inner = new Channel<number>(capacity, "fifo", new TimeCache(new VirtualClock()), {
    enqueued() {},
    inputEnded() {},
  });
  const put = async (v: number, id: number, s?: AbortSignal): Promise<boolean> => {
    await new Promise((r) => setTimeout(r, 0));
    return s?.aborted ? false : inner.put(v, id, s);
  };
  return {
    values: "cloned",
    get queue() {
      return inner.queue;
    },
    get closed() {
      return inner.closed;
    },
    get shut() {
      return inner.shut;
    },
    get waitingWriters() {
      return inner.waitingWriters;
    },
    offer: () => false,
    put,
    send: (v: unknown, id: number, _l?: unknown, s?: AbortSignal) => put(v as number, id, s),
    hasRoom: () => inner.hasRoom(),
    addFeeder: () => inner.addFeeder(),
    feederDone: () => inner.feederDone(),
    take: () => inner.take(),
    wait: (t) => inner.wait(t),
    withdrawFirst: () => inner.withdrawFirst(),
    wakeTaker: () => inner.wakeTaker(),
    close: () => inner.close(),
    shutDown: (drop) => inner.shutDown(drop),
    setBatchSize: (n) => inner.setBatchSize(n),
    setRefillFraction: (f) => inner.setRefillFraction(f),
  };
}

stageQueueContract("accepting after a round trip (latent)", latent);
