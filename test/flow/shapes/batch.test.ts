import { describe, expect, it } from "vitest";
import { batch } from "../../../src/index.js";
import type { FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { perWorker } from "../../../src/index.js";
import { FlowConfigError } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

describe("batch", () => {
  it("hands the function full batches of `size` items and sends one result per item on", async () => {
    const sizes: number[] = [];
    const out: number[] = [];
    const f = new Flow()
      .setProducer(range(10))
      .addTransformer(
        batch(
          (xs: number[]) => {
            sizes.push(xs.length);
            return xs.map((x) => x * 10);
          },
          { size: 4 },
        ),
      )
      .setConsumer((x) => void out.push(x));
    await f.run();
    expect(sizes).toEqual([4, 4, 2]); // the last, partial batch at the end of input
    expect(out).toEqual(range(10).map((x) => x * 10));
    expect(f.stageStats("batch")).toMatchObject({ processed: 10, batches: 3 });
  });

  it("flushes a partial batch once its oldest item has waited flushMs", async () => {
    const clock = new VirtualClock();
    const calls: [number, number[]][] = [];
    const f = new Flow({ clock })
      .setProducer(async function* () {
        for (const x of range(7)) {
          yield x;
          await sleep(clock, 30);
        }
      })
      .setConsumer(
        batch(
          (xs: number[]) => {
            calls.push([clock.now(), xs]);
          },
          { size: 5, flushMs: 100 },
        ),
      );
    await runVirtual(f, clock);
    // Items arrive every 30 ms; the oldest of each batch waits 100 ms at most.
    expect(calls.map(([, xs]) => xs)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6],
    ]);
    expect(calls[0]![0]).toBe(100);
    expect(calls.flatMap(([, xs]) => xs)).toEqual(range(7));
  });

  it("flushes the partial batch on drain", async () => {
    const clock = new VirtualClock();
    const got: number[][] = [];
    const f = new Flow({ clock })
      .setProducer(async function* () {
        for (let x = 0; ; x++) {
          yield x;
          await sleep(clock, 10);
        }
      })
      .setConsumer(
        batch((xs: number[]) => void got.push(xs), { size: 100, flushMs: Number.POSITIVE_INFINITY }),
      );
    await f.start();
    await clock.advance(55);
    const drained = f.drain();
    await clock.runUntil(() => f.stats().state === "drained");
    await drained;
    // Drained while the source waited between items: the item that wait ended with (6) is run too.
    expect(got).toEqual([range(7)]);
    expect(f.stats()).toMatchObject({ itemsIn: 7, consumed: 7, inFlight: 0 });
  });

  it("reports each item of a failing batch as a TransformerError", async () => {
    const events: FlowErrorEvent[] = [];
    const out: number[] = [];
    const f = new Flow()
      .setProducer(range(9))
      .addTransformer(
        batch(
          (xs: number[]) => {
            if (xs.includes(4)) throw new Error("bad batch");
            return xs;
          },
          { size: 3, name: "b" },
        ),
      )
      .setConsumer((x) => void out.push(x))
      .setErrorHandler((e) => void events.push(e));
    await f.run();
    expect(out).toEqual([0, 1, 2, 6, 7, 8]);
    expect(events.map((e) => e.type === "TransformerError" && [e.item, e.stage, String(e.error)])).toEqual([
      [3, "b", "Error: bad batch"],
      [4, "b", "Error: bad batch"],
      [5, "b", "Error: bad batch"],
    ]);
    expect(f.stageStats("b")).toMatchObject({ errors: 3, processed: 6, batches: 3 });
  });

  it("fails the whole batch, clearly, when the result is not one entry per item", async () => {
    const events: FlowErrorEvent[] = [];
    await new Flow()
      .setProducer(range(3))
      .addTransformer(batch((xs: number[]) => xs.slice(1), { size: 3, name: "short" }))
      .setConsumer(() => {})
      .setErrorHandler((e) => void events.push(e))
      .run();
    expect(events).toHaveLength(3);
    expect(String((events[0] as { error: unknown }).error)).toMatch(
      /batch stage "short" returned array\(2\) for 3 items; expected an array of 3 results, one per item/,
    );
  });

  it("ignores the return value when the batch stage ends the flow", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(range(5))
      .addTransformer(batch(async (_xs: number[]) => void (await sleep(clock, 1)), { size: 2 }));
    await runVirtual(f, clock);
    expect(f.stats()).toMatchObject({ consumed: 5, failed: 0 });
  });

  it("behaves like a plain stage with size 1", async () => {
    const plain: number[] = [];
    const batched: number[] = [];
    await new Flow()
      .setProducer(range(20))
      .addTransformer((x: number) => x * 3)
      .setConsumer((x) => void plain.push(x))
      .run();
    await new Flow()
      .setProducer(range(20))
      .addTransformer(batch((xs: number[]) => xs.map((x) => x * 3), { size: 1 }))
      .setConsumer((x) => void batched.push(x))
      .run();
    expect(batched).toEqual(plain);
  });

  it("runs batches on several workers at once, each taking whole batches", async () => {
    const clock = new VirtualClock();
    let running = 0;
    let maxRunning = 0;
    const seen: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(40))
      .addTransformer(
        batch(
          async (xs: number[]) => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            await sleep(clock, 10);
            running--;
            return xs;
          },
          { size: 5 },
        ),
        { scalingStrategy: new FixedScaling({ workers: 4 }) },
      )
      .setConsumer((x) => void seen.push(x));
    await runVirtual(f, clock);
    expect(maxRunning).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(range(40));
    expect(f.stageStats("batch")!.batches).toBe(8);
    expect(clock.now()).toBeLessThanOrEqual(30); // 8 batches × 10 ms over 4 workers
  });

  it("works with a per-worker resource", async () => {
    let opened = 0;
    let closed = 0;
    const out: string[] = [];
    await new Flow()
      .setProducer(range(6))
      .addTransformer(
        batch(
          perWorker(() => {
            opened++;
            return { process: (xs: number[]) => xs.map((x) => `r${x}`), close: () => void closed++ };
          }),
          { size: 4 },
        ),
      )
      .setConsumer((s) => void out.push(s))
      .run();
    expect(out).toEqual(range(6).map((x) => `r${x}`));
    expect(opened).toBe(closed);
  });

  it("clears its flush timer on stop, leaving no timer behind", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(async function* () {
        yield 1;
        await sleep(clock, 1_000_000);
      })
      .setConsumer(batch(() => {}, { size: 10, flushMs: 5_000 }));
    await f.start();
    await clock.advance(10);
    expect(clock.pendingTimers).toBeGreaterThanOrEqual(2); // the tick and the flush timer (and the producer's sleep)
    await f.stop();
    // Only the producer's own sleep is left: the flow's tick and flush timers are gone.
    expect(clock.pendingTimers).toBe(1);
    expect(f.stats()).toMatchObject({ itemsIn: 1, dropped: 1 });
  });

  it("rejects a queue smaller than a batch, and bad batch options", () => {
    expect(() =>
      new Flow().addTransformer(
        batch((xs: number[]) => xs, { size: 10 }),
        { queueSize: 5 },
      ),
    ).toThrow(/option "queueSize" = 5: expected at least the batch size \(10\)/);
    expect(() => batch((xs: number[]) => xs, { size: 0 })).toThrow(FlowConfigError);
    expect(() => batch((xs: number[]) => xs, { size: 2, flushMs: -1 })).toThrow(/flushMs/);
    expect(() => batch("nope" as never, { size: 2 })).toThrow(/batch: fn = "nope"/);
  });
});
