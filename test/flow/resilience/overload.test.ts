import { afterEach, describe, expect, it, vi } from "vitest";
import type { FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { isOverloadError, parseRetryAfter, retryAfterMs } from "../../../src/model/overload.js";
import { retryDelay, retryPolicy } from "../../../src/model/retry.js";
import { FlowConfigError } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** An error shaped as `shape`, as a client library would throw it. */
const err = (shape: Record<string, unknown>): Error => Object.assign(new Error("call failed"), shape);

describe("isOverloadError (the default overloadOn)", () => {
  it("recognises 429 and 503 where common clients put the status", () => {
    for (const status of [429, 503]) {
      expect(isOverloadError(err({ status }))).toBe(true); // undici, axios ≥ 1, a thrown Response
      expect(isOverloadError(err({ statusCode: status }))).toBe(true); // undici, http wrappers
      expect(isOverloadError(err({ response: { status } }))).toBe(true); // axios
      expect(isOverloadError(err({ response: { statusCode: status } }))).toBe(true); // got
      expect(isOverloadError(new Response(null, { status }))).toBe(true); // fetch: `throw res`
    }
  });

  it("recognises nothing else", () => {
    for (const e of [
      err({ status: 500 }),
      err({ status: "429" }),
      err({ statusCode: 404 }),
      err({ response: { status: 502 } }),
      err({ response: null }),
      new Error("429"),
      "429",
      429,
      null,
      undefined,
      new Response(null, { status: 500 }),
    ])
      expect(isOverloadError(e)).toBe(false);
  });

  it("never throws, whatever the error's getters do", () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("trap");
        },
      },
    );
    expect(isOverloadError(hostile)).toBe(false);
    expect(isOverloadError({ response: hostile })).toBe(false);
  });
});

describe("Retry-After", () => {
  it("reads ms, seconds, HTTP dates and headers, first present wins", () => {
    expect(retryAfterMs(err({ retryAfterMs: 250 }))).toBe(250);
    expect(retryAfterMs(err({ retryAfter: 2 }))).toBe(2000);
    expect(retryAfterMs(err({ retryAfter: "3" }))).toBe(3000);
    expect(retryAfterMs(err({ retryAfter: " 1.5 " }))).toBe(1500);
    // Neither seconds nor an HTTP date (Date.parse would read "-3" as the year −3): no floor.
    expect(retryAfterMs(err({ retryAfter: "-3" }))).toBeNaN();
    expect(retryAfterMs(err({ retryAfter: "12/25" }))).toBeNaN();
    expect(retryAfterMs(err({ headers: { "retry-after": "4" } }))).toBe(4000); // got, undici, node
    expect(retryAfterMs(err({ headers: new Headers({ "Retry-After": "5" }) }))).toBe(5000);
    expect(retryAfterMs(err({ response: { headers: new Headers({ "retry-after": "6" }) } }))).toBe(6000); // fetch
    expect(retryAfterMs(err({ response: { headers: { "retry-after": "7" } } }))).toBe(7000); // axios, got
    expect(retryAfterMs(err({ response: { headers: new Map([["retry-after", "8"]]) } }))).toBe(8000);
    expect(retryAfterMs(err({ headers: { "retry-after": ["9", "1"] } }))).toBe(9000);
    expect(retryAfterMs(err({ retryAfterMs: 10, retryAfter: 5, headers: { "retry-after": "1" } }))).toBe(10);
  });

  it("measures an HTTP date against the wall clock; one in the past reads as 0", () => {
    const at = new Date(Date.now() + 10_000).toUTCString(); // whole seconds: 9–10 s ahead
    const ms = retryAfterMs(err({ retryAfter: at }));
    expect(ms).toBeGreaterThan(8_000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expect(parseRetryAfter(new Date(Date.now() + 5_000))).toBeGreaterThan(4_000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBe(0);
  });

  it("asks nothing when absent or unreadable, and never throws", () => {
    for (const e of [
      new Error("x"),
      err({ retryAfter: "soon" }),
      err({ retryAfter: -1 }),
      err({ retryAfterMs: Number.NaN }),
      err({ retryAfterMs: "5" }),
      err({ headers: { get: () => null } }),
      err({
        headers: {
          get() {
            throw new Error("bad get");
          },
        },
      }),
      null,
      "Retry-After: 5",
    ])
      expect(retryAfterMs(e)).toBeNaN();
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("trap");
        },
      },
    );
    expect(retryAfterMs(hostile)).toBeNaN();
    expect(retryAfterMs({ response: { headers: hostile } })).toBeNaN();
  });

  it("is a floor on the backoff, capped at maxMs, spread upward by at most jitter · baseMs", () => {
    const p = retryPolicy({ attempts: 5, backoff: { baseMs: 100, maxMs: 5_000, jitter: 0.5 } })!;
    const asks = (s: number) => err({ retryAfter: s });
    expect(retryDelay(p, 1, 0.5, new Error("x"))).toBe(100); // no Retry-After: the backoff
    expect(retryDelay(p, 1, 0, asks(2))).toBe(2_000);
    expect(retryDelay(p, 1, 0.999, asks(2))).toBeCloseTo(2_049.95);
    expect(retryDelay(p, 1, 0, asks(3600))).toBe(5_000); // capped at maxMs
    expect(retryDelay(p, 6, 0.5, err({ retryAfterMs: 10 }))).toBe(3_200); // the backoff is longer
  });

  it("makes the next attempt wait at least the Retry-After in a flow", async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer([1])
      .addTransformer(
        (x: number, ctx) => {
          at.push(clock.now());
          if (ctx.attempt === 1) throw err({ status: 429, headers: { "retry-after": "2" } });
          return x;
        },
        { name: "api", retry: { attempts: 3, backoff: { baseMs: 10, jitter: 0 } } },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(at).toEqual([0, 2_000]);
    expect(f.stats()).toMatchObject({ consumed: 1, failed: 0 });
  });
});

