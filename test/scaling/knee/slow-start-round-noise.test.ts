import { describe, expect, it } from "vitest";
import { Flow } from "../../../src/index.js";
import { AdaptiveScaling } from "../../../src/index.js";
import { SlowStartMove } from "../../../src/scaling/knee/slow-start.js";
import { range, sleep, VirtualClock } from "../../helpers.js";
import { Rig } from "./slow-start-rig.js";

const { Grow, Recheck, Cut } = SlowStartMove;

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

describe("slow start: a second look's reference from a round of fewer than 4 completions", () => {
  // 25 slots behind 200 ms calls, from 2 workers. The first round ended on its 3 quickest calls
  // (145 ms) and read 15/s where 2 workers give 10; the round at 8 read 31/s (the last of a cohort),
  // short of three quarters of that; the second look at 4 reads 4.4/s a worker.
  const slowCalls = (planMs: number, timedShare = 1) => {
    const rig = new Rig();
    rig.n = 2;
    rig.timedShare = timedShare;
    rig.s = planMs; // a round spans at least this: 200 ms counts 3 completions at 15/s, 270 ms 4
    rig.callMs = (n) => (n === 2 ? 145 : 200);
    let firstAt8 = true;
    rig.rate = (n) => {
      if (n === 2) return 15;
      if (n === 8 && firstAt8) return 31;
      if (n === 4) firstAt8 = false;
      return n * 4.4;
    };
    rig.run(3000);
    return rig.changes.map(([, m, n]) => [m, n]);
  };

  it("counts it at three quarters, like the best: the look at 4 is good, and 8 is measured again", () => {
    expect(slowCalls(200).slice(0, 4)).toEqual([
      [Grow, 8],
      [Recheck, 4],
      [Grow, 8],
      [Grow, 16],
    ]);
  });

  it("takes a round of 4 completions at its reading, and cuts when the look falls short of it", () => {
    // Half its calls timed (older workers time one in eight): not the best's reference, but the second look's.
    expect(slowCalls(270, 0.5).slice(0, 3)).toEqual([
      [Grow, 8],
      [Recheck, 4],
      [Cut, 5],
    ]);
  });
});
