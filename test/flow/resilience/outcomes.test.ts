import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  AdaptiveScaling,
  FixedScaling,
  Flow,
  type FlowErrorEvent,
  type FlowEvents,
  Last,
  perWorker,
  router,
  type ScaleEvent,
  type ScalingStrategy,
} from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

/** A strategy that adds a worker on every enqueue and dequeue, up to `max`. */
const growing = (max: number): ScalingStrategy => ({
  minWorkers: 1,
  maxWorkers: max,
  initialWorkers: () => 1,
  onEnqueue: () => 1,
  onDequeue: () => 1,
});

/** Adds a worker whenever an item has to queue: the growth AdaptiveScaling's backlog term makes. */
const backlogGrowth = (max: number): ScalingStrategy => ({
  minWorkers: 1,
  maxWorkers: max,
  initialWorkers: () => 1,
  onEnqueue: (s) => (s.queueLength > 0 ? 1 : 0),
  onDequeue: () => 0,
});

describe("ordered output while the pool grows", () => {
  it("keeps input order when a worker spawned by an enqueue takes an item before the one handed to a waiting worker", async () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    // A synchronous source offers items back to back: the first goes to the waiting worker, the
    // second queues and spawns a worker, which could take it before the first worker's turn.
    const f = new Flow<number>({ clock })
      .setProducer(range(300))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 1 + ((x * 13) % 5));
          return x;
        },
        { ordered: true, scalingStrategy: backlogGrowth(8), queueSize: 16 },
      )
      .setConsumer((x) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual(range(300));
  });

  it("keeps input order under AdaptiveScaling in real time", async () => {
    const out: number[] = [];
    await new Flow<number>()
      .setProducer(range(1000))
      .addTransformer(
        async (x: number) => {
          await new Promise((r) => setTimeout(r, 1 + (x % 3)));
          return x;
        },
        { ordered: true, scalingStrategy: new AdaptiveScaling({ maxWorkers: 8 }) },
      )
      .setConsumer((x) => void out.push(x))
      .run();
    expect(out).toEqual(range(1000));
  });
});

describe("stream() with an external stop() or drain({ timeoutMs })", () => {
  for (const how of ["stop", "drain"] as const) {
    it(`${how}: resolves only once nothing is in flight and every close has run`, async () => {
      const clock = new VirtualClock();
      let setups = 0;
      let closes = 0;
      const f = new Flow<number>({ clock, errorHandler: () => {} }).addTransformer(
        perWorker(() => {
          setups++;
          return {
            process: async (x: number, ctx) => {
              await sleep(clock, 200, ctx.signal).catch(() => {});
              return x;
            },
            close: async () => {
              await sleep(clock, 20);
              closes++;
            },
          };
        }),
        { scalingStrategy: new FixedScaling({ workers: 4 }) },
      );
      let got = 0;
      const reading = (async () => {
        for await (const _ of f.stream(range(100))) got++;
      })();
      await clock.advance(50);
      let at: { inFlight: number; setups: number; closes: number } | null = null;
      const ended = (how === "stop" ? f.stop() : f.drain({ timeoutMs: 10 })).then(() => {
        at = { inFlight: f.stats().inFlight, setups, closes };
      });
      await clock.runUntil(() => at !== null);
      await ended;
      await reading;
      expect(at).toEqual({ inFlight: 0, setups: 4, closes: 4 });
      expect(f.stats()).toMatchObject({ state: "stopped", itemsIn: 100, dropped: 100 - got });
    });
  }
});

