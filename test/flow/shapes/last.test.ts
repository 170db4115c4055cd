import { describe, expect, it } from "vitest";
import type { Dropped, FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { Last } from "../../../src/index.js";
import { router } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

const dropsOf = (events: FlowErrorEvent[]) => events.filter((e): e is Dropped => e.type === "Dropped");

describe("Last(value)", () => {
  it("makes value the final item and reports every cut-off item, those in intermediate queues included", async () => {
    // The Python original loses 20 of these 27 items silently.
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const seen: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(27))
      .addTransformer(async (x: number) => x, { name: "a", queueSize: 4 })
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 10);
          return x;
        },
        { name: "slow", queueSize: 4 },
      )
      .addTransformer((x: number) => (x === 6 ? Last(-6) : x), { name: "cut", queueSize: 4 })
      .addTransformer(async (x: number) => x, { name: "after", queueSize: 4 })
      .setConsumer((x) => void seen.push(x))
      .setErrorHandler((e) => void events.push(e));
    await runVirtual(f, clock);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, -6]);
    const drops = dropsOf(events);
    expect(drops.every((d) => d.reason === "UPSTREAM_TERMINATED")).toBe(true);
    // Every item is accounted for: 7 consumed, the rest dropped where they were.
    expect([...seen.slice(0, 6), 6, ...drops.map((d) => d.item as number)].sort((a, b) => a - b)).toEqual(
      range(f.stats().itemsIn),
    );
    expect(f.stats()).toMatchObject({ state: "drained", consumed: 7, failed: 0, inFlight: 0 });
    expect(f.stats().dropped).toBe(f.stats().itemsIn - 7);
    // Drops were reported by the stages that held them, queues included.
    const byStage = new Set(drops.map((d) => d.stage));
    expect(byStage.has("a") || byStage.has("slow")).toBe(true);
  });

  it("lets items that already left the stage arrive, and stops the producer", async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    let finallyRan = false;
    const f = new Flow({ clock })
      .setProducer(function* () {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          finallyRan = true;
        }
      })
      .addTransformer((x: number) => (x === 3 ? Last(x) : x), { name: "first" })
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 100);
          return x;
        },
        { name: "slow" },
      )
      .setConsumer((x) => void seen.push(x));
    await runVirtual(f, clock);
    expect(seen).toEqual([0, 1, 2, 3]); // 0..2 were already past "first" and still arrive
    expect(finallyRan).toBe(true);
    expect(f.stats().consumed + f.stats().dropped).toBe(f.stats().itemsIn);
  });

  it("works from inside a router arm: the other arms and everything upstream are cut off", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const seen: string[] = [];
    const f = new Flow({ clock })
      .setProducer(range(100))
      .addTransformer(
        router(
          (x: number) => (x % 2 === 0 ? "even" : "odd"),
          {
            even: async (x: number) => {
              await sleep(clock, 1);
              return x === 10 ? Last(`last ${x}`) : `e${x}`;
            },
            odd: async (x: number) => {
              await sleep(clock, 3);
              return `o${x}`;
            },
          },
          { name: "r" },
        ),
        { queueSize: 8 },
      )
      .setConsumer((s) => void seen.push(s))
      .setErrorHandler((e) => void events.push(e));
    await runVirtual(f, clock);
    expect(seen[seen.length - 1]).toBe("last 10");
    expect(seen.filter((s) => s.startsWith("e"))).toEqual(["e0", "e2", "e4", "e6", "e8"]);
    const s = f.stats();
    expect(s.consumed + s.dropped).toBe(s.itemsIn);
    expect(s.droppedByReason.UPSTREAM_TERMINATED).toBe(s.dropped);
    // The slower odd arm had items in hand and queued: they are reported, not lost.
    expect(dropsOf(events).some((d) => d.stage === "r.odd")).toBe(true);
  });

  it("lets one of two workers returning Last at once win; the other's item is dropped", async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock })
      .setProducer(range(10))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 10);
          return x === 4 || x === 5 ? Last(x) : x;
        },
        { name: "both", scalingStrategy: new FixedScaling({ workers: 2 }) },
      )
      .setConsumer((x) => void seen.push(x))
      .setErrorHandler((e) => void events.push(e));
    await runVirtual(f, clock);
    // 4 and 5 finish at the same instant on two workers: 4 completes first and wins.
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(dropsOf(events).map((d) => d.item)).toContain(5);
    expect(f.stats().consumed + f.stats().dropped).toBe(f.stats().itemsIn);
  });

  it("ends the flow from the consumer: its queue is dropped, its in-flight calls still count as consumed", async () => {
    const clock = new VirtualClock();
    const done: number[] = [];
    const f = new Flow({ clock }).setProducer(range(20)).setConsumer(
      async (x: number) => {
        await sleep(clock, x === 2 ? 1 : 5);
        done.push(x);
        return x === 2 ? Last(x) : undefined;
      },
      { scalingStrategy: new FixedScaling({ workers: 3 }) },
    );
    await runVirtual(f, clock);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2]);
    expect(f.stats()).toMatchObject({ consumed: 3, inFlight: 0 });
    expect(f.stats().dropped).toBe(f.stats().itemsIn - 3);
  });
});
