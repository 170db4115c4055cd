import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { spawn } from "node:child_process";
import { batch, FixedScaling, Flow, FlowConfigError, flatMap, Last, router, Skip } from "../../src/index.js";
import { distribute, ItemCodecError, jsonCodec } from "../../src/redis.js";
import { freshPrefix, redisUp } from "./redis-up.js";
import { configErrorOf } from "../helpers.js";

const connection = { host: "127.0.0.1", port: 6379 };
let redis: Redis;
beforeAll(async () => {
  redis = await redisUp();
});
afterAll(() => redis.disconnect());
const id = (x: unknown) => x;
const chain = (name = "chain") =>
  new Flow({ name })
    .addTransformer(id, { name: "a" })
    .addTransformer(id, { name: "b" })
    .setConsumer(() => {}, { name: "c" });

describe("what cannot cross is refused when distribute() is called", () => {
  const refused = (build: () => unknown, option: string, text: RegExp) => {
    const error = configErrorOf(build);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(text);
  };
  it("names that are no top-level stage, and bad options", () => {
    refused(() => distribute(chain(), { connection, remote: ["nope"] }), "remote", /"nope".*a, b, c/);
    refused(() => distribute(chain(), { connection, remote: [] }), "remote", /non-empty array/);
    refused(
      () => distribute(chain(), { remote: ["a"] } as never),
      "connection",
      /ioredis connection options/,
    );
    refused(
      () => distribute(chain(), { connection, remote: ["a"], lockMs: 0 }),
      "lockMs",
      /an integer from 1,000 to 86,400,000/,
    );
    refused(
      () => distribute(chain(), { connection, remote: ["a"], keepRunSeconds: 5 }),
      "keepRunSeconds",
      /from 60/,
    );
    refused(() => distribute(chain(), { connection, remote: ["a"], lockMs: 1e300 }), "lockMs", /1e\+300/);
    refused(() => distribute(chain("has space"), { connection, remote: ["a"] }), "name", /"has space"/);
    const d = distribute(chain(), { connection, remote: ["b"] });
    return Promise.all([
      expect(d.run([1], { total: -1 })).rejects.toThrow(/run: option "total" = -1: expected an integer ≥ 0/),
      expect(d.serve({ handleSignals: "yes" } as never)).rejects.toThrow(
        /serve: option "handleSignals" = "yes": expected true or false/,
      ),
      expect(d.run(42 as never)).rejects.toThrow(FlowConfigError),
    ]);
  });
  it("shapes a remote queue cannot honour", () => {
    const routed = new Flow({ name: "r" }).addTransformer(
      router(() => "x", { x: id }),
      { name: "route" },
    );
    refused(() => distribute(routed, { connection, remote: ["route"] }), "remote", /is a router/);
    const batched = new Flow({ name: "b" }).addTransformer(
      batch(async (xs: unknown[]) => xs, { size: 2 }),
      { name: "bt" },
    );
    refused(() => distribute(batched, { connection, remote: ["bt"] }), "remote", /batch stage/);
    const expanding = new Flow({ name: "f" }).addTransformer(id, { name: "a" }).addTransformer(
      flatMap((x: unknown) => [x]),
      { name: "fm" },
    );
    refused(() => distribute(expanding, { connection, remote: ["a"] }), "remote", /flatMap/);
    const ordered = new Flow({ name: "o" })
      .addTransformer(id, { name: "a" })
      .addTransformer(id, { name: "b", ordered: true });
    refused(() => distribute(ordered, { connection, remote: ["a"] }), "ordered", /ordered = true/);
    refused(() => distribute(chain(), { connection, remote: ["a:1"] as never }), "remote", /"a:1"/);
  });
  it("a flatMap before the first remote stage, and the consumer as a remote stage, are fine", () => {
    const f = new Flow({ name: "ok" })
      .addTransformer(
        flatMap((x: number) => [x, x]),
        { name: "fm" },
      )
      .addTransformer(id, { name: "a" })
      .setConsumer(() => {}, { name: "c" });
    expect(distribute(f, { connection, remote: ["a", "c"] }).topology.remote).toEqual(["a", "c"]);
    expect(distribute(chain(), { connection, remote: "all" }).topology.remote).toEqual(["a", "b", "c"]);
  });
  it("the topology hash follows names and shapes, not functions", () => {
    const h = (f: Flow<number, unknown>) => distribute(f, { connection, remote: ["b"] }).topology.hash;
    const other = new Flow({ name: "chain" })
      .addTransformer((x: number) => x + 1, { name: "a" })
      .addTransformer(id, { name: "b" })
      .setConsumer(() => {}, { name: "c" });
    expect(h(other)).toBe(h(chain()));
    expect(h(chain().configure("a", { name: "a2" }))).not.toBe(h(chain()));
  });
});

