import { describe, expect, it } from "vitest";
import { Flow } from "../../src/index.js";
import { FixedScaling } from "../../src/index.js";
import { sleep, VirtualClock } from "../helpers.js";

describe("windowed StageStats (what the adaptive strategies read)", () => {
  it("averages busy, idle and blocked workers over about a second, and times processing alone", async () => {
    const clock = new VirtualClock();
    // 3 workers × 10 ms feed a 1-worker stage of 20 ms with a queue of 2: the first stage makes
    // 300/s, the second takes 50/s, so in steady state the first has ~2.5 blocked workers.
    const f = new Flow<number, number>({ clock })
      .setProducer(
        (async function* () {
          for (let i = 0; i < 10_000; i++) yield i;
        })(),
      )
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 10);
          return x;
        },
        { name: "fast", scalingStrategy: new FixedScaling({ workers: 3 }), queueSize: 10 },
      )
      .setConsumer(
        async () => {
          await sleep(clock, 20);
        },
        { name: "slow", queueSize: 2 },
      );
    await f.start();
    await clock.advance(5000);
    const fast = f.stageStats("fast")!;
    const slow = f.stageStats("slow")!;
    expect(fast.activeWorkers).toBe(3);
    // Blocked time is not processing time: the fast stage's function takes 10 ms.
    expect(fast.processingTimeMs).toBeCloseTo(10, 0);
    // Sampled on the tick; with exact virtual times the sample phase is fixed, so allow for it.
    expect(fast.avgBlockedWorkers).toBeGreaterThan(1.5);
    expect(fast.avgBusyWorkers + fast.avgBlockedWorkers).toBeCloseTo(3, 0);
    expect(slow.avgBusyWorkers).toBeGreaterThan(0.9);
    expect(slow.processingTimeMs).toBeCloseTo(20, 0);
    // The fast stage's queue is full and its oldest item has waited a while.
    expect(fast.queueLength).toBe(10);
    expect(fast.oldestItemAgeMs).toBeGreaterThan(50);
    const stopped = f.stop();
    await clock.advance(1000);
    await stopped;
  });

  it("lets an idle stage's averages fall to idle, and the oldest age to 0", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number, number>({ clock })
      .setProducer(
        (async function* () {
          for (let i = 0; i < 200; i++) yield i;
          await sleep(clock, 60_000);
        })(),
      )
      .setConsumer(
        async () => {
          await sleep(clock, 10);
        },
        { name: "c", scalingStrategy: new FixedScaling({ workers: 2 }) },
      );
    await f.start();
    await clock.advance(900); // 200 items × 10 ms / 2 workers = 1 s of work
    expect(f.stageStats("c")!.avgBusyWorkers).toBeGreaterThan(1); // 2 × (1 − e^-0.9) ≈ 1.19
    await clock.advance(5000);
    const s = f.stageStats("c")!;
    expect(s.avgBusyWorkers).toBeLessThan(0.05);
    expect(s.avgIdleWorkers).toBeGreaterThan(1.95);
    expect(s.oldestItemAgeMs).toBe(0);
    expect(s.processingTimeMs).toBeCloseTo(10, 0); // keeps its last value while nothing completes
    await f.stop();
  });
});
