import { describe, expect, it } from "vitest";
import type { FlowErrorEvent, StageContext } from "../../src/index.js";
import { batch, FixedScaling, Flow, fanOut, flatMap, router } from "../../src/index.js";
import { range, sleep, VirtualClock } from "../helpers.js";

/**
 * A close timeout of an hour: a stop() that waited for it would outlast the test's own timeout,
 * so the run ending at all is the check that stop() was prompt (no wall-clock bound needed).
 */
const HOUR_CLOSE = { closeTimeoutMs: 3_600_000 };
/** Calls that started with their signal already aborted (after stop()). */
let startedAborted = 0;
/** Waits until the call's signal aborts, listening for the event only (as much user code does). */
const untilAbort = (ctx: StageContext) => {
  if (ctx.signal.aborted) startedAborted++;
  return new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
};
/** A stage that holds its item until its signal aborts, then passes it on. */
const held = async <T>(x: T, ctx: StageContext): Promise<T> => {
  await untilAbort(ctx);
  return x;
};

describe("stop() in the same tick as run()", () => {
  // Found by a helper: the items handed to waiting workers in that tick were called after stop(),
  // with their signal already aborted; code that only listens for `abort` then held stop() for
  // closeTimeoutMs (5 s). They are dropped instead, never called.
  const shapes: [string, () => Flow<number, any>][] = [
    ["a plain stage", () => new Flow<number>(HOUR_CLOSE).addTransformer(held)],
    [
      "an ordered stage",
      () =>
        new Flow<number>(HOUR_CLOSE).addTransformer(held, {
          ordered: true,
          scalingStrategy: new FixedScaling({ workers: 3 }),
        }),
    ],
    [
      "a flatMap",
      () =>
        new Flow<number>(HOUR_CLOSE).addTransformer(
          flatMap(async (x: number, ctx: StageContext) => [await held(x, ctx)]),
          { scalingStrategy: new FixedScaling({ workers: 2 }) },
        ),
    ],
    [
      "a rate-limited stage",
      () =>
        new Flow<number>(HOUR_CLOSE).addTransformer(held, {
          rateLimit: { perSecond: 1000 },
          scalingStrategy: new FixedScaling({ workers: 2 }),
        }),
    ],
    [
      "a batch stage",
      () =>
        new Flow<number>(HOUR_CLOSE).addTransformer(batch(held<number[]>, { size: 2 }), {
          scalingStrategy: new FixedScaling({ workers: 2 }),
        }),
    ],
    [
      "a router",
      () =>
        new Flow<number>(HOUR_CLOSE).addTransformer(
          router((x: number) => (x % 2 ? "odd" : "even"), {
            odd: held,
            even: held,
          }),
        ),
    ],
    [
      "a fan-out",
      () => new Flow<number>(HOUR_CLOSE).addTransformer(fanOut([held, (x: number) => x], (outs) => outs[0])),
    ],
  ];
  for (const [shape, make] of shapes)
    it(`${shape}: no call starts after stop(), stop() ends (closeTimeoutMs is an hour), every item has one outcome`, async () => {
      const flow = make().setConsumer(() => {});
      flow.setErrorHandler(() => {});
      startedAborted = 0;
      let stopped = false;
      const done = flow.run(range(20));
      const stop = flow.stop().then(() => {
        stopped = true;
      });
      await stop;
      await done;
      expect(stopped).toBe(true);
      const s = flow.stats();
      expect(s.inFlight).toBe(0);
      expect(s.consumed + s.failed + s.dropped + s.skipped + s.expanded).toBe(s.itemsIn + s.children);
      expect(startedAborted).toBe(0);
    });
});

