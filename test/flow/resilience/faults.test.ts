import { afterEach, describe, expect, it, vi } from "vitest";
import type { FlowErrorEvent, TransformerError } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { perWorker } from "../../../src/index.js";
import { SETUP_ATTEMPTS } from "../../../src/runtime/stage/worker-pool.js";
import { FixedScaling } from "../../../src/index.js";
import type { ScalingStrategy } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

const quiet = () => vi.spyOn(console, "error").mockImplementation(() => {});

describe("faults lose nothing", () => {
  it("a perWorker factory that always throws: backs off, then fails every item with the setup error", async () => {
    const clock = new VirtualClock();
    const log = quiet();
    const setupAt: number[] = [];
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(range(20))
      .addTransformer(
        perWorker(() => {
          setupAt.push(clock.now());
          throw new Error("no connection");
        }),
        { name: "db", scalingStrategy: new FixedScaling({ workers: 3 }), queueSize: 8 },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock, 60_000);
    expect(setupAt).toHaveLength(SETUP_ATTEMPTS);
    // Backoff between tries: 100, 200, 400, 800 ms (give or take one 100 ms tick), one worker
    // probing the factory at a time.
    const gaps = setupAt.slice(1).map((t, i) => t - setupAt[i]!);
    expect(gaps.every((g, i) => g >= 100 * 2 ** i && g <= 100 * 2 ** i + 100)).toBe(true);
    expect(events).toHaveLength(20);
    const first = events[0] as TransformerError;
    expect(first).toMatchObject({ type: "TransformerError", stage: "db", attempt: 0 });
    expect((first.error as Error).message).toMatch(/perWorker factory failed 5 times in a row/);
    expect(((first.error as Error).cause as Error).message).toBe("no connection");
    expect(f.stats()).toMatchObject({ itemsIn: 20, failed: 20, inFlight: 0, state: "drained" });
    expect(log.mock.calls.filter((c) => /perWorker factory failed/.test(String(c[0])))).toHaveLength(1);
  });

  it("a factory that fails twice recovers: every item is consumed", async () => {
    const clock = new VirtualClock();
    quiet();
    let tries = 0;
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(10))
      .addTransformer(
        perWorker(() => {
          if (++tries <= 2) throw new Error("not yet");
          return { process: (x: number) => x };
        }),
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock, 60_000);
    expect(tries).toBe(3);
    expect(out).toEqual(range(10));
  });

  it("a close() that throws on every worker: the others still close, the flow ends", async () => {
    const clock = new VirtualClock();
    const log = quiet();
    let setups = 0;
    let closes = 0;
    const f = new Flow({ clock })
      .setProducer(range(30))
      .addTransformer(
        perWorker(() => {
          setups++;
          return {
            process: (x: number) => sleep(clock, 3).then(() => x),
            close() {
              closes++;
              throw new Error("close broke");
            },
          };
        }),
        { scalingStrategy: new FixedScaling({ workers: 4 }) },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(setups).toBe(4);
    expect(closes).toBe(4);
    expect(f.stats()).toMatchObject({ consumed: 30, inFlight: 0 });
    expect(log.mock.calls.filter((c) => /close\(\) threw/.test(String(c[0])))).toHaveLength(1);
  });

  it.each([
    [
      "throws",
      () => {
        throw new Error("strategy broke");
      },
    ],
    ["returns NaN", () => Number.NaN],
    ["returns a huge delta", () => 1e12],
    ["returns a huge negative delta", () => -1e12],
    ["returns Infinity", () => Number.POSITIVE_INFINITY],
  ])(
    "a scaling strategy that %s: workers stay within [min, max] and the flow goes on",
    async (_l, decide) => {
      const clock = new VirtualClock();
      quiet();
      const strategy: ScalingStrategy = {
        minWorkers: 2,
        maxWorkers: 5,
        initialWorkers: () => 3,
        onEnqueue: decide,
        onDequeue: decide,
        onTick: decide,
      };
      const counts: number[] = [];
      const f = new Flow({ clock, tickMs: 10 })
        .setProducer(range(200))
        .addTransformer((x: number) => sleep(clock, 2).then(() => x), {
          name: "w",
          scalingStrategy: strategy,
        })
        .setConsumer(() => {});
      // Stage w's decisions: at the end of the input its workers exit on their own, down to 0.
      f.on("scale", (e) => void (e.stage === "w" && !e.reason.startsWith("exit:") && counts.push(e.to)));
      await f.start();
      await clock.runUntil(
        () => {
          const s = f.stageStats("w");
          if (s && f.stats().state === "running") counts.push(s.totalWorkers - s.startingWorkers);
          return f.stats().state === "drained";
        },
        { stepMs: 5 },
      );
      expect(f.stats()).toMatchObject({ consumed: 200, inFlight: 0 });
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(2);
      expect(Math.max(...counts)).toBeLessThanOrEqual(5);
    },
  );

  it("a result whose `then` cannot be read (a throwing getter, a Proxy) fails its item, as awaiting it would", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const hostile = [
      {
        // biome-ignore lint/suspicious/noThenProperty: the hostile value under test
        get then() {
          throw new Error("then getter");
        },
      },
      new Proxy(
        {},
        {
          get() {
            throw new Error("proxy trap");
          },
        },
      ),
    ];
    const out: unknown[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(range(4))
      .addTransformer((x: number) => (x === 1 || x === 2 ? hostile[x - 1] : x), { name: "s" })
      .setConsumer((x) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual([0, 3]);
    expect(events.map((e) => ((e as TransformerError).error as Error).message)).toEqual([
      "then getter",
      "proxy trap",
    ]);
    expect(f.stats()).toMatchObject({ consumed: 2, failed: 2, inFlight: 0 });
  });

  it("a consumer that fails on every item: each is reported once, none is lost", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(range(50))
      .addTransformer((x: number) => x + 1)
      .setConsumer(
        () => {
          throw new Error("sink down");
        },
        { name: "sink", retry: { attempts: 2, backoff: { baseMs: 1 } } },
      );
    await runVirtual(f, clock);
    expect(events.map((e) => (e as TransformerError).item).sort((a, b) => Number(a) - Number(b))).toEqual(
      range(50).map((x) => x + 1),
    );
    expect(events.every((e) => e.type === "TransformerError" && e.attempt === 2)).toBe(true);
    expect(f.stats()).toMatchObject({ consumed: 0, failed: 50, inFlight: 0 });
  });

  it("an error handler that hangs: the stage goes on after handlerTimeoutMs and the flow ends", async () => {
    const clock = new VirtualClock();
    const log = quiet();
    let calls = 0;
    const f = new Flow({
      clock,
      handlerTimeoutMs: 1000,
      errorHandler: () => {
        calls++;
        return new Promise<void>(() => {}); // never settles
      },
    })
      .setProducer(range(5))
      .setConsumer((x: number) => {
        if (x % 2 === 0) throw new Error("even");
      });
    await runVirtual(f, clock);
    expect(calls).toBe(3);
    expect(f.stats()).toMatchObject({ consumed: 2, failed: 3, inFlight: 0, state: "drained" });
    expect(clock.now()).toBeGreaterThanOrEqual(3000); // one worker waited for each of the three calls
    expect(log.mock.calls.filter((c) => /did not settle within 1000 ms/.test(String(c[0])))).toHaveLength(1);
  });

  it("a producer that throws before its first item: one SourceError, an empty drained run", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    let closes = 0;
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(async function* (): AsyncGenerator<number> {
        yield* [];
        throw new Error("no input");
      })
      .setConsumer(perWorker(() => ({ process: () => {}, close: () => void closes++ })));
    await runVirtual(f, clock);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "SourceError" });
    expect(f.stats()).toMatchObject({ itemsIn: 0, state: "drained" });
    expect(closes).toBe(1);
  });
});

