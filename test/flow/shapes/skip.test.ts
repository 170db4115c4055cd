import { describe, expect, it } from "vitest";
import {
  batch,
  FixedScaling,
  Flow,
  type FlowErrorEvent,
  fanOut,
  Last,
  router,
  Skip,
  type Skipped,
} from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

const workers = (n: number) => ({ scalingStrategy: new FixedScaling({ workers: n }) });

/** A flow's skip events and error-handler events, recorded. */
function recorded<F extends Flow<any, any>>(f: F) {
  const skips: Skipped[] = [];
  f.on("skip", (e) => void skips.push(e));
  return skips;
}

describe("Skip", () => {
  it("ends an item on purpose: counted per stage and per flow, a skip event, never the error handler", async () => {
    const clock = new VirtualClock();
    const handled: FlowErrorEvent[] = [];
    const out: number[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void handled.push(e) })
      .setProducer(range(10))
      .addTransformer((x: number) => (x % 3 === 0 ? Skip : x * 10), { name: "thirds" })
      .addTransformer((x: number) => x + 1, { name: "plus" })
      .setConsumer((x) => void out.push(x));
    const skips = recorded(f);
    await runVirtual(f, clock);
    expect(out.sort((a, b) => a - b)).toEqual([11, 21, 41, 51, 71, 81]);
    expect(skips.map((e) => [e.type, e.item, e.stage])).toEqual(
      [0, 3, 6, 9].map((x) => ["Skipped", x, "thirds"]),
    );
    expect(handled).toEqual([]);
    expect(f.stats()).toMatchObject({ itemsIn: 10, consumed: 6, skipped: 4, failed: 0, inFlight: 0 });
    expect(f.stageStats("thirds")).toMatchObject({ processed: 10, skipped: 4, errors: 0 });
    expect(f.stageStats("plus")).toMatchObject({ received: 6, skipped: 0 });
  });

  it("from the consumer, is skipped rather than consumed; from stream()'s last stage, never yielded", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(range(6))
      .setConsumer((x: number) => (x < 2 ? Skip : undefined));
    await runVirtual(f, clock);
    expect(f.stats()).toMatchObject({ consumed: 4, skipped: 2 });

    const g = new Flow().addTransformer((x: number) => (x % 2 ? Skip : x));
    const seen: number[] = [];
    for await (const x of g.stream(range(7))) seen.push(x);
    expect(seen).toEqual([0, 2, 4, 6]);
    expect(g.stats()).toMatchObject({ consumed: 4, skipped: 3, inFlight: 0 });
  });

  it("keeps the order of the items around it under ordered: true, with workers finishing out of order", async () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(60))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, (x * 37) % 11);
          return x % 4 === 1 ? Skip : x;
        },
        { ...workers(6), ordered: true },
      )
      .setConsumer((x) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual(range(60).filter((x) => x % 4 !== 1));
    expect(f.stats()).toMatchObject({ consumed: 45, skipped: 15, inFlight: 0 });
  });

  it("from a router's classifier skips the item: no arm sees it", async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const f = new Flow({ clock })
      .setProducer(range(9))
      .addTransformer(
        router((x: number) => (x % 3 === 0 ? Skip : x % 3 === 1 ? "one" : "two"), {
          one: (x: number) => void seen.push(`one ${x}`),
          two: (x: number) => void seen.push(`two ${x}`),
        }),
        { name: "route" },
      )
      .setConsumer(() => {});
    const skips = recorded(f);
    await runVirtual(f, clock);
    expect(seen.sort()).toEqual(["one 1", "one 4", "one 7", "two 2", "two 5", "two 8"]);
    expect(skips.map((e) => [e.item, e.stage])).toEqual([
      [0, "route"],
      [3, "route"],
      [6, "route"],
    ]);
    expect(f.stats()).toMatchObject({ consumed: 6, skipped: 3, dropped: 0, inFlight: 0 });
  });

  it("from a fan-out branch skips the whole item once; from merge, skips it too", async () => {
    const clock = new VirtualClock();
    const merged: number[][] = [];
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(8))
      .addTransformer(
        fanOut(
          [(x: number) => (x % 4 === 0 ? Skip : x), (x: number) => (x % 4 === 0 ? Skip : x * 10)],
          ([a, b]) => {
            merged.push([a, b]);
            return a === 3 ? Skip : a + b;
          },
          { name: "both" },
        ),
      )
      .setConsumer((x) => void out.push(x));
    const skips = recorded(f);
    await runVirtual(f, clock);
    expect(merged.map(([a]) => a).sort()).toEqual([1, 2, 3, 5, 6, 7]); // merge never saw 0 or 4
    expect(out.sort((a, b) => a - b)).toEqual([11, 22, 55, 66, 77]);
    expect(skips.map((e) => [e.item, e.stage]).sort()).toEqual([
      [0, "both"],
      [3, "both"],
      [4, "both"],
    ]);
    expect(f.stats()).toMatchObject({ itemsIn: 8, consumed: 5, skipped: 3, inFlight: 0 });
  });

  it("in a batch function's results skips that item, ordered or not", async () => {
    for (const ordered of [false, true]) {
      const clock = new VirtualClock();
      const out: number[] = [];
      const f = new Flow({ clock })
        .setProducer(range(20))
        .addTransformer(
          batch(
            async (xs: number[]) => {
              await sleep(clock, xs[0]! % 7);
              return xs.map((x) => (x % 5 === 0 ? Skip : x));
            },
            { size: 4 },
          ),
          { ...workers(3), ordered },
        )
        .setConsumer((x) => void out.push(x));
      await runVirtual(f, clock);
      const kept = range(20).filter((x) => x % 5 !== 0);
      expect(ordered ? out : out.sort((a, b) => a - b)).toEqual(kept);
      expect(f.stats()).toMatchObject({ consumed: 16, skipped: 4, inFlight: 0 });
    }
  });

  it("inside a sub-flow and in push mode is counted like anywhere else", async () => {
    const inner = new Flow().addTransformer((x: number) => (x > 2 ? Skip : x), { name: "cap" });
    const f = new Flow().addTransformer(inner).setConsumer(() => {});
    const input = f.push();
    const sent = await Promise.all(range(5).map((x) => input.send(x)));
    expect(sent.every((r) => r.status === "queued")).toBe(true);
    await input.complete();
    expect(f.stats()).toMatchObject({ itemsIn: 5, consumed: 3, skipped: 2, inFlight: 0 });
    expect(f.stats().stages.find((s) => s.stageName.endsWith("cap"))?.skipped).toBe(2);
  });

  it("loses no item when a skip listener throws: counted as a listener error", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer(range(6))
      .setConsumer((x: number) => (x % 2 ? Skip : undefined));
    f.on("skip", () => {
      throw new Error("listener");
    });
    await runVirtual(f, clock);
    expect(f.stats()).toMatchObject({ consumed: 3, skipped: 3, inFlight: 0, listenerErrors: 3 });
  });

  it("as Last(Skip) ends the flow with that item skipped: nothing handed on for it, ordered or not, in batches too", async () => {
    for (const shape of ["plain", "ordered", "batch"] as const) {
      const clock = new VirtualClock();
      const out: number[] = [];
      const events: FlowErrorEvent[] = [];
      const end = (x: number) => (x === 20 ? Last(Skip) : x);
      const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
        .setProducer(range(1000))
        .addTransformer(
          shape === "batch"
            ? batch(
                async (xs: number[]) => {
                  await sleep(clock, 1);
                  return xs.map(end);
                },
                { size: 4 },
              )
            : async (x: number) => {
                await sleep(clock, (x * 37) % 5);
                return end(x);
              },
          { ...workers(3), ordered: shape !== "plain", queueSize: 8 },
        )
        .setConsumer((x) => void out.push(x));
      const skips = recorded(f);
      await runVirtual(f, clock);
      expect(
        skips.map((e) => e.item),
        shape,
      ).toEqual([20]);
      expect(out.includes(20) || out.some((x) => typeof x !== "number"), shape).toBe(false);
      if (shape !== "plain") expect(out, shape).toEqual(range(20)); // everything before it, in order
      const s = f.stats();
      expect(s.endedBy, shape).toBe("last");
      expect(s.consumed + s.skipped + s.dropped, shape).toBe(s.itemsIn);
      expect(s.skipped, shape).toBe(1);
      expect(
        events.every((e) => e.type === "Dropped" && e.reason === "UPSTREAM_TERMINATED"),
        shape,
      ).toBe(true);
    }
  });

  it("after stop(), a call that returns Skip still ends its item as skipped (it needs nothing downstream)", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, closeTimeoutMs: 100, errorHandler: () => {} })
      .setProducer(range(4))
      .addTransformer(async (_x: number) => {
        await sleep(clock, 30);
        return Skip;
      }, workers(4))
      .setConsumer(() => {});
    await f.start();
    await clock.advance(5);
    const stopped = f.stop();
    await clock.runUntil(() => f.stats().state === "stopped");
    await stopped;
    expect(f.stats()).toMatchObject({ skipped: 4, dropped: 0, inFlight: 0 });
  });
});
