import { describe, expect, it, vi } from "vitest";
import { FixedScaling, Flow, AdaptiveScaling, type TransformerError } from "../../src/index.js";
import { ThreadCalls, type ThreadSource } from "./prototype/thread-calls.js";

// What a stage option would do: a stage whose function carries `threadSource` runs its calls in
// worker threads. Only the construction of the call site is replaced; the worker loop, the pool,
// the controller, retries and deadlines are today's.
vi.mock("../../src/runtime/stage/call-site.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/runtime/stage/call-site.js")>();
  class Chooser extends real.InLoopCalls {
    constructor(...args: ConstructorParameters<typeof real.InLoopCalls>) {
      super(...args);
      const source = (args[0] as { threadSource?: ThreadSource } | null)?.threadSource;
      // biome-ignore lint/correctness/noConstructorReturn: picks the implementation
      if (source !== undefined) return new ThreadCalls(source, args[2]) as unknown as Chooser;
    }
  }
  return { ...real, InLoopCalls: Chooser };
});

/** A stage function that runs in a thread: `src` is what the thread compiles. */
function inThread<I, O>(src: string): (item: I) => O {
  const f = (() => {
    throw new Error("ran in the event loop");
  }) as unknown as (item: I) => O;
  return Object.assign(f, { threadSource: { fn: src } });
}

async function collect<T>(f: Flow<any, T>): Promise<{ out: T[]; errors: TransformerError[] }> {
  const out: T[] = [];
  const errors: TransformerError[] = [];
  f.setErrorHandler((e) => {
    if ("stage" in e && "attempt" in e) errors.push(e as TransformerError);
  });
  for await (const x of f.stream()) out.push(x);
  return { out, errors };
}

describe("calls in worker threads through the CallSite seam (prototype)", () => {
  it("runs a stage's calls in threads, the pool scaling lanes like workers, and leaves no thread behind", async () => {
    const scales: string[] = [];
    const f = new Flow()
      .setProducer(() => Array.from({ length: 300 }, (_, i) => i))
      .addTransformer(
        inThread<number, number>(
          "async (x) => { await new Promise((r) => setTimeout(r, 2)); return x * 2; }",
        ),
        {
          name: "double",
          scalingStrategy: new AdaptiveScaling({ maxWorkers: 4 }),
        },
      );
    f.on("scale", (e) => scales.push(`${e.from}->${e.to}`));
    const { out, errors } = await collect(f);
    expect(errors).toEqual([]);
    expect(out.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i * 2));
    expect(ThreadCalls.live).toBe(0);
    console.log("scale events", scales.join(" "));
  });

  it("keeps ctx.worker.data per lane across calls (it lives in the thread)", async () => {
    const f = new Flow()
      .setProducer([1, 2, 3])
      .addTransformer(
        inThread<number, number>("(x, ctx) => (ctx.worker.data.n = (ctx.worker.data.n ?? 0) + 1)"),
      );
    const { out } = await collect(f);
    expect(out).toEqual([1, 2, 3]);
  });

  it("fails an item whose result cannot be cloned, and goes on", async () => {
    const f = new Flow()
      .setProducer([1, 2])
      .addTransformer(inThread<number, unknown>("(x) => (x === 1 ? () => x : x)"));
    const { out, errors } = await collect(f);
    expect(out).toEqual([2]);
    expect(errors.map((e) => (e.error as Error).name)).toEqual(["DataCloneError"]);
  });

  it("a thrown error keeps what overloadOn, retryAfterMs and retryOn read (status, retryAfterMs, name)", async () => {
    const seen: unknown[] = [];
    const f = new Flow()
      .setProducer([1])
      .addTransformer(
        inThread<number, number>(
          "(x, ctx) => { if (ctx.attempt === 1) { const e = new Error('slow down'); e.name = 'HttpError'; e.status = 429; e.retryAfterMs = 30; throw e; } return x; }",
        ),
        {
          name: "api",
          retry: {
            attempts: 2,
            backoff: { baseMs: 1, maxMs: 100 },
            retryOn: (e) => {
              seen.push(e);
              return (e as { name?: string }).name === "HttpError";
            },
          },
        },
      );
    f.on("retry", (e) => seen.push(e.delayMs));
    const { out, errors } = await collect(f);
    expect(errors).toEqual([]);
    expect(out).toEqual([1]);
    expect((seen[0] as { status: number }).status).toBe(429);
    expect(f.stageStats("api")?.overloads).toBe(1);
    expect(seen[1]).toBeGreaterThanOrEqual(30);
  });

  it("a thread that crashes mid-call fails that call, and only that call", async () => {
    const f = new Flow()
      .setProducer(() => Array.from({ length: 10 }, (_, i) => i))
      .addTransformer(inThread<number, number>("(x) => { if (x === 3) process.exit(7); return x; }"), {
        name: "crashy",
        scalingStrategy: new FixedScaling({ workers: 1 }),
      });
    const { out, errors } = await collect(f);
    console.log(
      "crash: out",
      out,
      "errors",
      errors.map((e) => `${e.item}:${(e.error as Error).message}`),
    );
    expect(errors.map((e) => e.item)).toEqual([3]);
    expect(out).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(ThreadCalls.live).toBe(0);
  });

  it("a call that crashes its thread is retried on a fresh thread (retries stay with the worker)", async () => {
    const before = ThreadCalls.spawned;
    const f = new Flow()
      .setProducer([1, 2, 3])
      .addTransformer(
        inThread<number, number>(
          "(x, ctx) => { if (x === 2 && ctx.attempt === 1) process.exit(1); return x * 10; }",
        ),
        {
          name: "crashy",
          scalingStrategy: new FixedScaling({ workers: 1 }),
          retry: { attempts: 2, backoff: { baseMs: 1, maxMs: 1 } },
        },
      );
    const { out, errors } = await collect(f);
    expect(errors).toEqual([]);
    expect(out).toEqual([10, 20, 30]);
    expect(ThreadCalls.spawned - before).toBe(2);
    expect(ThreadCalls.live).toBe(0);
  });

  it("aborts a call in the thread when the flow stops (the signal crosses)", async () => {
    const f = new Flow()
      .setProducer([1])
      .addTransformer(
        inThread<number, number>(
          "(x, ctx) => new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('aborted in thread'))))",
        ),
        { name: "hang" },
      )
      .setConsumer(() => {});
    f.setErrorHandler(() => {});
    await f.start();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await f.stop();
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(1000); // closeTimeoutMs is 5000: the call settled because the abort reached it
    expect(f.stats().dropped + f.stats().failed).toBe(1);
    expect(ThreadCalls.live).toBe(0);
  });

  it("a CPU-bound call past timeoutMs: the signal cannot interrupt it; the next calls queue behind it", async () => {
    const f = new Flow()
      .setProducer([1, 2, 3])
      .addTransformer(
        inThread<number, number>(
          "(x) => { const end = Date.now() + 300; while (Date.now() < end); return x; }",
        ),
        {
          name: "cpu",
          timeoutMs: 50,
        },
      );
    const t0 = performance.now();
    const { out, errors } = await collect(f);
    console.log(
      "cpu-bound:",
      Math.round(performance.now() - t0),
      "ms; out",
      out,
      "errors",
      errors.map((e) => e.item),
    );
    expect(errors.map((e) => e.item)).toEqual([1, 2, 3]);
    expect(ThreadCalls.live).toBe(0);
  });
});
