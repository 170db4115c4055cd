import { describe, expect, it } from "vitest";
import type { Lane } from "../../src/runtime/stage/call-site.js";
import { callSiteContract, laneHarness } from "./call-site.contract.js";
import { ThreadCalls } from "./prototype/thread-calls.js";

// The suite's functions close over nothing, so a thread can run them from their source text.
callSiteContract(
  "in worker threads (prototype)",
  (def, pool) =>
    new ThreadCalls(
      { fn: def.fn.toString(), setup: def.setup?.toString(), close: def.close?.toString() },
      pool,
    ),
);

describe("the thread prototype, beyond the contract", () => {
  it("runs each call in another thread, and hands values across as copies", async () => {
    const marks = globalThis as Record<string, unknown>;
    marks.__flowrhythmMainThread = true;
    const h = laneHarness();
    const site = new ThreadCalls(
      { fn: "(item) => [typeof globalThis.__flowrhythmMainThread, item]" },
      h.pool,
    );
    const lane = (await site.open(h.worker)) as Lane;
    const sent = { n: 1 };
    const [where, back] = (await lane.call(sent, h.ctx)) as [string, unknown];
    await lane.close(h.calls);
    // The mark is set here and nowhere else: the call ran where it is not.
    expect(where).toBe("undefined");
    expect(back).toEqual(sent);
    expect(back).not.toBe(sent);
    expect(site.values).toBe("cloned");
    delete marks.__flowrhythmMainThread;
  });
});
