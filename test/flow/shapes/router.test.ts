import { describe, expect, it } from "vitest";
import type { FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { flow } from "../../../src/index.js";
import { Last } from "../../../src/index.js";
import { router } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

const parity = (x: number) => (x % 2 === 0 ? "even" : "odd");

describe("router", () => {
  it("sends each item to the arm its label names and merges the arms into the next stage", async () => {
    const seen: string[] = [];
    const f = new Flow()
      .setProducer(range(10))
      .addTransformer(router(parity, { even: (x: number) => `e${x}`, odd: (x: number) => `o${x}` }))
      .setConsumer((s) => void seen.push(s));
    await f.run();
    expect(seen.sort()).toEqual(
      range(10)
        .map((x) => (x % 2 === 0 ? `e${x}` : `o${x}`))
        .sort(),
    );
    const byName = Object.fromEntries(f.stats().stages.map((s) => [s.stageName, s.processed]));
    expect(byName).toEqual({ parity: 10, "parity.even": 5, "parity.odd": 5, consumer: 10 });
  });

  it("names arm stages router.arm, and router.arm.stage for an arm that is a flow", async () => {
    const seen: number[] = [];
    const f = new Flow()
      .setProducer(range(6))
      .addTransformer(
        router(
          parity,
          {
            even: (x: number) => x,
            odd: new Flow<number>()
              .addTransformer((x: number) => x * 10, { name: "times" })
              .addTransformer((x: number) => x + 1, { name: "plus" }),
          },
          { name: "route" },
        ),
      )
      .setConsumer((x) => void seen.push(x));
    await f.run();
    expect(f.stats().stages.map((s) => s.stageName)).toEqual([
      "route",
      "route.even",
      "route.odd.times",
      "route.odd.plus",
      "consumer",
    ]);
    expect(seen.sort((a, b) => a - b)).toEqual([0, 2, 4, 11, 31, 51]);
  });

  it("sends a label with no arm to default, and without one drops it with reason ROUTER_MISS", async () => {
    const events: FlowErrorEvent[] = [];
    const label = (x: number) => (x % 3 === 0 ? 3 : x % 3 === 1 ? "one" : undefined);
    const seen: string[] = [];
    await new Flow()
      .setProducer(range(9))
      .addTransformer(
        router(label, { 3: (x: number) => `three:${x}` }, { default: (x: number) => `other:${x}` }),
      )
      .setConsumer((s) => void seen.push(s))
      .run();
    expect(seen.filter((s) => s.startsWith("three"))).toHaveLength(3);
    expect(seen.filter((s) => s.startsWith("other"))).toHaveLength(6);

    const f = new Flow()
      .setProducer(range(9))
      .addTransformer(router(label, { 3: (x: number) => x, one: (x: number) => x }, { name: "r" }))
      .setConsumer(() => {})
      .setErrorHandler((e) => void events.push(e));
    await f.run();
    // Ids count from 1 in the order items enter: item n has id n + 1.
    const runId = (events[0] as { runId: string }).runId;
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(events).toEqual(
      [2, 5, 8].map((item) => ({
        type: "Dropped",
        id: item + 1,
        runId,
        item,
        stage: "r",
        reason: "ROUTER_MISS",
      })),
    );
    expect(f.stats()).toMatchObject({ consumed: 6, dropped: 3, droppedByReason: { ROUTER_MISS: 3 } });
    expect(f.stageStats("r")!.dropped).toBe(3);
  });

  it("reports a classifier that returns Last(...) as a TransformerError", async () => {
    const events: FlowErrorEvent[] = [];
    const f = new Flow()
      .setProducer(range(4))
      .addTransformer(
        router((x: number) => (x === 2 ? Last("a") : "a"), { a: (x: number) => x }, { name: "r" }),
      )
      .setConsumer(() => {})
      .setErrorHandler((e) => void events.push(e));
    await f.run();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "TransformerError", item: 2, stage: "r" });
    expect(String((events[0] as { error: unknown }).error)).toMatch(
      /Last\(\) cannot be returned by a router's classifier/,
    );
    expect(f.stats()).toMatchObject({ consumed: 3, failed: 1 });
  });

  it("closes the merge stage's input only after every arm has drained", async () => {
    const clock = new VirtualClock();
    const consumedAt: [number, number][] = [];
    const f = new Flow({ clock })
      .setProducer(range(8))
      .addTransformer(
        router(parity, {
          even: async (x: number) => {
            await sleep(clock, 100);
            return x;
          },
          odd: (x: number) => x,
        }),
      )
      .setConsumer((x) => void consumedAt.push([x, clock.now()]));
    await runVirtual(f, clock);
    // The odd arm is done at once; the even arm takes 4 × 100 ms and its items still arrive.
    expect(consumedAt.map(([x]) => x).sort()).toEqual(range(8));
    expect(Math.max(...consumedAt.map(([, t]) => t))).toBe(400);
    expect(f.stats().state).toBe("drained");
  });

  it("nests routers inside arms, and runs two routers in a row", async () => {
    const seen: string[] = [];
    const inner = router((x: number) => (x % 4 === 0 ? "four" : "two"), {
      four: (x: number) => `4|${x}`,
      two: (x: number) => `2|${x}`,
    });
    const f = flow(
      router(parity, { even: inner, odd: (x: number) => `1|${x}` }, { name: "outer" }),
      router(
        (s: string) => s[0],
        { "4": (s: string) => `A ${s}`, "2": (s: string) => `B ${s}`, "1": (s: string) => `C ${s}` },
        { name: "second" },
      ),
    );
    for await (const s of f.stream(range(8))) seen.push(s);
    expect(seen.sort()).toEqual(["A 4|0", "A 4|4", "B 2|2", "B 2|6", "C 1|1", "C 1|3", "C 1|5", "C 1|7"]);
    expect(f.stats().stages.map((s) => s.stageName)).toEqual([
      "outer",
      "outer.even",
      "outer.even.four",
      "outer.even.two",
      "outer.odd",
      "second",
      // Integer-like labels come in JavaScript's key order: ascending.
      "second.1",
      "second.2",
      "second.4",
    ]);
  });

  it("backpressures from a slow merge stage through the arms to the producer, losing nothing", async () => {
    const clock = new VirtualClock();
    let produced = 0;
    let maxInFlight = 0;
    const seen = new Set<number>();
    const f = new Flow({ clock });
    f.setProducer(function* () {
      for (let i = 0; i < 300; i++) {
        produced++;
        if (i % 7 === 0) maxInFlight = Math.max(maxInFlight, f.stats().inFlight);
        yield i;
      }
    })
      .addTransformer(
        router(parity, { even: (x: number) => x, odd: async (x: number) => x }, { name: "r" }),
        {
          queueSize: 4,
        },
      )
      .configure("r.even", { queueSize: 3 })
      .configure("r.odd", { queueSize: 3 })
      .setConsumer(
        async (x: number) => {
          await sleep(clock, 10);
          seen.add(x);
        },
        { queueSize: 5 },
      );
    await f.start();
    await clock.advance(50);
    // Five items consumed in 50 ms; the producer is held back by the full queues behind it.
    expect(produced).toBeLessThan(30);
    await clock.runUntil(() => f.stats().state === "drained", { stepMs: 100 });
    expect(seen.size).toBe(300);
    // Queues 4 + 3 + 3 + 5, one worker each (4), and the item the producer holds.
    expect(maxInFlight).toBeLessThanOrEqual(4 + 3 + 3 + 5 + 4 + 1);
    expect(f.stats()).toMatchObject({ itemsIn: 300, consumed: 300, dropped: 0, inFlight: 0 });
  });

  it("scales the classifier like any stage and keeps every item with several workers", async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(40))
      .addTransformer(
        router(
          async (x: number) => {
            await sleep(clock, 5);
            return parity(x);
          },
          { even: (x: number) => x, odd: (x: number) => x },
        ),
        { scalingStrategy: new FixedScaling({ workers: 4 }) },
      )
      .setConsumer((x) => void seen.push(x));
    await runVirtual(f, clock);
    expect(seen.sort((a, b) => a - b)).toEqual(range(40));
    expect(clock.now()).toBeLessThanOrEqual(60); // 40 × 5 ms over 4 workers, not 200 ms
  });
});