describe("stream() left early, or a paused reader", () => {
  for (const how of ["break", "stop", "drainDeadline", "throw"] as const) {
    it(`${how} inside the loop after the stages are done: the loop and the run end, every item accounted for`, async () => {
      const clock = new VirtualClock();
      const events: FlowErrorEvent[] = [];
      const f = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) }).addTransformer(
        async (x: number) => x * 2,
      );
      let got = 0;
      const loop = (async () => {
        for await (const x of f.stream(range(10))) {
          got++;
          await sleep(clock, 20); // a reader slower than the stage: the stage is done first
          if (x === 8) {
            if (how === "break") break;
            if (how === "stop") await f.stop();
            if (how === "drainDeadline") await f.drain({ timeoutMs: 10 });
            if (how === "throw") throw new Error("reader gave up");
          }
        }
      })().catch((e: Error) => e.message);
      let done = false;
      void loop.then(() => (done = true));
      await clock.runUntil(() => done, { stepMs: 5, maxMs: 5_000 });
      await f.wait();
      expect(f.stats()).toMatchObject({ state: "stopped", itemsIn: 10, consumed: got, inFlight: 0 });
      expect(events.length).toBe(10 - got);
    });
  }

  it("a paused reader: drain({ timeoutMs }) settles by its deadline", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock, errorHandler: () => {} }).addTransformer(async (x: number) => x);
    const it = f.stream(range(10))[Symbol.asyncIterator]();
    await it.next(); // reads one, then never again
    let drained = false;
    void f.drain({ timeoutMs: 50 }).then(() => (drained = true));
    await clock.runUntil(() => drained, { stepMs: 5, maxMs: 1_000 });
    expect(f.stats()).toMatchObject({ state: "stopped", inFlight: 0 });
  });
});

describe("a listener that throws never changes what happens to items", () => {
  let unhandled: unknown[];
  const onUnhandled = (e: unknown) => void unhandled.push(e);
  beforeEach(() => {
    unhandled = [];
    process.on("unhandledRejection", onUnhandled);
  });
  afterEach(() => void process.off("unhandledRejection", onUnhandled));

  const cases: [keyof FlowEvents, "throws" | "rejects"][] = [];
  for (const event of ["retry", "itemError", "drop", "scale", "drained", "stats"] as const)
    for (const how of ["throws", "rejects"] as const) cases.push([event, how]);

  it.each(cases)("a %s listener that %s", async (event, how) => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const consumed: number[] = [];
    const f = new Flow<number>({
      clock,
      tickMs: 5,
      statsIntervalMs: 10,
      errorHandler: (e) => void events.push(e),
    })
      .setProducer(range(40))
      .addTransformer(
        async (x: number, ctx) => {
          await sleep(clock, 2);
          if (x % 10 === 3 && ctx.attempt === 1) throw new Error(`transient ${x}`); // a retry
          if (x % 10 === 5) throw new Error(`fail ${x}`); // an itemError
          return x;
        },
        {
          name: "work",
          retry: { attempts: 2, backoff: { baseMs: 1, jitter: 0 } },
          scalingStrategy: new AdaptiveScaling({ maxWorkers: 4 }),
        },
      )
      // Items ending in 9 name no arm: a drop.
      .addTransformer(
        router((x: number) => (x % 10 === 9 ? "none" : "ok"), { ok: (x: number) => x }),
        {
          name: "route",
        },
      )
      .setConsumer((x) => void consumed.push(x));
    let calls = 0;
    f.on(event, () => {
      calls++;
      if (how === "throws") throw new Error(`${event} listener bug`);
      return Promise.reject(new Error(`${event} listener bug`));
    });
    await runVirtual(f, clock);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBeGreaterThan(0);
    // Every item has exactly one outcome: 4 failed, 4 dropped by the router, the rest consumed.
    const failed = events
      .filter((e) => e.type === "TransformerError")
      .map((e) => (e as { item: number }).item);
    const dropped = events.filter((e) => e.type === "Dropped").map((e) => (e as { item: number }).item);
    expect([...consumed, ...failed, ...dropped].sort((a, b) => a - b)).toEqual(range(40));
    expect(failed).toEqual([5, 15, 25, 35]);
    expect(dropped.sort((a, b) => a - b)).toEqual([9, 19, 29, 39]);
    const listenerErrors = events.filter((e) => e.type === "ListenerError");
    expect(listenerErrors.length).toBe(calls);
    expect(listenerErrors[0]).toMatchObject({ type: "ListenerError", event });
    expect(f.stats()).toMatchObject({ state: "drained", inFlight: 0, listenerErrors: calls });
    expect(unhandled).toEqual([]);
  });

  it("the other listeners of the event still run, and off() removes a listener by the function given", async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const bad = () => {
      throw new Error("bad");
    };
    const good = () => void seen.push("good");
    const f = new Flow<number>({ clock, errorHandler: () => {} }).setProducer(range(3)).setConsumer(() => {});
    f.on("drained", bad).on("drained", good).once("drained", good);
    expect(f.listeners("drained")).toEqual([bad, good, good]);
    await runVirtual(f, clock);
    expect(seen).toEqual(["good", "good"]);
    f.off("drained", good);
    expect(f.listeners("drained")).toEqual([bad]);
  });
});

