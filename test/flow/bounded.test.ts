import { afterEach, describe, expect, it, vi } from "vitest";
import {
  FixedScaling,
  Flow,
  type FlowErrorEvent,
  FlowConfigError,
  perWorker,
  router,
  type ScalingStrategy,
} from "../../src/index.js";
import { range, sleep, VirtualClock } from "../helpers.js";

/** Resolves with whether `p` settled within `ms` of virtual time. */
async function settlesWithin(clock: VirtualClock, p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await clock.runUntil(() => settled, { stepMs: 5, maxMs: ms }).catch(() => {});
  return settled;
}

const never = new Promise<never>(() => {});

describe("nothing of ours waits forever (each test bounds its own wait)", () => {
  afterEach(() => void vi.restoreAllMocks());

  it("a timeoutMs call that never settles: the item fails with a TimeoutError, wait() resolves after closeTimeoutMs", async () => {
    const clock = new VirtualClock();
    vi.spyOn(console, "error").mockImplementation(() => {});
    const events: FlowErrorEvent[] = [];
    const f = new Flow<number>({ clock, closeTimeoutMs: 200, errorHandler: (e) => void events.push(e) })
      .setProducer(range(3))
      .addTransformer((x: number) => (x === 1 ? never : x), { timeoutMs: 50 })
      .setConsumer(() => {});
    await f.start();
    expect(await settlesWithin(clock, f.wait(), 1_000)).toBe(true);
    expect(clock.now()).toBeLessThan(400);
    expect(events).toMatchObject([{ type: "TransformerError", item: 1 }]);
    expect(((events[0] as { error: Error }).error as Error).name).toBe("TimeoutError");
    expect(f.stats()).toMatchObject({ state: "drained", consumed: 2, failed: 1, inFlight: 0 });
  });

  it("stop() is prompt while a call ignores its signal and never settles: the item is dropped at closeTimeoutMs", async () => {
    const clock = new VirtualClock();
    vi.spyOn(console, "error").mockImplementation(() => {});
    const events: FlowErrorEvent[] = [];
    const f = new Flow<number>({ clock, closeTimeoutMs: 100, errorHandler: (e) => void events.push(e) })
      .setProducer(range(2))
      .setConsumer(() => never);
    await f.start();
    await clock.advance(10);
    expect(await settlesWithin(clock, f.stop(), 1_000)).toBe(true);
    expect(clock.now()).toBeLessThanOrEqual(120);
    expect(events).toMatchObject([
      { type: "Dropped", reason: "STOPPED" },
      { type: "Dropped", reason: "STOPPED" },
    ]);
    expect(f.stats()).toMatchObject({ state: "stopped", itemsIn: 2, dropped: 2, inFlight: 0 });
  });

  it("drain() is bounded when the source's return() never settles (reported as a SourceError)", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    let returned = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]() {
        let i = 0;
        return {
          next: async () => {
            await sleep(clock, 1);
            return { done: false, value: i++ };
          },
          return: () => {
            returned = true;
            return never;
          },
        };
      },
    };
    const f = new Flow<number>({ clock, closeTimeoutMs: 100, errorHandler: (e) => void events.push(e) })
      .setProducer(source)
      .setConsumer(() => {});
    await f.start();
    await clock.advance(10);
    expect(await settlesWithin(clock, f.drain(), 1_000)).toBe(true);
    expect(returned).toBe(true);
    expect(f.stats()).toMatchObject({ state: "drained", inFlight: 0 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "SourceError" });
    expect(String((events[0] as { error: Error }).error.message)).toMatch(
      /return\(\) did not settle within closeTimeoutMs/,
    );
  });

  it("stop() is bounded when a perWorker factory never settles, and a resource that arrives late is closed", async () => {
    const clock = new VirtualClock();
    vi.spyOn(console, "error").mockImplementation(() => {});
    let closed = 0;
    let release: (r: { process: (x: number) => number; close: () => void }) => void = () => {};
    const f = new Flow<number>({ clock, closeTimeoutMs: 100, errorHandler: () => {} })
      .setProducer(range(3))
      .setConsumer(
        perWorker(
          () =>
            new Promise<{ process: (x: number) => number; close: () => void }>(
              (resolve) => (release = resolve),
            ),
        ),
      );
    await f.start();
    await clock.advance(10);
    expect(await settlesWithin(clock, f.stop(), 1_000)).toBe(true);
    expect(f.stats()).toMatchObject({ state: "stopped", inFlight: 0 });
    release({ process: (x) => x, close: () => void closed++ });
    await clock.advance(1);
    expect(closed).toBe(1);
  });

  it("a close() that never settles is reported as not closed, and stop() resolves at closeTimeoutMs", async () => {
    const clock = new VirtualClock();
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const f = new Flow<number>({ clock, closeTimeoutMs: 100 }).setProducer(range(4)).setConsumer(
      perWorker(() => ({ process: (x: number) => sleep(clock, 1).then(() => x), close: () => never })),
      { name: "db", scalingStrategy: new FixedScaling({ workers: 2 }) },
    );
    await f.start();
    await clock.advance(1);
    expect(await settlesWithin(clock, f.stop(), 1_000)).toBe(true);
    expect(f.stageStats("db")).toMatchObject({ unclosedResources: 2, totalWorkers: 0 });
    expect(log.mock.calls.some((c) => /was not closed/.test(String(c[0])))).toBe(true);
  });

  it("stop() does not wait for a hung error handler", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock, handlerTimeoutMs: 60_000, errorHandler: () => never })
      .setProducer(range(5))
      .setConsumer((x: number) => {
        throw new Error(`no ${x}`);
      });
    await f.start();
    await clock.advance(5);
    expect(await settlesWithin(clock, f.stop(), 50)).toBe(true);
    expect(f.stats()).toMatchObject({ state: "stopped", inFlight: 0 });
  });

  it("stop() after every item is done, while the run waits on a hung handler, resolves at once", async () => {
    const clock = new VirtualClock();
    // Drops are reported without a worker waiting: the run's end then waits for the handler.
    const f = new Flow<number>({ clock, handlerTimeoutMs: 60_000, errorHandler: () => never })
      .setProducer(range(3))
      .addTransformer(router((x: number) => (x === 1 ? "none" : "ok"), { ok: (x: number) => x }))
      .setConsumer(() => {});
    await f.start();
    await clock.advance(5);
    expect(f.stats()).toMatchObject({ inFlight: 0, dropped: 1, state: "running" });
    expect(await settlesWithin(clock, f.stop(), 50)).toBe(true);
    expect(f.stats().state).toBe("drained");
  });
});

