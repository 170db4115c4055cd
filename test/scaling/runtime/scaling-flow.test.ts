import { describe, expect, it } from "vitest";
import { Flow } from "../../../src/index.js";
import type { ScaleEvent } from "../../../src/index.js";
import type { ScalingStrategy } from "../../../src/index.js";
import { UtilizationScaling } from "../../../src/index.js";
import type { StageStats } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

describe("scaling in a running flow", () => {
  it("scales a minWorkers: 0 stage to zero when idle and back up when items arrive", async () => {
    const clock = new VirtualClock();
    const events: ScaleEvent[] = [];
    const got: number[] = [];
    const f = new Flow({ clock, tickMs: 50 })
      .setProducer(async function* () {
        yield* range(5);
        await sleep(clock, 3000);
        yield* range(5).map((x) => x + 100);
      })
      .setConsumer(
        async (x: number) => {
          await sleep(clock, 10);
          got.push(x);
        },
        {
          name: "c",
          scalingStrategy: new UtilizationScaling({ minWorkers: 0, maxWorkers: 4, cooldownMs: 100 }),
        },
      );
    f.on("scale", (e) => events.push(e));
    await f.start();
    expect(f.stageStats("c")?.totalWorkers).toBe(0);
    await clock.advance(0);
    expect(f.stageStats("c")?.totalWorkers).toBe(1); // the first item scaled it up from zero
    await clock.advance(2000);
    expect(f.stageStats("c")?.totalWorkers).toBe(0);
    expect(f.stageStats("c")?.lastScaleDownAt).not.toBeNull();
    await clock.runUntil(() => f.stats().state === "drained");
    expect(got).toEqual([...range(5), ...range(5).map((x) => x + 100)]);
    const tos = events.map((e) => e.to);
    expect(tos.indexOf(0)).toBeGreaterThan(-1);
    expect(tos.slice(tos.indexOf(0)).some((n) => n > 0)).toBe(true);
  });

  it("gives each stage its own copy of the default strategy (no shared cooldown)", async () => {
    const clock = new VirtualClock();
    const events: ScaleEvent[] = [];
    const f = new Flow({
      clock,
      defaultScalingStrategy: new UtilizationScaling({ maxWorkers: 4, cooldownMs: 10_000 }),
    })
      .setProducer(range(50))
      .addTransformer(async (x: number) => sleep(clock, 10).then(() => x), { name: "a" })
      .setConsumer(async () => sleep(clock, 10), { name: "b" });
    f.on("scale", (e) => events.push(e));
    await runVirtual(f, clock);
    // Both stages scaled up once after their initial pool: a shared cooldown would have let only
    // the first one.
    const ups = (stage: string) =>
      events.filter((e) => e.stage === stage && e.to > e.from && e.reason !== "initial");
    expect(ups("a")).toHaveLength(1);
    expect(ups("b")).toHaveLength(1);
  });

  it("calls onTick every tickMs even when no item moves", async () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const strategy: ScalingStrategy = {
      initialWorkers: () => 1,
      onEnqueue: () => 0,
      onDequeue: () => 0,
      onTick: (s: StageStats) => {
        ticks.push(s.now);
        return 0;
      },
    };
    const f = new Flow({ clock, tickMs: 100 })
      .setProducer(async function* () {
        yield 1;
        await sleep(clock, 1000);
      })
      .setConsumer(() => {}, { scalingStrategy: strategy });
    await f.start();
    await clock.advance(550);
    expect(ticks).toEqual([100, 200, 300, 400, 500]);
    await clock.runUntil(() => f.stats().state === "drained");
  });

  it("stamps lastScaleUpAt and reports the strategy's reason in the scale event", async () => {
    const clock = new VirtualClock(500);
    const events: ScaleEvent[] = [];
    const f = new Flow({ clock }).setProducer(range(20)).setConsumer(async () => sleep(clock, 10), {
      name: "c",
      scalingStrategy: new UtilizationScaling({ maxWorkers: 3, cooldownMs: 0 }),
    });
    f.on("scale", (e) => events.push(e));
    await f.start();
    expect(events[0]).toEqual({ stage: "c", from: 0, to: 1, reason: "initial" });
    expect(events[1]).toEqual({
      stage: "c",
      from: 1,
      to: 2,
      reason: "enqueue: utilization 1.00 > 0.8 with 1 workers",
    });
    expect(f.stageStats("c")?.lastScaleUpAt).toBe(500);
    expect(f.stageStats("c")?.totalWorkers).toBe(3);
    await clock.runUntil(() => f.stats().state === "drained");
  });

  it("keeps the worker count within bounds when a strategy returns garbage", async () => {
    const clock = new VirtualClock();
    let i = 0;
    const values = [Number.NaN, 1e9, -1e9, Number.POSITIVE_INFINITY, 3];
    const counts: number[] = [];
    const strategy: ScalingStrategy = {
      minWorkers: 1,
      maxWorkers: 5,
      initialWorkers: () => 2,
      onEnqueue: () => values[i++ % values.length]!,
      onDequeue: () => {
        throw new Error("strategy bug");
      },
    };
    const err = console.error;
    console.error = () => {};
    try {
      const f = new Flow({ clock })
        .setProducer(range(30))
        .setConsumer(async () => sleep(clock, 5), { name: "c", scalingStrategy: strategy });
      // Decisions only: at the end of the input the workers exit on their own, down to 0.
      f.on("scale", (e) => void (e.reason.startsWith("exit:") || counts.push(e.to)));
      await runVirtual(f, clock);
      expect(f.stats().consumed).toBe(30);
    } finally {
      console.error = err;
    }
    expect(counts.length).toBeGreaterThan(0);
    expect(counts.every((n) => n >= 1 && n <= 5)).toBe(true);
  });
});
