import { afterEach, describe, expect, it, vi } from "vitest";
import { batch } from "../../../src/index.js";
import type { DeadLetter, FlowErrorEvent, TransformerError } from "../../../src/index.js";
import { fanOut } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { perWorker } from "../../../src/index.js";
import { backoffDelay, retryPolicy } from "../../../src/model/retry.js";
import { FixedScaling } from "../../../src/index.js";
import { seededRandom } from "../../../src/simulate/random.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A transformer that fails the first `failures` attempts of every item, recording each call. */
function flaky(clock: VirtualClock, failures: number, ms = 0) {
  const calls: { item: number; attempt: number; at: number }[] = [];
  const fn = async (x: number, ctx: { attempt: number }) => {
    calls.push({ item: x, attempt: ctx.attempt, at: clock.now() });
    if (ms > 0) await sleep(clock, ms);
    if (ctx.attempt <= failures) throw new Error(`transient ${x}/${ctx.attempt}`);
    return x;
  };
  return { calls, fn };
}

describe("retry", () => {
  it("retries until an attempt succeeds; a retry that succeeds is not an error", async () => {
    const clock = new VirtualClock();
    const { calls, fn } = flaky(clock, 2);
    const events: FlowErrorEvent[] = [];
    const out: number[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(range(5))
      .addTransformer(fn, { name: "flaky", retry: { attempts: 3, backoff: { baseMs: 10, jitter: 0 } } })
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual(range(5)); // one worker: order kept through the retries
    expect(events).toEqual([]);
    expect(calls.filter((c) => c.item === 3).map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(f.stageStats("flaky")).toMatchObject({ processed: 5, errors: 0, retries: 10 });
    expect(f.stats()).toMatchObject({ consumed: 5, failed: 0 });
  });

  it("reports one TransformerError with the last attempt once attempts are spent", async () => {
    const clock = new VirtualClock();
    const { calls, fn } = flaky(clock, 99);
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer([7])
      .addTransformer(fn, { name: "flaky", retry: { attempts: 4, backoff: { baseMs: 1 } } })
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "TransformerError", item: 7, stage: "flaky", attempt: 4 });
    expect(String((events[0] as TransformerError).error)).toContain("transient 7/4");
    expect(f.stageStats("flaky")).toMatchObject({ errors: 1, retries: 3 });
  });

  it("waits baseMs · factor^(n−1), capped at maxMs, between attempts", async () => {
    const clock = new VirtualClock();
    const { calls, fn } = flaky(clock, 4);
    const f = new Flow({ clock })
      .setProducer([1])
      .addTransformer(fn, {
        retry: { attempts: 5, backoff: { baseMs: 100, factor: 2, maxMs: 300, jitter: 0 } },
      })
      .setConsumer(() => {});
    const retries: [number, number, number][] = [];
    f.on("retry", (e) => retries.push([e.item as number, e.attempt, e.delayMs]));
    await runVirtual(f, clock);
    expect(calls.map((c) => c.at)).toEqual([0, 100, 300, 600, 900]);
    expect(retries).toEqual([
      [1, 1, 100],
      [1, 2, 200],
      [1, 3, 300],
      [1, 4, 300],
    ]);
  });

  it("keeps every wait a finite number, however many attempts (a base of 0 stays 0; a long run stays at maxMs)", () => {
    const zero = retryPolicy({ attempts: 5000, backoff: { baseMs: 0, maxMs: 0 } })!;
    const capped = retryPolicy({ attempts: 5000, backoff: { baseMs: 10, maxMs: 1000 } })!;
    for (const attempt of [1, 1024, 1025, 4999]) {
      expect(backoffDelay(zero, attempt, 0.3)).toBe(0);
      expect(backoffDelay(capped, attempt, 0.5)).toBe(Math.min(1000, 10 * 2 ** (attempt - 1)));
    }
  });

  it("spreads waits by ±jitter", () => {
    const p = retryPolicy({ backoff: { baseMs: 100, jitter: 0.5 } })!;
    expect(backoffDelay(p, 1, 0)).toBe(50);
    expect(backoffDelay(p, 1, 0.5)).toBe(100);
    expect(backoffDelay(p, 1, 0.999999)).toBeCloseTo(150, 3);
    expect(backoffDelay(p, 3, 0.5)).toBe(400);
    expect(retryPolicy(undefined)).toBeNull();
    expect(retryPolicy({})).toMatchObject({
      attempts: 3,
      baseMs: 100,
      maxMs: 30_000,
      factor: 2,
      jitter: 0.5,
    });
  });

  it("uses jitter in the flow: the wait falls within ±50 % of the backoff", async () => {
    const clock = new VirtualClock();
    const { calls, fn } = flaky(clock, 1);
    vi.spyOn(Math, "random").mockReturnValue(0.9);
    const f = new Flow({ clock })
      .setProducer([1])
      .addTransformer(fn, { retry: { attempts: 2, backoff: { baseMs: 100 } } })
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(calls.map((c) => c.at)).toEqual([0, 140]);
  });

  it("draws jitter from the flow's random source: the same seed replays a run exactly, another differs", async () => {
    const run = async (random: () => number) => {
      const clock = new VirtualClock();
      const spy = vi.spyOn(Math, "random");
      const log: string[] = [];
      const f = new Flow({ clock, random, errorHandler: (e) => void log.push(`${e.type}@${clock.now()}`) })
        .setProducer(range(20))
        .addTransformer(
          async (x: number, ctx) => {
            log.push(`${x}.${ctx.attempt}@${clock.now()}`);
            await sleep(clock, 1 + (x % 3));
            if ((x + ctx.attempt) % 3 !== 0) throw new Error("transient");
            return x;
          },
          {
            name: "flaky",
            scalingStrategy: new FixedScaling({ workers: 3 }),
            retry: { attempts: 3, backoff: { baseMs: 50 } },
          },
        )
        .setConsumer((x: number) => void log.push(`out ${x}@${clock.now()}`));
      f.on("retry", (e) => log.push(`retry ${e.item} ${e.delayMs}`));
      await runVirtual(f, clock);
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
      return log;
    };
    const a = await run(seededRandom(7));
    expect(await run(seededRandom(7))).toEqual(a);
    expect(await run(seededRandom(8))).not.toEqual(a);
    expect(a.some((line) => line.startsWith("retry"))).toBe(true);
  });

  it("reads a draw that throws or falls outside [0, 1) as 0.5, and reports it once", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const random of [
      () => 1,
      () => Number.NaN,
      () => -0.1,
      () => "0.2" as never,
      () => {
        throw new Error("bad random");
      },
    ]) {
      const clock = new VirtualClock();
      const { calls, fn } = flaky(clock, 1);
      const f = new Flow({ clock, random })
        .setProducer([1])
        .addTransformer(fn, { retry: { attempts: 2, backoff: { baseMs: 100 } } })
        .setConsumer(() => {});
      await runVirtual(f, clock);
      expect(calls.map((c) => c.at)).toEqual([0, 100]);
      expect(f.stats()).toMatchObject({ consumed: 1 });
    }
    expect(logged.mock.calls.filter((c) => String(c[0]).includes("random source")).length).toBe(5);
  });

  it("takes only a function as the random source", () => {
    expect(() => new Flow({ random: 0.5 as never })).toThrow(/random/);
  });

  it("asks retryOn(error, item) whether a failure is transient", async () => {
    const clock = new VirtualClock();
    const seen: [string, number][] = [];
    const events: FlowErrorEvent[] = [];
    let tries = 0;
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer([1, 2])
      .addTransformer(
        (x: number): number => {
          tries++;
          throw new Error(x === 1 ? "permanent" : "transient");
        },
        {
          retry: {
            attempts: 3,
            backoff: { baseMs: 1 },
            retryOn: (error, item) => {
              seen.push([(error as Error).message, item]);
              return (error as Error).message === "transient";
            },
          },
        },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(tries).toBe(4); // 1 for the permanent one, 3 for the transient one
    expect(seen[0]).toEqual(["permanent", 1]);
    expect(events.map((e) => (e as TransformerError).attempt)).toEqual([1, 3]);
  });

  it("does not retry an AbortError by default, nor when retryOn throws", async () => {
    const clock = new VirtualClock();
    vi.spyOn(console, "error").mockImplementation(() => {});
    let tries = 0;
    const abort = (_x: number): number => {
      tries++;
      throw new DOMException("gone", "AbortError");
    };
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer([1])
      .addTransformer(abort, { retry: { attempts: 5, backoff: { baseMs: 1 } } })
      .addTransformer(
        (): number => {
          throw new Error("x");
        },
        {
          name: "second",
          retry: {
            attempts: 5,
            retryOn: () => {
              throw new Error("bad retryOn");
            },
          },
        },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(tries).toBe(1);
    expect(f.stats().failed).toBe(1);
  });

  it("counts a worker waiting out a backoff as retrying, not busy", async () => {
    const clock = new VirtualClock();
    const { fn } = flaky(clock, 1);
    const f = new Flow({ clock })
      .setProducer([1])
      .addTransformer(fn, { name: "flaky", retry: { attempts: 2, backoff: { baseMs: 1000, jitter: 0 } } })
      .setConsumer(() => {});
    await f.start();
    await clock.advance(500);
    expect(f.stageStats("flaky")).toMatchObject({
      busyWorkers: 0,
      retryingWorkers: 1,
      totalWorkers: 1,
      utilization: 0,
    });
    await clock.runUntil(() => f.stats().state === "drained");
    expect(f.stageStats("flaky")).toMatchObject({ retryingWorkers: 0, processed: 1 });
  });

  it("drops an item waiting out a backoff when the flow stops, and leaves no timer behind", async () => {
    const clock = new VirtualClock();
    const { fn } = flaky(clock, 99);
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer([1])
      .addTransformer(fn, { name: "flaky", retry: { attempts: 9, backoff: { baseMs: 60_000 } } })
      .setConsumer(() => {});
    await f.start();
    await clock.advance(10);
    await f.stop();
    expect(events).toEqual([
      { type: "Dropped", id: 1, runId: expect.any(String), item: 1, stage: "flaky", reason: "STOPPED" },
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("retries a whole batch with the same items", async () => {
    const clock = new VirtualClock();
    const seen: { batch: number[]; attempt: number }[] = [];
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(6))
      .addTransformer(
        batch(
          (xs: number[], ctx) => {
            seen.push({ batch: [...xs], attempt: ctx.attempt });
            if (ctx.attempt === 1) throw new Error("flaky batch");
            return xs.map((x) => x * 10);
          },
          { size: 3 },
        ),
        { retry: { attempts: 2, backoff: { baseMs: 5 } } },
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(seen).toEqual([
      { batch: [0, 1, 2], attempt: 1 },
      { batch: [0, 1, 2], attempt: 2 },
      { batch: [3, 4, 5], attempt: 1 },
      { batch: [3, 4, 5], attempt: 2 },
    ]);
    expect(out).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it("keeps input order in an ordered stage whose items retry", async () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(40))
      .addTransformer(
        async (x: number, ctx) => {
          await sleep(clock, (x * 7) % 5);
          if (x % 3 === 0 && ctx.attempt === 1) throw new Error("once");
          return x;
        },
        {
          ordered: true,
          scalingStrategy: new FixedScaling({ workers: 4 }),
          retry: { backoff: { baseMs: 20 } },
        },
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual(range(40));
  });
});

describe("timeoutMs", () => {
  it("aborts ctx.signal with a TimeoutError and retries the attempt", async () => {
    const clock = new VirtualClock();
    const reasons: string[] = [];
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer([1])
      .addTransformer(
        async (x: number, ctx) => {
          try {
            await sleep(clock, ctx.attempt === 1 ? 1000 : 10, ctx.signal);
          } catch (e) {
            reasons.push((e as Error).name);
            throw e;
          }
          return x;
        },
        { timeoutMs: 50, retry: { attempts: 2, backoff: { baseMs: 1 } } },
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(reasons).toEqual(["TimeoutError"]);
    expect(out).toEqual([1]);
  });

  it("reports a TimeoutError when every attempt times out", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer([1])
      .addTransformer((_x: number, ctx) => sleep(clock, 1000, ctx.signal), { name: "slow", timeoutMs: 50 })
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(events).toHaveLength(1);
    const error = (events[0] as TransformerError).error as DOMException;
    expect(error.name).toBe("TimeoutError");
    expect(error.message).toMatch(/stage "slow": attempt 1 timed out after 50 ms/);
  });

  it("starts the clock when a worker takes the item, not while it waits in the queue", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer(range(10))
      .addTransformer((x: number, ctx) => sleep(clock, 40, ctx.signal).then(() => x), { timeoutMs: 50 })
      .setConsumer(() => {});
    await runVirtual(f, clock);
    // The last item waited ~360 ms in the queue, each call took 40 ms: none timed out.
    expect(f.stats()).toMatchObject({ consumed: 10, failed: 0 });
  });

  it("frees the worker at the deadline even if the call ignores the signal, and closes only after the call settles", async () => {
    const clock = new VirtualClock();
    const starts: number[] = [];
    const log: string[] = [];
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer([1, 2])
      .addTransformer(
        perWorker(() => ({
          async process(x: number) {
            starts.push(clock.now());
            await sleep(clock, x === 1 ? 500 : 5); // ignores ctx.signal
            log.push(`settled ${x}`);
            return x;
          },
          close() {
            log.push("close");
          },
        })),
        { timeoutMs: 100 },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(starts).toEqual([0, 100]);
    expect(f.stats()).toMatchObject({ consumed: 1, failed: 1 });
    expect(log).toEqual(["settled 2", "settled 1", "close"]);
  });

  it("gives each call after a timeout a fresh signal, still aborted by stop()", async () => {
    const clock = new VirtualClock();
    const signals: AbortSignal[] = [];
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer(range(3))
      .addTransformer(
        (x: number, ctx) => {
          signals.push(ctx.signal);
          return sleep(clock, x === 0 ? 100 : 10_000, ctx.signal);
        },
        { timeoutMs: 50 },
      )
      .setConsumer(() => {});
    await f.start();
    await clock.advance(60);
    expect(signals).toHaveLength(2);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]!.aborted).toBe(false);
    await f.stop();
    expect(signals[1]!.aborted).toBe(true);
    expect((signals[1]!.reason as Error).name).toBe("AbortError");
  });
});

describe("dead letters", () => {
  it("receive each item that failed for good, with error, stage and attempts, besides the handler", async () => {
    const clock = new VirtualClock(1000);
    const letters: DeadLetter[] = [];
    const events: FlowErrorEvent[] = [];
    const f = new Flow({
      clock,
      errorHandler: (e) => void events.push(e),
      deadLetter: async (d) => {
        await sleep(clock, 5);
        letters.push(d);
      },
    })
      .setProducer(range(4))
      .addTransformer(
        (x: number) => {
          if (x % 2 === 1) throw new Error(`bad ${x}`);
          return x;
        },
        { name: "check", retry: { attempts: 2, backoff: { baseMs: 10, jitter: 0 } } },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(letters.map((d) => [d.type, d.item, d.stage, d.attempts])).toEqual([
      ["DeadLetter", 1, "check", 2],
      ["DeadLetter", 3, "check", 2],
    ]);
    expect(String(letters[0]!.error)).toContain("bad 1");
    expect(letters[0]!.failedAt).toBe(1010);
    expect(events.filter((e) => e.type === "TransformerError")).toHaveLength(2);
    expect(f.stats()).toMatchObject({ consumed: 2, failed: 2 });
  });

  it("take a stage's own sink over the flow's; a fan-out item is filed under the fan-out", async () => {
    const clock = new VirtualClock();
    const flowLetters: DeadLetter[] = [];
    const stageLetters: DeadLetter[] = [];
    const f = new Flow({ clock, errorHandler: () => {}, deadLetter: (d) => void flowLetters.push(d) })
      .setProducer([1, 2])
      .addTransformer(
        (x: number) => {
          if (x === 1) throw new Error("own");
          return x;
        },
        { name: "own", deadLetter: (d) => void stageLetters.push(d) },
      )
      .addTransformer(
        fanOut(
          [
            (x: number) => x,
            (_x: number) => {
              throw new Error("branch");
            },
          ],
          (r) => r,
        ),
        { name: "fan" },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(stageLetters.map((d) => [d.item, d.stage])).toEqual([[1, "own"]]);
    expect(flowLetters.map((d) => [d.item, d.stage])).toEqual([[2, "fan"]]);
  });

  it("log a sink that throws or rejects, and the item still counts as failed once", async () => {
    const clock = new VirtualClock();
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    let n = 0;
    const f = new Flow({
      clock,
      errorHandler: () => {},
      deadLetter: async () => {
        if (n++ === 0) throw new Error("sink rejected");
      },
    })
      .setProducer([1, 2, 3])
      .addTransformer(
        (x: number) => {
          if (x < 3) throw new Error("x");
          return x;
        },
        {
          deadLetter: () => {
            throw new Error("sink threw");
          },
        },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(f.stats()).toMatchObject({ consumed: 1, failed: 2, inFlight: 0 });
    expect(log.mock.calls.map((c) => String(c[0]))).toEqual([
      "[flowrhythm] the dead-letter sink threw; ignored:",
      "[flowrhythm] the dead-letter sink threw; ignored:",
    ]);
    expect(n).toBe(0); // the stage's sink wins over the flow's
  });
});
