import { describe, expect, it } from "vitest";
import { Flow } from "../../../src/index.js";
import { AdaptiveScaling } from "../../../src/index.js";
import { range, sleep, VirtualClock } from "../../helpers.js";

describe("AdaptiveScaling: slow start on a batch job with timer lateness", () => {
  // 20 ms calls that real timers make 20–24 ms, nothing behind them that queues: the pool should
  // grow past any fixed guess. A round that counts ~n completions over ~one service time aliases
  // with the calls' phase: seed 5 reads "8 workers gave 538/s" (8 workers of 20 ms cannot give
  // more than 400/s), judges the next round against that, cuts to 26 and holds for kneeHoldMs.
  // On real timers (scratch/api429.ts, 20,000 items, no overload reached) the same misreading held
  // the pool at 10–19 for the whole run: 15–23 s against ~8 s for FixedScaling(50).
  it.each(Array.from({ length: 20 }, (_, i) => i + 1))(
    "a stage with no limit behind it ends well above a fixed guess of 16 (seed %i)",
    async (seed) => {
      let r = seed;
      const late = (ms: number) => {
        r = (r * 1103515245 + 12345) % 2147483648;
        return (r / 2147483648) * ms;
      };
      const clock = new VirtualClock();
      const f = new Flow({ clock })
        .setProducer(range(20_000))
        .addTransformer(
          async (x: number) => {
            await sleep(clock, 20 + late(4));
            return x;
          },
          { name: "api", queueSize: 64, scalingStrategy: new AdaptiveScaling({ maxWorkers: 200 }) },
        )
        .setConsumer(() => {});
      const seen: string[] = [];
      f.on("scale", (e) => {
        if (!e.reason.startsWith("exit")) seen.push(`${clock.now()} ${e.from}->${e.to} ${e.reason}`);
      });
      await f.start();
      await clock.runUntil(() => clock.now() >= 2000, { stepMs: 5 });
      const n = f.stageStats("api")?.totalWorkers ?? 0;
      let stopped = false;
      void f.stop().then(() => (stopped = true));
      await clock.runUntil(() => stopped, { stepMs: 5 });
      expect(n, seen.join("\n")).toBeGreaterThanOrEqual(64);
    },
  );
});