describe("stop(), drain() and wait() from inside a stage never deadlock", () => {
  for (const call of ["stop", "drain"] as const) {
    it(`await flow.${call}() in a stage's synchronous part resolves at once; the run then ends`, async () => {
      const clock = new VirtualClock();
      const seen: number[] = [];
      const events: FlowErrorEvent[] = [];
      const f: Flow<number> = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) })
        .setProducer(async function* () {
          for (let i = 0; i < 10; i++) yield await sleep(clock, 1).then(() => i);
        })
        .addTransformer(async (x: number) => {
          if (x === 3) await f[call]();
          return x;
        })
        .setConsumer((x) => void seen.push(x));
      await f.start();
      expect(await settlesWithin(clock, f.wait(), 1_000)).toBe(true);
      // A drain lets the calling item (and what was queued) go on; a stop drops it.
      if (call === "drain") expect(seen.slice(0, 4)).toEqual([0, 1, 2, 3]);
      else
        expect(events.some((e) => e.type === "Dropped" && e.item === 3 && e.reason === "STOPPED")).toBe(true);
      const s = f.stats();
      expect(s).toMatchObject({ inFlight: 0, endedBy: call });
      expect(seen.length + events.length).toBe(s.itemsIn);
    });
  }

  it("await flow.stop() after an await inside a stage resolves once closeTimeoutMs gave up on that call", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f: Flow<number> = new Flow<number>({
      clock,
      closeTimeoutMs: 100,
      errorHandler: (e) => void events.push(e),
    })
      .setProducer(range(10))
      .addTransformer(async (x: number) => {
        await sleep(clock, 1);
        if (x === 3) await f.stop();
        return x;
      })
      .setConsumer(() => {});
    await f.start();
    expect(await settlesWithin(clock, f.wait(), 1_000)).toBe(true);
    expect(events.some((e) => e.type === "Dropped" && e.item === 3 && e.reason === "STOPPED")).toBe(true);
    expect(f.stats()).toMatchObject({ state: "stopped", inFlight: 0 });
  });

  it("await flow.wait() in a stage rejects at once with a clear error (the item fails)", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f: Flow<number> = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(range(2))
      .addTransformer(async (x: number) => {
        if (x === 1) await f.wait();
        return x;
      })
      .setConsumer(() => {});
    await f.start();
    expect(await settlesWithin(clock, f.wait(), 1_000)).toBe(true);
    expect(events).toHaveLength(1);
    expect(String((events[0] as { error: Error }).error.message)).toMatch(/wait\(\) was called from inside/);
  });
});

describe("a listener per item on ctx.signal is a leak Node warns about, with or without timeoutMs", () => {
  for (const timeoutMs of [undefined, 1_000]) {
    it(`timeoutMs ${timeoutMs ?? "unset"}`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => void warnings.push(w.name);
      process.on("warning", onWarning);
      try {
        await new Flow<number>()
          .setProducer(range(30))
          .setConsumer(
            (_x, ctx) => {
              ctx.signal.addEventListener("abort", () => {}); // never removed
            },
            timeoutMs === undefined ? {} : { timeoutMs },
          )
          .run();
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off("warning", onWarning);
      }
      expect(warnings).toContain("MaxListenersExceededWarning");
    });
  }
});

