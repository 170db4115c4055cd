import { describe, expect, it } from "vitest";
import { Flow } from "../../src/index.js";
import { FixedScaling } from "../../src/index.js";
import { range, sleep, VirtualClock } from "../helpers.js";

describe("worker states", () => {
  it("counts busy, idle and blocked workers exactly", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(range(20))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 1);
          return x;
        },
        { name: "fast", scalingStrategy: new FixedScaling({ workers: 3 }) },
      )
      .setConsumer(async () => sleep(clock, 100), { name: "slow", queueSize: 2 });
    await f.start();
    await clock.advance(10);
    // slow: 1 busy with 2 queued; fast: its 3 workers each hold an output for the full queue.
    expect(f.stageStats("slow")).toMatchObject({
      busyWorkers: 1,
      idleWorkers: 0,
      blockedWorkers: 0,
      queueLength: 2,
    });
    expect(f.stageStats("fast")).toMatchObject({
      busyWorkers: 0,
      idleWorkers: 0,
      blockedWorkers: 3,
      totalWorkers: 3,
    });
    expect(f.stats().inFlight).toBe(20);

    await clock.runUntil(() => f.stats().consumed === 20, { maxMs: 10_000 });
    await clock.advance(1);
    expect(f.stats().state).toBe("drained");
    expect(f.stageStats("fast")).toMatchObject({
      busyWorkers: 0,
      idleWorkers: 0,
      blockedWorkers: 0,
      totalWorkers: 0,
    });
  });

  it("counts workers waiting for input as idle", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(async function* () {
        yield 1;
        await sleep(clock, 1000);
        yield 2;
      })
      .setConsumer(() => {}, { name: "c", scalingStrategy: new FixedScaling({ workers: 2 }) });
    await f.start();
    await clock.advance(10);
    expect(f.stageStats("c")).toMatchObject({
      busyWorkers: 0,
      idleWorkers: 2,
      totalWorkers: 2,
      utilization: 0,
    });
    await clock.runUntil(() => f.stats().state === "drained");
  });

  it("records the time stamps of enqueue, dequeue and queue age", async () => {
    const clock = new VirtualClock(1000);
    const f = new Flow({ clock, timingSampleEvery: 1 })
      .setProducer(range(3))
      .setConsumer(async () => sleep(clock, 10), { name: "c" });
    await f.start();
    await clock.advance(5);
    const s = f.stageStats("c")!;
    expect(s.now).toBe(1005);
    expect(s.lastEnqueueAt).toBe(1000);
    expect(s.oldestItemEnqueuedAt).toBe(1000);
    expect(s.queueLength).toBe(2);
    await clock.runUntil(() => f.stats().state === "drained");
    const end = f.stageStats("c")!;
    expect(end.lastDequeueAt).toBe(1020);
    expect(end.oldestItemEnqueuedAt).toBeNull();
    // HDR histograms keep 3 significant digits.
    expect(end.latency.count).toBe(3);
    expect(end.latency.p50).toBeCloseTo(10, 1);
    expect(end.latency.max).toBeCloseTo(10, 1);
    expect(end.queueWait.max).toBeCloseTo(20, 1);
    expect(end.queueWait.p50).toBeCloseTo(10, 1);
  });

  it("times a worker's first 8 calls whole, then one in timingSampleEvery", async () => {
    const timed = async (workers: number, items: number) => {
      const clock = new VirtualClock(0);
      const f = new Flow({ clock, timingSampleEvery: 8 })
        .setProducer(range(items))
        .setConsumer(async () => sleep(clock, 10), {
          name: "c",
          scalingStrategy: new FixedScaling({ workers }),
        });
      await f.start();
      await clock.runUntil(() => f.stats().state === "drained");
      return f.stageStats("c")!.timedItems;
    };
    // One worker, 40 items: its first 8, then the 16th, 24th, 32nd and 40th.
    expect(await timed(1, 40)).toBe(8 + 4);
    expect(await timed(1, 6)).toBe(6);
    // Two workers share 40 items: each times its first 8, then one in 8 of its next 12.
    expect(await timed(2, 40)).toBe(2 * (8 + 1));
  });
});
