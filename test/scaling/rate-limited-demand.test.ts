import { describe, expect, it } from "vitest";
import { Flow } from "../../src/index.js";
import { AdaptiveScaling } from "../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../helpers.js";

describe("AdaptiveScaling on a rate-limited stage", () => {
  // A worker waiting for a token is "never demand" (issue 13). Seen on real timers first: 400
  // items queued for a stage limited to 50 calls a second, 20 ms calls (one worker keeps up):
  // the backlog term doubled the pool 2 → 6 → 12 → 24 → 48, 47 of them rate-limited, because
  // the backlog it sees can only drain at the rate. With a perWorker resource (a connection per
  // worker) that opens 48 connections for a stage that uses one or two.
  it("does not grow the pool for a backlog that only the rate limits", async () => {
    const clock = new VirtualClock();
    let peak = 0;
    const f = new Flow({ clock })
      .setProducer(range(400))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 20);
          return x;
        },
        {
          name: "api",
          rateLimit: { perSecond: 50, burst: 5 },
          scalingStrategy: new AdaptiveScaling({ maxWorkers: 200 }),
        },
      )
      .setConsumer(() => {});
    f.on("scale", (e) => {
      if (e.stage === "api") peak = Math.max(peak, e.to);
    });
    await runVirtual(f, clock);
    expect(f.stats().consumed).toBe(400);
    // A job queued at once is looked at before the first tick, while the burst of 5 tokens lasts:
    // 2 workers give 100/s for 80 ms, which slow start takes for capacity (2 → 8) before any call
    // waited for a token. From then on the tokens hold it: no growth past that first round.
    expect(peak).toBeLessThanOrEqual(8);
  });
});
