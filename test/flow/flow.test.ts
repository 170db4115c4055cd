import { describe, expect, it, vi } from "vitest";
import { fanOut } from "../../src/index.js";
import { Flow } from "../../src/index.js";
import { flow } from "../../src/index.js";
import { FlowConfigError } from "../../src/index.js";
import { FixedScaling } from "../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../helpers.js";

describe("Flow", () => {
  it("passes every item through the stages in order with one worker per stage", async () => {
    const seen: string[] = [];
    const f = new Flow()
      .setProducer(range(50))
      .addTransformer(async (x: number) => x * 2)
      .addTransformer((x) => `#${x}`)
      .setConsumer(async (s) => {
        seen.push(s);
      });
    await f.run();
    expect(seen).toEqual(range(50).map((x) => `#${x * 2}`));
    const s = f.stats();
    expect(s).toMatchObject({
      state: "drained",
      itemsIn: 50,
      consumed: 50,
      failed: 0,
      dropped: 0,
      inFlight: 0,
    });
    expect(s.stages.map((x) => x.processed)).toEqual([50, 50, 50]);
  });

  it("accepts an async iterable, an iterable and a function returning one", async () => {
    async function* gen() {
      yield 1;
      yield 2;
    }
    for (const source of [[1, 2], new Set([1, 2]), gen(), gen, () => [1, 2]]) {
      const got: number[] = [];
      await new Flow()
        .setProducer(source as Iterable<number>)
        .setConsumer((x: number) => void got.push(x))
        .run();
      expect(got).toEqual([1, 2]);
    }
  });

  it("runs again from a producer function; a generator object is consumed once", async () => {
    let calls = 0;
    const f = new Flow()
      .setProducer(function* () {
        yield 1;
        yield 2;
      })
      .setConsumer(() => void calls++);
    await f.run();
    await f.run();
    expect(calls).toBe(4);
    const once = (function* () {
      yield 1;
    })();
    const g = new Flow().setProducer(once).setConsumer(() => void calls++);
    await g.run();
    expect(calls).toBe(5);
    // A second run of a generator object would see no items: it is refused instead.
    await expect(g.run()).rejects.toMatchObject({ name: "FlowConfigError", option: "producer" });
    expect(calls).toBe(5);
  });

  it("gives each stream() its own source: a second stream(other) does not change the first", async () => {
    const f = new Flow<string>().addTransformer((x: string) => x);
    const a = f.stream(["a1", "a2"]);
    const b = f.stream(["b1"]);
    const fromA: string[] = [];
    const fromB: string[] = [];
    for await (const x of a) fromA.push(x);
    for await (const x of b) fromB.push(x);
    expect(fromA).toEqual(["a1", "a2"]);
    expect(fromB).toEqual(["b1"]);
  });

  it("keeps order within a single worker even when the function takes varying time", async () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(20))
      .addTransformer(async (x: number) => {
        await sleep(clock, (x * 7) % 5);
        return x;
      })
      .setConsumer((x) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual(range(20));
  });

  it("runs stages concurrently with several workers", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(range(40))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 10);
          return x;
        },
        { scalingStrategy: new FixedScaling({ workers: 4 }) },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    // 40 items × 10 ms on 4 workers take 100 ms of virtual time, not 400.
    expect(clock.now()).toBeLessThanOrEqual(110);
    expect(f.stats().consumed).toBe(40);
  });

  it("runs without a consumer: the last transformer's outputs are consumed", async () => {
    const f = flow(
      (x: number) => x + 1,
      async (x: number) => x * 3,
    );
    await f.run([1, 2, 3]);
    expect(f.stats()).toMatchObject({ itemsIn: 3, consumed: 3 });
  });

  it("streams the last stage's outputs", async () => {
    const out: string[] = [];
    for await (const s of flow(
      async (x: number) => x + 1,
      (y: number) => `v${y}`,
    ).stream([1, 2, 3]))
      out.push(s);
    expect(out).toEqual(["v2", "v3", "v4"]);
  });

  it("stops cleanly when the stream loop breaks, dropping what was left", async () => {
    const f = flow((x: number) => x);
    let n = 0;
    for await (const _ of f.stream(function* () {
      for (let i = 0; ; i++) yield i;
    })) {
      if (++n === 5) break;
    }
    const s = f.stats();
    expect(s.state).toBe("stopped");
    expect(s.consumed).toBe(5);
    expect(s.inFlight).toBe(0);
    expect(s.itemsIn).toBe(s.consumed + s.dropped);
  });

  it("runs unbounded without a source, calling the first stage with undefined until drained", async () => {
    const clock = new VirtualClock();
    const args: unknown[] = [];
    const f = new Flow({ clock }).setConsumer(async (x: unknown) => {
      args.push(x);
      await sleep(clock, 1);
    });
    const done = f.run();
    await clock.advance(20);
    const drained = f.drain();
    await clock.runUntil(() => f.stats().state === "drained");
    await Promise.all([drained, done]);
    // Drain finishes what was queued (one queue's worth) and takes nothing more.
    expect(args.length).toBe(f.stats().itemsIn);
    expect(args.length).toBeGreaterThanOrEqual(20);
    expect(args.every((a) => a === undefined)).toBe(true);
    expect(f.stats().inFlight).toBe(0);
  });

  it("emits a stats snapshot every statsIntervalMs while running", async () => {
    const clock = new VirtualClock();
    const seen: { now: number; consumed: number }[] = [];
    const f = new Flow({ clock, statsIntervalMs: 200, tickMs: 50 })
      .setProducer(range(10))
      .setConsumer(async () => sleep(clock, 100), { name: "c" });
    f.on("stats", (s) => seen.push({ now: s.now, consumed: s.consumed }));
    await runVirtual(f, clock);
    expect(seen.map((s) => s.now)).toEqual([200, 400, 600, 800]);
    expect(seen.map((s) => s.consumed)).toEqual([2, 4, 6, 8]);
  });

  it("renders its structure with the strategies and queues of each stage", () => {
    const f = new Flow()
      .setProducer([1])
      .addTransformer((x: number) => x, { name: "a", queue: "lifo", queueSize: 7 })
      .setConsumer(() => {}, { scalingStrategy: new FixedScaling({ workers: 2 }) });
    expect(f.dump()).toBe(
      [
        "[producer] producer",
        "  -> [transformer] a  queue=7 lifo  workers=FixedScaling [1..1]",
        "  -> [consumer] consumer  queue=1024 fifo  workers=FixedScaling [2..2]",
      ].join("\n"),
    );
    expect(f.dump({ format: "mermaid" })).toContain("s1 --> s2");
  });

  it("serves a priority queue highest first", async () => {
    const clock = new VirtualClock();
    const order: number[] = [];
    const f = new Flow({ clock }).setProducer([1, 9, 3, 7, 5]).setConsumer(
      async (x: number) => {
        order.push(x);
        await sleep(clock, 10);
      },
      { queue: { priority: (x) => x } },
    );
    await runVirtual(f, clock);
    // The first item is taken at once; the rest wait in the queue and leave by priority.
    expect(order).toEqual([1, 9, 7, 5, 3]);
  });

  it("gives a priority function inside a fan-out branch the item, not the branch's envelope", async () => {
    const clock = new VirtualClock();
    const seen: unknown[] = [];
    const order: number[] = [];
    const f = new Flow({ clock })
      .setProducer([1, 9, 3, 7, 5])
      .addTransformer(
        fanOut(
          [
            new Flow<number>().addTransformer(
              async (x: number) => {
                order.push(x);
                await sleep(clock, 10);
                return x;
              },
              {
                name: "slow",
                queue: {
                  priority: (x: number) => {
                    seen.push(x);
                    return x;
                  },
                },
              },
            ),
          ],
          ([x]) => x,
        ),
        { name: "fan" },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(seen.every((x) => typeof x === "number")).toBe(true);
    expect(order).toEqual([1, 9, 7, 5, 3]);
  });

  it("ranks an item 0 when the priority function throws or returns NaN, and loses none", async () => {
    const clock = new VirtualClock();
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const order: number[] = [];
    const f = new Flow({ clock }).setProducer([1, 9, 3, 7, 5]).setConsumer(
      async (x: number) => {
        order.push(x);
        await sleep(clock, 10);
      },
      {
        queue: {
          priority: (x: number) => {
            if (x === 7) throw new Error("no rank");
            return x === 3 ? Number.NaN : x;
          },
        },
      },
    );
    await runVirtual(f, clock);
    expect(order).toEqual([1, 9, 5, 3, 7]); // 3 and 7 rank 0, FIFO between them
    expect(log).toHaveBeenCalledOnce();
    log.mockRestore();
  });

  it("names stages after their functions, de-duplicating, and rejects a duplicate explicit name", () => {
    function parse(x: number) {
      return x;
    }
    const f = new Flow().setProducer([1]).addTransformer(parse).addTransformer(parse);
    expect(() => f.addTransformer((x) => x, { name: "parse" })).toThrow(/already exists/);
    f.setConsumer(() => {});
    expect(f.dump({ format: "json" })).toContain('"parse-2"');
    expect(() => f.configure("nope", { queueSize: 2 })).toThrow(FlowConfigError);
  });

  it("refuses a transformer after the consumer, which would run before it, and says how to add one", () => {
    const f = new Flow().addTransformer((x: number) => x).setConsumer(() => {}, { name: "sink" });
    let error: unknown;
    try {
      f.addTransformer((x: number) => x + 1, { name: "late" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlowConfigError);
    expect((error as FlowConfigError).code).toBe("ERR_FLOW_STATE");
    expect((error as Error).message).toMatch(/stage "late": the flow already has a consumer \("sink"\)/);
    expect((error as Error).message).toContain("before setConsumer()");
    expect(f.dump()).not.toContain("late");
  });

  it("refuses a second consumer instead of replacing the first, and points to configure()", async () => {
    const got: number[] = [];
    const f = new Flow().setConsumer((x: number) => void got.push(x));
    let error: unknown;
    try {
      f.setConsumer((x: number) => void got.push(-x), { queueSize: 4 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlowConfigError);
    expect((error as FlowConfigError).code).toBe("ERR_FLOW_STATE");
    expect((error as Error).message).toContain('configure("consumer", options)');
    await f.run([1, 2]);
    expect(got).toEqual([1, 2]);
  });

  it("applies configure() to a named stage", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(range(10))
      .addTransformer(async (x: number) => x, { name: "a" })
      .setConsumer(() => {});
    f.configure("a", { scalingStrategy: new FixedScaling({ workers: 3 }), queueSize: 2 });
    await f.start();
    expect(f.stageStats("a")).toMatchObject({ totalWorkers: 3, queueCapacity: 2 });
    await clock.runUntil(() => f.stats().state === "drained");
  });

  it("refuses to start without a producer or stages, and to change while running", async () => {
    await expect(new Flow().setConsumer(() => {}).start()).rejects.toThrow(/no producer/);
    await expect(new Flow().setProducer([1]).start()).rejects.toThrow(/no stages/);
    await expect(new Flow().wait()).rejects.toThrow(/never started/);
    const clock = new VirtualClock();
    const f = new Flow({ clock }).setProducer(range(3)).setConsumer(async () => sleep(clock, 5));
    await f.start();
    expect(() => f.addTransformer((x) => x)).toThrow(/running/);
    await clock.runUntil(() => f.stats().state === "drained");
  });
});