describe("drain({ timeoutMs })", () => {
  it("finishes in time when it can", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock })
      .setProducer(function* () {
        for (let i = 0; ; i++) yield i;
      })
      .setConsumer((_x: number, ctx) => sleep(clock, 10, ctx.signal), { queueSize: 4 });
    await f.start();
    await clock.advance(25);
    let done = false;
    void f.drain({ timeoutMs: 1000 }).then(() => (done = true));
    await clock.runUntil(() => done);
    expect(f.stats()).toMatchObject({ state: "drained", dropped: 0, inFlight: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("stops what is still in flight at the deadline; every pending send() and wait() settles", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) }).setConsumer(
      (_x: number, ctx) => sleep(clock, 60_000, ctx.signal),
      { queueSize: 2, name: "slow" },
    );
    const input = f.push();
    const sends = range(6).map((i) =>
      input.send(i).then(
        () => "sent",
        () => "refused",
      ),
    );
    const waited = f.wait().then(() => "waited");
    await clock.advance(1);
    let drained = false;
    void f.drain({ timeoutMs: 500 }).then(() => (drained = true));
    await clock.advance(499);
    expect(drained).toBe(false);
    await clock.runUntil(() => drained);
    expect(clock.now()).toBeLessThan(600);
    expect(f.stats()).toMatchObject({ state: "stopped", inFlight: 0 });
    expect(await Promise.all(sends)).toHaveLength(6);
    expect(await waited).toBe("waited");
    expect(events.every((e) => e.type === "Dropped" && e.reason === "STOPPED")).toBe(true);
  });

  it("settles within closeTimeoutMs after the deadline when a call ignores its signal, nothing in flight", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, closeTimeoutMs: 300, errorHandler: () => {} }).setConsumer(
      (x: number) => (x === 0 ? new Promise<void>(() => {}) : sleep(clock, 5)), // item 0 never settles
      { queueSize: 4, name: "deaf" },
    );
    const input = f.push();
    for (let i = 0; i < 3; i++) void input.send(i);
    await clock.advance(1);
    let drained = false;
    void f.drain({ timeoutMs: 500 }).then(() => (drained = true));
    await clock.advance(599);
    expect(drained).toBe(false); // the deadline passed; stop() waits out closeTimeoutMs for the deaf call
    await clock.runUntil(() => drained);
    expect(clock.now()).toBeLessThanOrEqual(801 + 10);
    expect(f.stats()).toMatchObject({ state: "stopped", inFlight: 0 });
    expect(f.stats().consumed + f.stats().dropped).toBe(3);
  });

  it("rejects a bad timeoutMs", () => {
    expect(() => new Flow().drain({ timeoutMs: -1 })).toThrow(/drain: option "timeoutMs" = -1/);
    expect(() => new Flow().drain({ deadline: 5 } as never)).toThrow(/unknown option "deadline"/);
  });
});