describe("stop()", () => {
  it("reports an item that an abandoned next() yields afterwards as Dropped (STOPPED), never lost", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(async function* () {
        yield 0;
        await sleep(clock, 100);
        yield 1;
      })
      .setConsumer(() => {});
    await f.start();
    await clock.advance(10);
    await f.stop();
    expect(f.stats()).toMatchObject({ state: "stopped", itemsIn: 1, consumed: 1, inFlight: 0 });
    await clock.advance(100);
    expect(events).toMatchObject([{ type: "Dropped", item: 1, reason: "STOPPED" }]);
    expect(f.stats()).toMatchObject({ itemsIn: 2, consumed: 1, dropped: 1, inFlight: 0 });
  });

  it("returns promptly while the producer is stalled inside an await", async () => {
    let finallyRan = false;
    const f = new Flow()
      .setProducer(async function* () {
        try {
          yield 1;
          await new Promise(() => {}); // never resolves
        } finally {
          finallyRan = true;
        }
      })
      .setConsumer(() => {});
    await f.start();
    await new Promise((r) => setImmediate(r));
    await f.stop();
    expect(f.stats()).toMatchObject({ state: "stopped", itemsIn: 1, consumed: 1, inFlight: 0 });
    expect(finallyRan).toBe(false); // the generator is still suspended in its await; nothing waits on it
  });

  it("aborts in-flight items, drops queued ones with reason STOPPED, and resolves wait()", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const aborted: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(100))
      .addTransformer(
        (x: number, ctx) =>
          new Promise<number>((resolve, reject) => {
            const t = clock.setTimeout(() => resolve(x), 1000);
            ctx.signal.addEventListener("abort", () => {
              clock.clearTimeout(t);
              aborted.push(x);
              reject(ctx.signal.reason);
            });
          }),
        { name: "slow", scalingStrategy: new FixedScaling({ workers: 2 }), queueSize: 10 },
      )
      .setConsumer(() => {})
      .setErrorHandler((e) => void events.push(e));
    await f.start();
    await clock.advance(10);
    const waited = f.wait();
    await f.stop();
    await waited;
    const s = f.stats();
    expect(aborted).toEqual([0, 1]);
    expect(s.consumed).toBe(0);
    expect(s.failed).toBe(0);
    expect(s.dropped).toBe(s.itemsIn);
    expect(events.every((e) => e.type === "Dropped" && e.reason === "STOPPED")).toBe(true);
    expect(events).toHaveLength(s.itemsIn);
    // 2 in flight + 10 queued + 1 held by the blocked producer.
    expect(s.itemsIn).toBe(13);
  });

  it("resolves when called twice, after drain, and during a drain", async () => {
    const clock = new VirtualClock();
    const make = () =>
      new Flow({ clock }).setProducer(range(10)).setConsumer(async (_x, ctx) => {
        await sleep(clock, 10, ctx.signal);
      });
    const a = make();
    await a.start();
    await Promise.all([a.stop(), a.stop()]);
    expect(a.stats().state).toBe("stopped");
    await a.drain();

    const b = make();
    await b.start();
    const draining = b.drain();
    await clock.advance(15);
    await b.stop();
    await draining;
    expect(b.stats().state).toBe("stopped");
    expect(b.stats().inFlight).toBe(0);
  });

  it("is stopped by run()'s signal", async () => {
    const clock = new VirtualClock();
    const ac = new AbortController();
    const f = new Flow({ clock }).setConsumer(async (_x, ctx) => sleep(clock, 1, ctx.signal));
    const running = f.run(undefined, { signal: ac.signal });
    await clock.advance(5);
    ac.abort();
    await running;
    expect(f.stats().state).toBe("stopped");
  });
});

describe("drain()", () => {
  it("closes the producer so its finally runs, and finishes what was taken", async () => {
    const clock = new VirtualClock();
    let finallyRan = false;
    const got: number[] = [];
    const f = new Flow({ clock })
      .setProducer(function* () {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          finallyRan = true;
        }
      })
      .setConsumer(
        async (x: number) => {
          await sleep(clock, 1);
          got.push(x);
        },
        { queueSize: 5 },
      );
    await f.start();
    await clock.advance(3);
    const drained = f.drain();
    await clock.runUntil(() => f.stats().state === "drained");
    await drained;
    expect(finallyRan).toBe(true);
    const s = f.stats();
    expect(s.consumed).toBe(s.itemsIn);
    expect(got).toEqual(range(s.itemsIn));
  });

  it("waits for a next() in progress and runs the item it yields (it was lost before)", async () => {
    const clock = new VirtualClock();
    const consumed: number[] = [];
    const events: FlowErrorEvent[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(async function* () {
        for (let i = 0; i < 6; i++) {
          if (i === 5) await sleep(clock, 100); // a broker read that takes a while
          yield i;
        }
      })
      .setConsumer((x) => void consumed.push(x));
    await f.start();
    await clock.advance(30);
    const drained = f.drain();
    await clock.runUntil(() => f.stats().state === "drained");
    await drained;
    expect(consumed).toEqual(range(6));
    expect(events).toEqual([]);
    expect(f.stats()).toMatchObject({ itemsIn: 6, consumed: 6, inFlight: 0, endedBy: "drain" });
  });

  it("bounds the wait for a stalled next() with timeoutMs", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(async function* () {
        yield 1;
        await new Promise(() => {});
      })
      .setConsumer(() => {});
    await f.start();
    await clock.advance(1);
    let done = false;
    void f.drain({ timeoutMs: 50 }).then(() => (done = true));
    await clock.advance(49);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
    expect(f.stats()).toMatchObject({ state: "stopped", endedBy: "drain", itemsIn: 1, consumed: 1 });
  });

  it("a source that ends a drain by rejecting with its signal's reason is not a SourceError", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(async function* ({ signal }) {
        yield 1;
        await new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        );
      })
      .setConsumer(() => {});
    await f.start();
    await clock.advance(1);
    await f.drain();
    expect(events).toEqual([]);
    expect(f.stats()).toMatchObject({ state: "drained", endedBy: "drain", itemsIn: 1, consumed: 1 });
  });

  it("ends at once when the source honours ctx.signal", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock })
      .setProducer(async function* ({ signal }) {
        yield 1;
        // Waits for a message that never comes, unless the flow stops taking input.
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      })
      .setConsumer(() => {});
    await f.start();
    await clock.advance(1);
    await f.drain();
    expect(f.stats()).toMatchObject({ state: "drained", endedBy: "drain", itemsIn: 1, consumed: 1 });
  });

  it("emits drained after a natural end and stopped after stop()", async () => {
    const seen: string[] = [];
    const f = new Flow().setProducer([1, 2]).setConsumer(() => {});
    f.on("drained", () => seen.push("drained"));
    f.on("stopped", () => seen.push("stopped"));
    await f.run();
    const clock = new VirtualClock();
    const g = new Flow({ clock }).setProducer([1]).setConsumer((_x, ctx) => sleep(clock, 10, ctx.signal));
    g.on("stopped", () => seen.push("stopped"));
    await g.start();
    await g.stop();
    expect(seen).toEqual(["drained", "stopped"]);
  });
});