describe("scale events", () => {
  it("come in the order the count changed, each from the previous one's to, from 0 back to 0", async () => {
    const clock = new VirtualClock();
    const events: ScaleEvent[] = [];
    const f = new Flow<number>({ clock, tickMs: 10 })
      .setProducer(async function* () {
        for (let i = 0; i < 2000; i++) {
          if (i % 50 === 0) await sleep(clock, 30);
          yield i;
        }
      })
      .addTransformer(
        perWorker(async () => {
          await sleep(clock, 5); // workers take a while to start
          return { process: async (x: number) => sleep(clock, 1 + (x % 4)).then(() => x) };
        }),
        { name: "work", scalingStrategy: new AdaptiveScaling({ maxWorkers: 16, downStabilizationMs: 50 }) },
      )
      .setConsumer(() => {}, { name: "sink", scalingStrategy: growing(3) });
    f.on("scale", (e) => void events.push(e));
    await runVirtual(f, clock);
    for (const stage of ["work", "sink"]) {
      const mine = events.filter((e) => e.stage === stage);
      expect(mine[0]).toMatchObject({ from: 0, reason: "initial" });
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.from).toBe(mine[i - 1]!.to);
      expect(mine.at(-1)!.to).toBe(0);
      expect(
        mine.filter((e) => !e.reason.startsWith("exit:") && e.reason !== "initial").length,
      ).toBeGreaterThan(0);
    }
    // Each decision carries its own reason: growth says so, and a cut too.
    const work = events.filter((e) => e.stage === "work" && !e.reason.startsWith("exit:"));
    for (const e of work.slice(1)) {
      if (e.to > e.from) expect(e.reason).toMatch(/→ \d+ workers?|liveness|knee|probe/);
    }
  });
});

describe("how the run ended, from stats()", () => {
  const build = (clock: VirtualClock) =>
    new Flow<number>({ clock, errorHandler: () => {} })
      .setProducer(async function* () {
        for (let i = 0; i < 100; i++) {
          await sleep(clock, 1);
          yield i;
        }
      })
      .setConsumer(async (x: number) => sleep(clock, 2).then(() => x));

  it("reads source, drain, stop, last and abort", async () => {
    const ends: (string | null)[] = [];
    for (const how of ["source", "drain", "stop", "abort"] as const) {
      const clock = new VirtualClock();
      const f = build(clock);
      const ac = new AbortController();
      let finished = false;
      void f.run(undefined, { signal: ac.signal }).then(() => (finished = true));
      expect(f.stats().endedBy).toBeNull();
      await clock.advance(20);
      if (how === "drain") void f.drain();
      if (how === "stop") void f.stop();
      if (how === "abort") ac.abort();
      await clock.runUntil(() => finished);
      ends.push(f.stats().endedBy);
    }
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock, errorHandler: () => {} })
      .setProducer(async function* () {
        for (let i = 0; i < 10; i++) yield await sleep(clock, 1).then(() => i);
      })
      .addTransformer((x: number) => (x === 3 ? Last(x) : x))
      .setConsumer(() => {});
    await runVirtual(f, clock);
    ends.push(f.stats().endedBy);
    expect(ends).toEqual(["source", "drain", "stop", "abort", "last"]);
  });

  it("a run signal leaves no listener on the caller's signal", async () => {
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, "addEventListener");
    const remove = vi.spyOn(ac.signal, "removeEventListener");
    for (let i = 0; i < 5; i++)
      await new Flow<number>().setConsumer(() => {}).run(range(3), { signal: ac.signal });
    expect(add).toHaveBeenCalledTimes(5);
    expect(remove).toHaveBeenCalledTimes(5);
  });
});
