import { describe, expect, it } from "vitest";
import { batch } from "../../../src/index.js";
import type { FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { RateLimiter } from "../../../src/runtime/stage/rate-limiter.js";
import { FlowConfigError } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

const four = () => new FixedScaling({ workers: 4 });

/** A flow of `n` items through one rate-limited stage of four workers; records each call's time. */
function limited(clock: VirtualClock, n: number, rateLimit: { perSecond: number; burst?: number }, ms = 0) {
  const at: number[] = [];
  const f = new Flow({ clock, errorHandler: () => {} })
    .setProducer(range(n))
    .addTransformer(
      async (x: number) => {
        at.push(clock.now());
        if (ms > 0) await sleep(clock, ms);
        return x;
      },
      { name: "api", scalingStrategy: four(), rateLimit },
    )
    .setConsumer(() => {});
  return { f, at };
}

describe("RateLimiter", () => {
  it("hands out a burst at once, then a token every 1000 / perSecond ms, and says how long to wait", () => {
    const r = new RateLimiter(10, 3);
    expect([0, 0, 0, 0].map(() => r.take(0))).toEqual([0, 0, 0, 100]);
    r.waiting = 2; // a newcomer waits behind those already waiting
    expect(r.take(50)).toBe(250);
    r.waiting = 0;
    expect(r.take(100)).toBe(0);
    // A token is taken when its call starts: one taken late is not back-dated.
    expect(r.take(150)).toBe(50);
    // After a quiet spell the bucket is full again, and no fuller.
    expect([0, 0, 0, 0].map(() => r.take(10_000))).toEqual([0, 0, 0, 100]);
  });
});

describe("rateLimit", () => {
  it("spaces the stage's calls 1000 / perSecond ms apart across all its workers (burst 1 by default)", async () => {
    const clock = new VirtualClock();
    const { f, at } = limited(clock, 10, { perSecond: 10 });
    await runVirtual(f, clock);
    expect(at).toEqual(range(10).map((i) => i * 100));
    expect(f.stats()).toMatchObject({ consumed: 10 });
  });

  it("lets `burst` calls start at once", async () => {
    const clock = new VirtualClock();
    const { f, at } = limited(clock, 6, { perSecond: 10, burst: 3 });
    await runVirtual(f, clock);
    expect(at).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it("counts a worker waiting for a token as rate-limited: not busy, not idle, holding its item", async () => {
    const clock = new VirtualClock();
    const { f } = limited(clock, 8, { perSecond: 1 }, 10);
    await f.start();
    await clock.advance(50);
    expect(f.stageStats("api")).toMatchObject({
      busyWorkers: 0,
      idleWorkers: 0,
      rateLimitedWorkers: 4, // the first worker's call is done, and it waits with its next item
      totalWorkers: 4,
      utilization: 0,
      queueLength: 3,
    });
    await clock.advance(1_000);
    expect(f.stageStats("api")).toMatchObject({ busyWorkers: 0, rateLimitedWorkers: 4, processed: 2 });
    // The stats table shows them in a column of their own among the workers (and overloads among
    // the items, beside retries).
    const table = f.dump({ mode: "stats" }).split("\n");
    const cell = (section: string, column: string) => {
      const at = table.findIndex((line) => line.startsWith(`${section} `));
      const header = table[at]!.trim().split(/\s{2,}/);
      const row = table
        .slice(at + 1)
        .find((line) => line.startsWith("api "))!
        .trim()
        .split(/\s{2,}/);
      return row[header.indexOf(column)];
    };
    expect(cell("workers", "rate-limited")).toBe("4");
    expect(cell("items", "overloads")).toBe("0");
    await f.stop();
  });

  it("keeps the wait for a token out of the processing time", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, tickMs: 10, timingSampleEvery: 1 })
      .setProducer(range(40))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 5);
          return x;
        },
        { name: "api", scalingStrategy: four(), rateLimit: { perSecond: 20 } },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    const s = f.stageStats("api")!;
    expect(s.processingTimeMs).toBeCloseTo(5, 5);
    expect(s.latency.max).toBeLessThan(6);
  });

  it("takes a token for every attempt, retries included", async () => {
    const clock = new VirtualClock();
    const at: [number, number][] = [];
    const f = new Flow({ clock })
      .setProducer(range(3))
      .addTransformer(
        (x: number, ctx): number => {
          at.push([x, clock.now()]);
          if (ctx.attempt === 1) throw new Error("transient");
          return x;
        },
        {
          name: "api",
          rateLimit: { perSecond: 10 },
          retry: { attempts: 2, backoff: { baseMs: 0 } },
        },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(at).toEqual([
      [0, 0],
      [0, 100],
      [1, 200],
      [1, 300],
      [2, 400],
      [2, 500],
    ]);
    expect(f.stageStats("api")).toMatchObject({ processed: 3, retries: 3 });
  });

  it("takes one token per batch call", async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(9))
      .addTransformer(
        batch(
          (xs: number[]) => {
            at.push(clock.now());
            return xs;
          },
          { size: 3 },
        ),
        { name: "bulk", scalingStrategy: four(), rateLimit: { perSecond: 2 } },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(at).toEqual([0, 500, 1_000]);
    expect(f.stats()).toMatchObject({ consumed: 9 });
  });

  it("stop() ends the wait for a token at once: every item held or queued is dropped, STOPPED, and no timer is left", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const { f, at } = limited(clock, 10, { perSecond: 0.001 });
    f.setErrorHandler((e) => void events.push(e));
    await f.start();
    await clock.advance(10);
    expect(f.stageStats("api")).toMatchObject({ rateLimitedWorkers: 4 });
    await f.stop(); // no virtual time passes: the token waits (up to an hour) end on the abort
    expect(at).toEqual([0]);
    expect(f.stats()).toMatchObject({ consumed: 1, failed: 0, dropped: 9, inFlight: 0 });
    expect(events.every((e) => e.type === "Dropped" && e.reason === "STOPPED")).toBe(true);
    expect(f.stageStats("api")).toMatchObject({ rateLimitedWorkers: 0, totalWorkers: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("stop() ends a retry's wait for a token too", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer([1])
      .addTransformer(
        (): number => {
          throw new Error("transient");
        },
        { name: "api", rateLimit: { perSecond: 0.001 }, retry: { attempts: 3, backoff: { baseMs: 0 } } },
      )
      .setConsumer(() => {});
    await f.start();
    await clock.advance(10);
    expect(f.stageStats("api")).toMatchObject({ rateLimitedWorkers: 1, retries: 1 });
    await f.stop();
    expect(events).toEqual([
      { type: "Dropped", id: 1, runId: expect.any(String), item: 1, stage: "api", reason: "STOPPED" },
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("drain() waits for the tokens and finishes every item", async () => {
    const clock = new VirtualClock();
    const { f, at } = limited(clock, 6, { perSecond: 5 });
    await f.start();
    await clock.advance(1);
    const drained = f.drain();
    await clock.runUntil(() => f.stats().state === "drained");
    await drained;
    expect(at).toEqual([0, 200, 400, 600, 800, 1_000]);
    expect(f.stats()).toMatchObject({ consumed: 6, dropped: 0 });
  });

  it("is validated: perSecond a finite number > 0, burst a whole number ≥ 1", () => {
    const bad = [
      { perSecond: 0 },
      { perSecond: -1 },
      { perSecond: Number.POSITIVE_INFINITY },
      { perSecond: Number.NaN },
      { perSecond: "10" },
      { perSecond: 10, burst: 0 },
      { perSecond: 10, burst: 1.5 },
      { burst: 2 },
      { perSecond: 10, per: 1 },
      10,
    ];
    for (const rateLimit of bad) {
      const add = () => new Flow().addTransformer((x: number) => x, { rateLimit: rateLimit as never });
      expect(add).toThrow(FlowConfigError);
      expect(add).toThrow(/rateLimit/);
    }
    expect(() => new Flow().addTransformer((x: number) => x, { rateLimit: { perSecond: 0 } })).toThrow(
      /perSecond/,
    );
    expect(() =>
      new Flow().addTransformer((x: number) => x, { rateLimit: { perSecond: 1, burst: 0 } }),
    ).toThrow(/burst/);
  });

  it("stop() under real timers ends a token wait of 100 s at once (the test would time out otherwise)", async () => {
    const events: FlowErrorEvent[] = [];
    let calls = 0;
    const f = new Flow({ errorHandler: (e) => void events.push(e) })
      .setProducer(range(5))
      .addTransformer(
        (x: number) => {
          calls++;
          return x;
        },
        { name: "api", scalingStrategy: four(), rateLimit: { perSecond: 0.01 } },
      )
      .setConsumer(() => {});
    await f.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(f.stageStats("api")).toMatchObject({ rateLimitedWorkers: 4 });
    await f.stop();
    expect(calls).toBe(1);
    expect(f.stats()).toMatchObject({ consumed: 1, dropped: 4, inFlight: 0 });
    expect(events.every((e) => e.type === "Dropped" && e.reason === "STOPPED")).toBe(true);
  });

  it("holds the rate under real timers: in any span, at most burst + perSecond · span calls start", async () => {
    const at: number[] = [];
    const perSecond = 200;
    const burst = 2;
    const f = new Flow()
      .setProducer(range(40))
      .addTransformer(
        async (x: number) => {
          at.push(performance.now());
          await new Promise((r) => setTimeout(r, 1));
          return x;
        },
        { scalingStrategy: new FixedScaling({ workers: 8 }), rateLimit: { perSecond, burst } },
      )
      .setConsumer(() => {});
    await f.run();
    expect(at).toHaveLength(40);
    for (let i = 0; i < at.length; i++)
      for (let j = i; j < at.length; j++) {
        // Calls i..j all start within [at[i], at[j]]; 0.05 of a call allows for the microseconds
        // between a token's take and the function's first line.
        const bound = burst + ((at[j]! - at[i]!) * perSecond) / 1000;
        expect(j - i + 1).toBeLessThanOrEqual(bound + 0.05);
      }
  });
});