/** `v` with every null-prototype object made plain (the one difference JSON is allowed to make). */
const plain = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
};

describe("the JSON codec", () => {
  it("refuses what would not come back the same, saying where", () => {
    class Point {
      x = 1;
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const [value, text] of [
      [{ at: new Date(0) }, /item\.at is a Date/],
      [[new Map()], /item\[0\] is a Map/],
      [new Point(), /Point/],
      [cycle, /cycle/],
      [{ a: undefined }, /undefined/],
      [Number.NaN, /NaN/],
      [10n, /bigint/],
      [Object.assign([1], { extra: true }), /properties of its own/],
      [Object.defineProperty({ a: 1 }, "hidden", { value: 2 }), /not enumerable/],
      [Object.defineProperty([1], "hidden", { value: 2 }), /properties of its own/],
      [new (class List extends Array {})(), /List/],
      [
        {
          get bad() {
            throw new Error("trap");
          },
        },
        /could not be read.*trap/,
      ],
    ] as const)
      expect(() => jsonCodec.encode(value)).toThrow(text);
    expect(() => jsonCodec.encode({ at: new Date(0) })).toThrow(ItemCodecError);
  });
  it("what it lets through comes back deep-equal (generated values)", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withDate: true,
          withMap: true,
          withSet: true,
          withBigInt: true,
          withNullPrototype: true,
          withTypedArray: true,
          withSparseArray: true,
          withBoxedValues: true,
        }),
        (v) => {
          let text: string;
          try {
            text = jsonCodec.encode(v);
          } catch (e) {
            return e instanceof ItemCodecError;
          }
          return isDeepStrictEqual(JSON.parse(text), plain(v));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("against Redis, in one process", () => {
  it("counts every outcome once, wherever it happened; an item that cannot cross fails, reported", async () => {
    const errors: { stage: string; error: unknown }[] = [];
    const f = new Flow({ name: "one" })
      .addTransformer((x: number) => (x === 7 ? { at: new Date(0) } : x), { name: "parse" })
      .addTransformer((x: unknown) => ((x as number) % 10 === 3 ? Skip : x), { name: "fetch" })
      .addTransformer(
        (x: number, ctx) => {
          if (x === 5 && ctx.attempt < 2) throw new Error("once");
          if (x === 9) throw new Error("always");
          return x;
        },
        {
          name: "store",
          retry: { attempts: 2, backoff: { baseMs: 1 } },
          scalingStrategy: new FixedScaling({ workers: 2 }),
        },
      )
      .setConsumer(() => {}, { name: "save" })
      .setErrorHandler((e) => {
        if (e.type === "TransformerError") errors.push({ stage: e.stage, error: e.error });
      });
    const d = distribute(f, { connection, remote: ["fetch", "store"], prefix: freshPrefix("one") });
    try {
      await d.run(Array.from({ length: 40 }, (_, i) => i));
      const s = d.stats();
      expect(s).toMatchObject({ itemsIn: 40, failed: 2, skipped: 4, consumed: 34, dropped: 0, inFlight: 0 });
      expect(errors.map((e) => e.stage).sort()).toEqual(["fetch:send", "store"]);
      expect(errors.find((e) => e.stage === "fetch:send")!.error).toBeInstanceOf(ItemCodecError);
      expect(s.stages.map((x) => x.stageName)).toEqual([
        "parse",
        "fetch:send",
        "fetch",
        "store:send",
        "store",
        "save",
      ]);
    } finally {
      await d.close();
    }
  });

  it("timeouts, retries and dead letters keep their meaning in a remote stage, with the item's own id", async () => {
    const dead: { id: number; stage: string; error: unknown }[] = [];
    const ids: number[] = [];
    const f = new Flow({
      name: "resilient",
      deadLetter: (e) => void dead.push({ id: e.id, stage: e.stage, error: e.error }),
    })
      .addTransformer((x: number) => x, { name: "parse" })
      .addTransformer(
        async (x: number, ctx) => {
          ids.push(ctx.id);
          if (x === 3) await new Promise((r) => setTimeout(r, 1_000));
          return x;
        },
        { name: "slow", timeoutMs: 50, retry: { attempts: 2, backoff: { baseMs: 1 } } },
      )
      .setConsumer(() => {}, { name: "c" });
    const d = distribute(f, { connection, remote: ["slow"], prefix: freshPrefix("res") });
    try {
      await d.run([0, 1, 2, 3, 4]);
      expect(d.stats()).toMatchObject({ itemsIn: 5, consumed: 4, failed: 1 });
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ id: 4, stage: "slow" });
      expect((dead[0]!.error as Error).name).toBe("TimeoutError");
      // ids in the remote stage are the feeder's (1..5), the timed-out item's twice (two attempts).
      expect([...new Set(ids)].sort()).toEqual([1, 2, 3, 4, 5]);
      expect(ids.filter((i) => i === 4)).toHaveLength(2);
    } finally {
      await d.close();
    }
  });

  it("a remote stage's queue in Redis stays within its queueSize; drain() from the feeder ends the run", async () => {
    const prefix = freshPrefix("bound");
    const f = new Flow({ name: "bounded" })
      .addTransformer((x: number) => x, { name: "parse" })
      .addTransformer(
        async (x: number) => {
          await new Promise((r) => setTimeout(r, 2));
          return x;
        },
        { name: "slow", queueSize: 20, scalingStrategy: new FixedScaling({ workers: 2 }) },
      )
      .setConsumer(() => {}, { name: "c" });
    const d = distribute(f, { connection, remote: ["slow"], prefix });
    let most = 0;
    let sampling = true;
    const sample = (async () => {
      while (sampling) {
        most = Math.max(most, await redis.llen(`${prefix}:bounded.slow:wait`));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const run = d.run(function* () {
      for (let i = 0; ; i++) yield i;
    });
    // The feeder's stats give the whole run's counts while it goes on (read from Redis).
    while (d.stats().consumed === 0) await new Promise((r) => setTimeout(r, 20));
    expect(d.stats().state).toBe("running");
    await new Promise((r) => setTimeout(r, 300));
    await d.drain();
    await run;
    sampling = false;
    await sample;
    try {
      const s = d.stats();
      expect(most).toBeGreaterThan(10);
      expect(most).toBeLessThanOrEqual(20);
      expect(s.itemsIn).toBeGreaterThan(50);
      expect(s).toMatchObject({
        consumed: s.itemsIn,
        failed: 0,
        dropped: 0,
        inFlight: 0,
        endedBy: "drain",
        state: "drained",
      });
    } finally {
      await d.close();
    }
  });

  it('remote: "all" puts every stage, the consumer too, on Redis; start() and wait() split run()', async () => {
    const got: number[] = [];
    const f = new Flow({ name: "everything" })
      .addTransformer((x: number) => x + 1, { name: "a" })
      .addTransformer((x: number) => x * 10, { name: "b" })
      .setConsumer((x: number) => void got.push(x), { name: "c" });
    const d = distribute(f, { connection, remote: "all", prefix: freshPrefix("all") });
    try {
      await d.start([1, 2, 3]);
      await expect(d.start([4])).rejects.toThrow(/feeding a run already/);
      await d.wait();
      expect(got.sort((x, y) => x - y)).toEqual([20, 30, 40]);
      expect(d.stats().stages.map((s) => s.stageName)).toEqual(["a:send", "a", "b:send", "b", "c:send", "c"]);
    } finally {
      await d.close();
    }
  });

  it("a process with another topology under the same name is refused", async () => {
    const prefix = freshPrefix("topo");
    const a = distribute(chain("topo"), { connection, remote: ["b"], prefix });
    const b = distribute(chain("topo"), { connection, remote: ["a", "b"], prefix });
    const serving = a.serve();
    while ((await redis.get(`${prefix}:topo:topology`)) === null) await new Promise((r) => setTimeout(r, 5));
    try {
      await expect(b.serve()).rejects.toThrow(/another topology/);
    } finally {
      await a.stop();
      await serving;
      await a.close();
      await b.close();
    }
  });

  it("stop() from the feeder ends the run everywhere: what was out is dropped, each item once", async () => {
    const prefix = freshPrefix("stop");
    let started = 0;
    const f = new Flow({ name: "stopping" })
      .addTransformer(
        async (x: number, ctx) => {
          started++;
          await new Promise((r) => setTimeout(r, 20));
          ctx.signal.throwIfAborted();
          return x;
        },
        { name: "slow", scalingStrategy: new FixedScaling({ workers: 4 }) },
      )
      .setConsumer(() => {}, { name: "c" })
      .setErrorHandler(() => {});
    const d = distribute(f, { connection, remote: ["slow"], prefix });
    const run = d.run(Array.from({ length: 500 }, (_, i) => i));
    while (started < 10) await new Promise((r) => setTimeout(r, 5));
    await d.stop();
    await run;
    const s = d.stats();
    expect(s.itemsIn).toBeGreaterThan(0);
    expect(s.consumed + s.failed + s.dropped).toBe(s.itemsIn);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.inFlight).toBe(0);
    await d.close();
  });
});

describe("Last(...) across processes", () => {
  it("a Last in a remote stage cuts the run: upstream items are dropped, downstream ones finish, each once", async () => {
    const consumed: number[] = [];
    const f = new Flow({ name: "lastly" })
      .addTransformer((x: number) => x, { name: "parse" })
      .addTransformer((x: number) => (x === 50 ? Last(x) : x), {
        name: "cut",
        scalingStrategy: new FixedScaling({ workers: 1 }),
      })
      .addTransformer(
        async (x: number) => {
          await new Promise((r) => setTimeout(r, 2));
          return x;
        },
        { name: "after" },
      )
      .setConsumer((x: number) => void consumed.push(x), { name: "c" })
      .setErrorHandler(() => {});
    const d = distribute(f, { connection, remote: ["cut", "after"], prefix: freshPrefix("last") });
    try {
      await d.run(function* () {
        for (let i = 0; i < 100_000; i++) yield i;
      });
      const s = d.stats();
      expect(s.endedBy).toBe("last");
      expect(consumed).toContain(50);
      expect(new Set(consumed).size).toBe(consumed.length);
      expect(s.consumed).toBe(consumed.length);
      expect(s.itemsIn).toBeLessThan(100_000);
      expect(s.consumed + s.dropped + s.failed).toBe(s.itemsIn);
      expect(s.droppedByReason.UPSTREAM_TERMINATED).toBe(s.dropped);
      expect(s.dropped).toBeGreaterThan(0);
    } finally {
      await d.close();
    }
  }, 30_000);
});

describe("driving it badly", () => {
  it("jobs it did not write (foreign data, an unknown run) are completed unrun, leaving no ledger", async () => {
    const prefix = freshPrefix("foreign");
    const ran: unknown[] = [];
    const f = new Flow({ name: "foreign" })
      .addTransformer((x: unknown) => void ran.push(x), { name: "w" })
      .setConsumer(() => {}, { name: "c" });
    const d = distribute(f, { connection, remote: ["w"], prefix });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const serving = d.serve();
    const { Queue } = await import("bullmq");
    const q = new Queue("foreign.w", { connection: { ...connection, maxRetriesPerRequest: null }, prefix });
    try {
      for (const data of [
        null,
        { r: "x", i: 1e9, v: 1 },
        { r: "00000000-0000-0000-0000-000000000000", i: 1e8, v: "1" },
      ])
        await q.add("item", data, { removeOnComplete: true });
      while ((await q.count()) > 0 || (await q.getActiveCount()) > 0)
        await new Promise((r) => setTimeout(r, 20));
      expect(ran).toEqual([]);
      expect(await q.getFailedCount()).toBe(0);
      expect(await redis.keys(`${prefix}:foreign:run:*`)).toEqual([]);
    } finally {
      errors.mockRestore();
      await q.close();
      await d.stop();
      await serving;
      await d.close();
    }
  });

  const slowFlow = (name: string) =>
    new Flow({ name })
      .addTransformer(
        async (x: number) => {
          await new Promise((r) => setTimeout(r, 5));
          return x;
        },
        { name: "slow", scalingStrategy: new FixedScaling({ workers: 4 }) },
      )
      .setConsumer(() => {}, { name: "c" })
      .setErrorHandler(() => {});
  const endless = function* () {
    for (let i = 0; ; i++) yield i;
  };

  it("an already-aborted signal stops run() and serve() at once", async () => {
    const d = distribute(slowFlow("aborted"), { connection, remote: ["slow"], prefix: freshPrefix("ab") });
    try {
      await d.run(endless, { signal: AbortSignal.abort() });
      expect(d.stats()).toMatchObject({ itemsIn: 0, inFlight: 0 });
      await d.serve({ signal: AbortSignal.abort() });
    } finally {
      await d.close();
    }
  });

  it("two starts in one tick: the second is refused; close() right after start() stops the run", async () => {
    const d = distribute(slowFlow("twice"), { connection, remote: ["slow"], prefix: freshPrefix("tw") });
    const first = d.start(endless);
    await expect(d.start(endless)).rejects.toThrow(/feeding a run already/);
    await first;
    await d.close();
    await d.wait();
    const s = d.stats();
    expect(s.consumed + s.dropped + s.failed).toBe(s.itemsIn);
    expect(s.inFlight).toBe(0);
  });

  it("Redis going away mid-run: close() still ends, and every item is accounted for", async () => {
    const port = 6400 + (process.pid % 500);
    const server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
    const own = { host: "127.0.0.1", port };
    try {
      await redisUp(port);
      const d = distribute(slowFlow("gone"), {
        connection: own,
        remote: ["slow"],
        prefix: freshPrefix("gone"),
      });
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        void d.run(endless).catch(() => {});
        while ((d.stats().itemsIn ?? 0) < 50) await new Promise((r) => setTimeout(r, 10));
        server.kill("SIGKILL");
        await new Promise((r) => setTimeout(r, 300));
        // With Redis gone, close() giving up on it at all is the check (the test's timeout bounds it).
        await d.close();
        const s = d.stats();
        expect(s.inFlight).toBe(0);
        expect(s.consumed + s.dropped + s.failed).toBe(s.itemsIn);
      } finally {
        errors.mockRestore();
      }
    } finally {
      server.kill("SIGKILL");
    }
  }, 30_000);
});