describe("overloadOn", () => {
  it("counts each overloaded attempt and stamps lastOverloadAt; other errors are not overload", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer(range(4))
      .addTransformer(
        async (x: number, ctx) => {
          await sleep(clock, 5);
          if (x === 3) throw new Error("bug");
          if (ctx.attempt < 3) throw err({ statusCode: 503 });
          return x;
        },
        { name: "api", retry: { attempts: 3, backoff: { baseMs: 10, jitter: 0 } } },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    // Items 0–2 fail twice with 503 each, then succeed; item 3 fails three times, never overload.
    expect(f.stageStats("api")).toMatchObject({ overloads: 6, retries: 8, errors: 1, processed: 3 });
    // One worker, 45 ms an item (5 + 10 + 5 + 20 + 5): item 2's second 503 comes at 90 + 20.
    expect(f.stageStats("api")!.lastOverloadAt).toBe(110);
  });

  it("counts overloads on a stage without retries, and takes the user's classifier", async () => {
    const clock = new VirtualClock();
    const seen: unknown[] = [];
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer(range(3))
      .addTransformer(
        (x: number): number => {
          throw err({ code: x === 1 ? "RESOURCE_EXHAUSTED" : "OTHER", status: 429 });
        },
        {
          name: "grpc",
          overloadOn: (e) => {
            seen.push((e as { code: string }).code);
            return (e as { code: string }).code === "RESOURCE_EXHAUSTED";
          },
        },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(seen).toEqual(["OTHER", "RESOURCE_EXHAUSTED", "OTHER"]);
    expect(f.stageStats("grpc")).toMatchObject({ overloads: 1, errors: 3 });
    expect(f.stageStats("grpc")!.lastOverloadAt).toBe(0);
  });

  it("treats an error as no overload when overloadOn throws, reports it once, and every item still has its outcome", async () => {
    const clock = new VirtualClock();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock, errorHandler: (e) => void events.push(e) })
      .setProducer(range(4))
      .addTransformer(
        (x: number, ctx): number => {
          if (ctx.attempt === 1) throw err({ status: 429 });
          return x;
        },
        {
          name: "api",
          retry: { attempts: 2, backoff: { baseMs: 1 } },
          overloadOn: () => {
            throw new Error("bad overloadOn");
          },
        },
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(f.stageStats("api")).toMatchObject({ overloads: 0, processed: 4, lastOverloadAt: null });
    expect(f.stats()).toMatchObject({ consumed: 4, failed: 0, dropped: 0 });
    const reports = logged.mock.calls.filter((c) => String(c[0]).includes("overloadOn threw"));
    expect(reports).toHaveLength(1);
    expect(String(reports[0]![1])).toContain("bad overloadOn");
  });

  it("is validated: a function", () => {
    expect(() => new Flow().addTransformer((x: number) => x, { overloadOn: 429 as never })).toThrow(
      FlowConfigError,
    );
    expect(() => new Flow().addTransformer((x: number) => x, { overloadOn: 429 as never })).toThrow(
      /overloadOn/,
    );
  });
});

describe("retries are no new demand", () => {
  it("counts a retried item once in received (what the arrival rate counts) and never queues it again", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, tickMs: 10 })
      .setProducer(range(20))
      .addTransformer(
        async (x: number, ctx) => {
          await sleep(clock, 10);
          if (ctx.attempt < 4) throw err({ status: 429 });
          return x;
        },
        {
          name: "api",
          queueSize: 50,
          scalingStrategy: new FixedScaling({ workers: 1 }),
          retry: { attempts: 4, backoff: { baseMs: 5, jitter: 0 } },
        },
      )
      .setConsumer(() => {});
    let maxQueue = 0;
    f.on("stats", () => {
      maxQueue = Math.max(maxQueue, f.stageStats("api")!.queueLength);
    });
    await runVirtual(f, clock);
    const s = f.stageStats("api")!;
    expect(s).toMatchObject({ received: 20, processed: 20, retries: 60, overloads: 60 });
    expect(maxQueue).toBeLessThanOrEqual(20);
  });

  it("keeps failed attempts out of the processing time: fast failures do not look like capacity", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, tickMs: 10, timingSampleEvery: 1 })
      .setProducer(range(200))
      .addTransformer(
        async (x: number) => {
          // Half the calls fail at once (an overloaded dependency refusing); the rest take 40 ms.
          if (x % 2 === 0) throw err({ status: 503 });
          await sleep(clock, 40);
          return x;
        },
        { name: "api", scalingStrategy: new FixedScaling({ workers: 4 }) },
      )
      .setConsumer(() => {});
    f.setErrorHandler(() => {});
    await runVirtual(f, clock);
    const s = f.stageStats("api")!;
    expect(s).toMatchObject({ processed: 100, errors: 100, overloads: 100 });
    expect(s.processingTimeMs).toBeCloseTo(40, 0);
    expect(s.latency.p50).toBeGreaterThanOrEqual(39);
  });
});