describe("flow.on() checks what it is given", () => {
  it("an unknown event or a listener that is not a function is a FlowConfigError", () => {
    const f = new Flow();
    expect(() => f.on("drain" as never, () => {})).toThrow(FlowConfigError);
    expect(() => f.on("drain" as never, () => {})).toThrow(/event = "drain": expected one of "scale"/);
    expect(() => f.on("drained", 5 as never)).toThrow(/listener = 5: expected a function/);
  });
});

describe("a strategy whose getters throw at run time cannot hang a run", () => {
  it("lastReason and onTick getters that throw are faults, not crashes", async () => {
    const clock = new VirtualClock();
    vi.spyOn(console, "error").mockImplementation(() => {});
    let ticks = 0;
    const strategy = {
      minWorkers: 1,
      maxWorkers: 3,
      initialWorkers: () => 1,
      onEnqueue: () => 1,
      onDequeue: () => 0,
      get lastReason(): string {
        throw new Error("reason getter bug");
      },
      get onTick() {
        if (++ticks > 1) throw new Error("onTick getter bug");
        return () => 0;
      },
    } as unknown as ScalingStrategy;
    const f = new Flow<number>({ clock, tickMs: 5 })
      .setProducer(range(20))
      .setConsumer(async () => sleep(clock, 3), { scalingStrategy: strategy });
    await f.start();
    expect(await settlesWithin(clock, f.wait(), 5_000)).toBe(true);
    expect(f.stats()).toMatchObject({ consumed: 20, inFlight: 0 });
  });
});

describe("found by an adversarial probe", () => {
  afterEach(() => void vi.restoreAllMocks());

  it("an ordered stage: stop() giving up on the head call drops what waits behind it too", async () => {
    const clock = new VirtualClock();
    vi.spyOn(console, "error").mockImplementation(() => {});
    const events: FlowErrorEvent[] = [];
    const consumed: number[] = [];
    const f = new Flow<number>({ clock, closeTimeoutMs: 100, errorHandler: (e) => void events.push(e) })
      .addTransformer(async (x: number) => sleep(clock, x === 0 ? 1000 : 5).then(() => x), {
        ordered: true,
        scalingStrategy: new FixedScaling({ workers: 3 }),
      })
      .setConsumer((x) => void consumed.push(x));
    const run = f.run(range(6));
    await clock.advance(50); // 1..5 wait in the reorder buffer behind 0, which ignores its signal
    expect(await settlesWithin(clock, f.stop(), 1_000)).toBe(true);
    await run;
    const dropped = events.flatMap((e) => (e.type === "Dropped" ? [e.item as number] : []));
    expect([...consumed, ...dropped].sort()).toEqual(range(6));
    expect(f.stats()).toMatchObject({ state: "stopped", itemsIn: 6, inFlight: 0 });
  });

  it("a source whose next() returns no object is a SourceError, and the run ends", async () => {
    for (const bad of [undefined, 42]) {
      const clock = new VirtualClock();
      const events: FlowErrorEvent[] = [];
      const queue = [1, 2, 3];
      const source: Iterable<number> = {
        [Symbol.iterator]: () => ({
          next: () => (queue.length > 0 ? { done: false, value: queue.shift()! } : (bad as never)),
        }),
      };
      const g = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) })
        .setProducer(source)
        .setConsumer(() => {});
      await g.start();
      expect(await settlesWithin(clock, g.wait(), 1_000)).toBe(true);
      expect(g.stats()).toMatchObject({ itemsIn: 3, consumed: 3, inFlight: 0 });
      expect(events).toHaveLength(1);
      expect(String((events[0] as { error: Error }).error.message)).toMatch(
        /next\(\) returned .*expected \{ done, value \}/,
      );
    }
  });

  it("drain() from a perWorker factory's synchronous part resolves at once", async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const f: Flow<number> = new Flow<number>({ clock })
      .setProducer(async function* () {
        for (let i = 0; i < 5; i++) yield await sleep(clock, 1).then(() => i);
      })
      .setConsumer(
        perWorker(async () => {
          await f.drain(); // before the factory's first await: in its synchronous part
          return { process: (x: number) => void seen.push(x) };
        }),
      );
    await f.start();
    expect(await settlesWithin(clock, f.wait(), 1_000)).toBe(true);
    expect(f.stats()).toMatchObject({ inFlight: 0, endedBy: "drain" });
    expect(seen.length).toBe(f.stats().itemsIn);
  });

  it("a perWorker resource whose close is not a function is a setup failure naming the stage", async () => {
    const clock = new VirtualClock();
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const events: FlowErrorEvent[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(range(2))
      .setConsumer(
        perWorker(() => ({ process: (x: number) => x, close: 5 }) as never),
        { name: "db" },
      );
    await f.start();
    expect(await settlesWithin(clock, f.wait(), 10_000)).toBe(true);
    expect(events).toHaveLength(2);
    expect(
      log.mock.calls.some((c) =>
        /stage "db": the perWorker factory returned .*close, when given, a function/.test(String(c[1])),
      ),
    ).toBe(true);
  });
});
