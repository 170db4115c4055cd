import { type ContextManager, context, ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixedScaling, Flow, FlowConfigError, fanOut, flatMap, Skip, systemClock } from "../../src/index.js";
import { traceItems } from "../../src/observe/otel-traces.js";
import { range, runVirtual, sleep, VirtualClock } from "../helpers.js";

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  context.disable();
});

function provider() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, tracerProvider };
}

/** A context manager whose `with` is `withFn` (one that throws, for the tests of hostile ones). */
function throwingContextManager(
  withFn: (c: unknown, fn: (...a: unknown[]) => unknown, thisArg: unknown, ...args: unknown[]) => unknown,
): ContextManager {
  return {
    active: () => ROOT_CONTEXT,
    with: withFn as ContextManager["with"],
    bind: <T>(_c: unknown, t: T) => t,
    enable() {
      return this;
    },
    disable() {
      return this;
    },
  };
}

const itemSpans = (spans: ReadableSpan[]) => spans.filter((s) => s.name.endsWith(" item"));
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const attr = (s: ReadableSpan, key: string) => s.attributes[key];

describe("traceItems", () => {
  it("gives every sampled item a span from its first call to its outcome, with a child span per stage attempt", async () => {
    const { exporter, tracerProvider } = provider();
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock, name: "orders", errorHandler: () => {} })
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 2);
          if (x === 3) throw new Error("bad item 3");
          return x;
        },
        { name: "parse" },
      )
      .addTransformer((x: number) => (x === 4 ? Skip : x), { name: "filter" })
      .setConsumer(() => {}, { name: "save" })
      .setProducer(range(6));
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await runVirtual(f, clock);
    const spans = exporter.getFinishedSpans();
    const items = itemSpans(spans);
    expect(items).toHaveLength(6);
    const byId = new Map(items.map((s) => [attr(s, "flowrhythm.item.id"), s]));
    const outcomes = [...byId.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
    // Ids 1–6 carry items 0–5: item 3 (id 4) failed, item 4 (id 5) skipped.
    expect(outcomes.map(([, s]) => attr(s, "flowrhythm.item.outcome"))).toEqual([
      "consumed",
      "consumed",
      "consumed",
      "failed",
      "skipped",
      "consumed",
    ]);
    expect(byId.get(4)!.status.code).toBe(SpanStatusCode.ERROR);
    expect(byId.get(1)!.attributes["flowrhythm.flow.name"]).toBe("orders");
    for (const item of items) {
      const stages = spans.filter((s) => parentOf(s) === item.spanContext().spanId);
      const id = attr(item, "flowrhythm.item.id");
      const expected = id === 4 ? ["orders parse"] : id === 5 ? ["orders parse", "orders filter"] : undefined;
      expect(stages.map((s) => s.name)).toEqual(expected ?? ["orders parse", "orders filter", "orders save"]);
      for (const s of stages) expect(s.spanContext().traceId).toBe(item.spanContext().traceId);
    }
    const failedCall = spans.find((s) => s.name === "orders parse" && attr(s, "flowrhythm.item.id") === 4)!;
    expect(failedCall.status.code).toBe(SpanStatusCode.ERROR);
    expect(failedCall.events.some((e) => e.name === "exception")).toBe(true);
  });

  it("runs the stage's function in its span's context: a span the user opens nests under it", async () => {
    const { exporter, tracerProvider } = provider();
    const tracer = tracerProvider.getTracer("user");
    const f = new Flow<number>().setConsumer(
      async (x: number) => {
        const span = tracer.startSpan(`user work ${x}`);
        await new Promise((r) => setTimeout(r, 1));
        span.end();
      },
      { name: "work" },
    );
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await f.run(range(3));
    const spans = exporter.getFinishedSpans();
    for (const x of range(3)) {
      const user = spans.find((s) => s.name === `user work ${x}`)!;
      const stage = spans.find((s) => s.spanContext().spanId === parentOf(user))!;
      expect(stage.name).toBe("flow work");
    }
  });

  it("retries are spans of their own, under the same item", async () => {
    const { exporter, tracerProvider } = provider();
    let calls = 0;
    const f = new Flow<number>().setConsumer(
      () => {
        if (calls++ < 2) throw new Error("flaky");
      },
      { name: "s", retry: { attempts: 3, backoff: { baseMs: 1 } } },
    );
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await f.run([1]);
    const spans = exporter.getFinishedSpans();
    const attempts = spans.filter((s) => s.name === "flow s");
    expect(attempts.map((s) => attr(s, "flowrhythm.attempt"))).toEqual([1, 2, 3]);
    expect(new Set(attempts.map(parentOf)).size).toBe(1);
    expect(attr(itemSpans(spans)[0]!, "flowrhythm.item.outcome")).toBe("consumed");
  });

  it("nests a flatMap's children under their parent item", async () => {
    const { exporter, tracerProvider } = provider();
    const f = new Flow<number>()
      .addTransformer(
        flatMap((x: number) => [x, x + 100]),
        { name: "split" },
      )
      .setConsumer(() => {}, { name: "save" });
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await f.run([1]);
    const items = itemSpans(exporter.getFinishedSpans());
    expect(items).toHaveLength(3);
    const parent = items.find((s) => attr(s, "flowrhythm.item.outcome") === "expanded")!;
    const children = items.filter((s) => s !== parent);
    for (const c of children) {
      expect(attr(c, "flowrhythm.item.parent_id")).toBe(attr(parent, "flowrhythm.item.id"));
      expect(parentOf(c)).toBe(parent.spanContext().spanId);
    }
  });

  it("samples whole items at about the rate asked, and stops when untraced", async () => {
    const { exporter, tracerProvider } = provider();
    const f = new Flow<number>()
      .addTransformer((x: number) => x, { name: "a", scalingStrategy: new FixedScaling({ workers: 3 }) })
      .setConsumer(() => {}, { name: "b" });
    const untrace = traceItems(f, { tracerProvider, sampleRate: 0.1 });
    await f.run(range(4000));
    const spans = exporter.getFinishedSpans();
    const items = itemSpans(spans);
    // Binomial(4000, 0.1): mean 400, sd 19; ±6 sd.
    expect(items.length).toBeGreaterThan(286);
    expect(items.length).toBeLessThan(514);
    // Each traced item is traced in every stage; nothing else is.
    expect(spans.length).toBe(items.length * 3);
    untrace();
    exporter.reset();
    await f.run(range(500));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it("a tracer that throws costs no item its call", async () => {
    const broken = {
      getTracer: () => ({
        startSpan() {
          throw new Error("tracer down");
        },
        startActiveSpan() {
          throw new Error("tracer down");
        },
      }),
    };
    const out: number[] = [];
    const f = new Flow<number>().setConsumer((x: number) => void out.push(x));
    traceItems(f, { tracerProvider: broken as never, sampleRate: 1 });
    await f.run(range(50));
    expect(out.sort((a, b) => a - b)).toEqual(range(50));
    expect(f.stats().consumed).toBe(50);
  });

  it("a span processor that throws costs no item anything (a trial found every traced item failing)", async () => {
    const throwing = {
      onStart() {},
      onEnd() {
        throw new Error("processor onEnd failed");
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [throwing] });
    const out: number[] = [];
    const f = new Flow<number>()
      .addTransformer(async (x: number) => x * 2, { name: "double" })
      .addTransformer((x: number) => x + 1, { name: "sync" })
      .setConsumer((x: number) => void out.push(x));
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await f.run(range(30));
    expect(out.sort((a, b) => a - b)).toEqual(range(30).map((x) => x * 2 + 1));
    expect(f.stats()).toMatchObject({ consumed: 30, failed: 0 });
  });

  it("traces a traced item's flatMap children with it, whatever their own ids' hashes", async () => {
    const { exporter, tracerProvider } = provider();
    const f = new Flow<number>()
      .addTransformer(
        flatMap((x: number) => [x, x, x, x]),
        { name: "split" },
      )
      .setConsumer(() => {}, { name: "save" });
    traceItems(f, { tracerProvider, sampleRate: 0.2 });
    await f.run(range(300));
    const items = itemSpans(exporter.getFinishedSpans());
    const parents = items.filter((s) => attr(s, "flowrhythm.item.outcome") === "expanded");
    expect(parents.length).toBeGreaterThan(20);
    for (const p of parents) {
      const children = items.filter(
        (s) => attr(s, "flowrhythm.item.parent_id") === attr(p, "flowrhythm.item.id"),
      );
      expect(children).toHaveLength(4);
      for (const c of children) expect(parentOf(c)).toBe(p.spanContext().spanId);
    }
  });

  it("ends an attempt's span when its deadline passes, failed, though the call never settles", async () => {
    const { exporter, tracerProvider } = provider();
    const f = new Flow<number>({ errorHandler: () => {} }).setConsumer(
      (x: number) => (x === 1 ? new Promise(() => {}) : undefined),
      { name: "s", timeoutMs: 30 },
    );
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await f.run([1, 2]);
    const spans = exporter.getFinishedSpans();
    const hung = spans.find((s) => s.name === "flow s" && attr(s, "flowrhythm.item.id") === 1)!;
    expect(hung.status.code).toBe(SpanStatusCode.ERROR);
    expect(hung.status.message).toMatch(/timeout|time/i);
    expect(
      attr(itemSpans(spans).find((s) => attr(s, "flowrhythm.item.id") === 1)!, "flowrhythm.item.outcome"),
    ).toBe("failed");
  });

  it("ends a timed-out attempt's span, failed, when its retry starts: one span per attempt, none left open", async () => {
    const { exporter, tracerProvider } = provider();
    let calls = 0;
    // Real timers: the SDK stamps spans with the wall clock. The retry takes 20 ms, so an attempt
    // span ended at the item's outcome instead of at the retry's start would end 20 ms late.
    const f = new Flow<number>({ errorHandler: () => {} }).setConsumer(
      () => (calls++ === 0 ? new Promise(() => {}) : sleep(systemClock, 20)),
      { name: "s", timeoutMs: 30, retry: { attempts: 2 } },
    );
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await f.run([7]);
    const ns = (t: [number, number]) => t[0] * 1e9 + t[1];
    const attempts = exporter
      .getFinishedSpans()
      .filter((s) => s.name === "flow s")
      .sort((a, b) => Number(attr(a, "flowrhythm.attempt")) - Number(attr(b, "flowrhythm.attempt")));
    expect(attempts.map((s) => attr(s, "flowrhythm.attempt"))).toEqual([1, 2]);
    expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts[0]!.status.message).toMatch(/timeout|time/i);
    expect(attempts[1]!.status.code).not.toBe(SpanStatusCode.ERROR);
    // Ended as its retry began (the SDK's start times are whole milliseconds: 1 ms of slack).
    expect(ns(attempts[0]!.endTime)).toBeLessThanOrEqual(ns(attempts[1]!.startTime) + 1e6);
    expect(attr(itemSpans(exporter.getFinishedSpans())[0]!, "flowrhythm.item.outcome")).toBe("consumed");
  });

  it("after stop(), a call that completes ends its span by its own result, the item's span says it was dropped; fan-out branches end apart", async () => {
    const { exporter, tracerProvider } = provider();
    const f = new Flow<number>({ name: "f" })
      .addTransformer(
        fanOut(
          [
            async function slow(x: number) {
              await sleep(systemClock, 30);
              return x;
            },
            async function fast(x: number) {
              await sleep(systemClock, 2);
              return x;
            },
          ],
          ([a]) => a,
          { name: "both" },
        ),
      )
      .addTransformer(
        (x: number, ctx) => new Promise<number>((r) => ctx.signal.addEventListener("abort", () => r(x))),
        { name: "work" },
      )
      .setConsumer(() => {});
    traceItems(f, { tracerProvider, sampleRate: 1 });
    const done = f.run([1]);
    await sleep(systemClock, 60);
    await f.stop();
    await done;
    const spans = exporter.getFinishedSpans();
    const branches = spans.filter((s) => s.name.startsWith("f both."));
    expect(branches.length).toBe(2);
    for (const b of branches) expect(b.status.code).not.toBe(SpanStatusCode.ERROR);
    const work = spans.filter((s) => s.name === "f work");
    expect(work.length).toBe(1);
    expect(work[0]!.status.code).not.toBe(SpanStatusCode.ERROR);
    const [itemSpan] = itemSpans(spans);
    expect(attr(itemSpan!, "flowrhythm.item.outcome")).toBe("dropped");
    expect(itemSpan!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("untrace() mid-run ends the calls' spans as they stand, not failed; a context manager that throws fails no item", async () => {
    const { exporter, tracerProvider } = provider();
    const f = new Flow<number>().setConsumer(() => sleep(systemClock, 30), { name: "s" });
    const untrace = traceItems(f, { tracerProvider, sampleRate: 1 });
    const done = f.run([1]);
    await sleep(systemClock, 10);
    untrace();
    await done;
    const [attempt] = exporter.getFinishedSpans().filter((s) => s.name === "flow s");
    expect(attempt!.status.code).not.toBe(SpanStatusCode.ERROR);

    context.disable();
    context.setGlobalContextManager(
      throwingContextManager(() => {
        throw new Error("context manager broke");
      }),
    );
    try {
      const g = new Flow<number>({ errorHandler: () => {} }).setConsumer((x: number) => {
        seen.push(x);
      });
      const seen: number[] = [];
      traceItems(g, { tracerProvider, sampleRate: 1 });
      await g.run([1, 2, 3]);
      expect(seen).toEqual([1, 2, 3]);
      expect(g.stats().failed).toBe(0);
    } finally {
      context.disable();
      context.setGlobalContextManager(manager.enable());
    }
  });

  it("a fanOut branch that runs on after its item's outcome opens no second item span; none stay open across runs", async () => {
    const { exporter } = provider();
    const started = new Set<unknown>();
    const ended = new Set<unknown>();
    const tracking = {
      onStart: (s: { spanContext(): { spanId: string } }) => void started.add(s.spanContext().spanId),
      onEnd: (s: ReadableSpan) => void ended.add(s.spanContext().spanId),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const both = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter), tracking as never],
    });
    const sub = new Flow<number>()
      .addTransformer(async (v: number) => {
        await sleep(systemClock, 15);
        return v;
      })
      .addTransformer((v: number) => v);
    const f = new Flow<number>({ name: "f", errorHandler: () => {} })
      .addTransformer(
        fanOut(
          [
            async function bad(): Promise<number> {
              await sleep(systemClock, 2);
              throw new Error("bad");
            },
            sub,
          ],
          (r) => r,
          { name: "fo" },
        ),
      )
      .setConsumer(() => {});
    traceItems(f, { tracerProvider: both, sampleRate: 1 });
    await f.run([1, 2, 3]);
    // The run has ended: a branch call still running past its item's outcome has its span ended.
    expect([...started].filter((id) => !ended.has(id))).toEqual([]);
    await sleep(systemClock, 40);
    await f.run([4, 5]);
    await sleep(systemClock, 40);
    const items = itemSpans(exporter.getFinishedSpans());
    expect(items.length).toBe(5);
    expect(new Set(items.map((s) => attr(s, "flowrhythm.item.outcome")))).toEqual(new Set(["failed"]));
    expect([...started].filter((id) => !ended.has(id))).toEqual([]);
  });

  it("a context manager that throws after calling the stage keeps the call's own result", async () => {
    const { tracerProvider } = provider();
    context.disable();
    context.setGlobalContextManager(
      throwingContextManager((_c, fn, thisArg, ...args) => {
        fn.apply(thisArg, args);
        throw new Error("cm boom");
      }),
    );
    try {
      const errors: unknown[] = [];
      const g = new Flow<number>({
        errorHandler: (e) => void errors.push("error" in e ? e.error : e),
      }).setConsumer(async (x: number) => {
        await sleep(systemClock, 2);
        if (x === 2) throw new Error("user rejects");
      });
      traceItems(g, { tracerProvider, sampleRate: 1 });
      await g.run([1, 2, 3]);
      expect(g.stats().consumed).toBe(2);
      expect(errors.map((e) => (e as Error).message)).toEqual(["user rejects"]);
    } finally {
      context.disable();
      context.setGlobalContextManager(manager.enable());
    }
  });

  it("ends a hung call's span, failed, when stop() gives up on it", async () => {
    const { exporter, tracerProvider } = provider();
    const f = new Flow<number>({ closeTimeoutMs: 50 }).setConsumer(() => new Promise(() => {}), {
      name: "s",
    });
    traceItems(f, { tracerProvider, sampleRate: 1 });
    const done = f.run([1, 2, 3]);
    await new Promise((r) => setTimeout(r, 20));
    await f.stop();
    await done.catch(() => {});
    const spans = exporter.getFinishedSpans().filter((s) => s.name === "flow s");
    expect(spans.length).toBeGreaterThan(0);
    for (const s of spans) expect(s.status.code).toBe(SpanStatusCode.ERROR);
    expect(itemSpans(exporter.getFinishedSpans()).length).toBe(spans.length);
  });

  it("listens for aborts once per signal: 40 traced calls in flight warn of no listener leak", async () => {
    const { tracerProvider } = provider();
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on("warning", onWarning);
    const f = new Flow<number>().setConsumer(
      async () => {
        await new Promise((r) => setTimeout(r, 20));
      },
      { scalingStrategy: new FixedScaling({ workers: 40 }) },
    );
    traceItems(f, { tracerProvider, sampleRate: 1 });
    await f.run(range(200));
    await new Promise((r) => setImmediate(r));
    process.off("warning", onWarning);
    expect(warnings).not.toContain("MaxListenersExceededWarning");
    expect(f.stats().consumed).toBe(200);
  });

  it("refuses what is not a flow, a provider or a rate in [0, 1], naming the option", () => {
    const cases: [unknown, unknown, string][] = [
      [{}, {}, "flow"],
      [new Flow(), { tracerProvider: {} }, "tracerProvider"],
      [new Flow(), { sampleRate: 1.5 }, "sampleRate"],
      [new Flow(), { sampleRate: Number.NaN }, "sampleRate"],
      [new Flow(), { sampelRate: 0.1 }, "sampelRate"],
    ];
    for (const [flow, options, option] of cases) {
      let error: unknown;
      try {
        traceItems(flow as never, options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FlowConfigError);
      expect((error as FlowConfigError).option).toBe(option);
    }
  });

  for (const virtual of [true, false])
    it(`ends exactly one item span per sampled item, with the outcome the flow reported (property, ${virtual ? "virtual time" : "real timers"})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 40 }),
          fc.integer({ min: 1, max: 3 }),
          fc.boolean(),
          async (items, workers, stopEarly) => {
            const { exporter, tracerProvider } = provider();
            const clock = virtual ? new VirtualClock() : systemClock;
            const f = new Flow<number>({ clock, errorHandler: () => {} })
              .addTransformer(
                async (x: number) => {
                  await sleep(clock, 1 + (x % 5));
                  if (x % 7 === 0) throw new Error("seven");
                  return x % 5 === 0 ? Skip : x;
                },
                { name: "a", scalingStrategy: new FixedScaling({ workers }) },
              )
              .addTransformer(
                flatMap((x: number) => (x % 3 === 0 ? [x, x] : [x])),
                { name: "b" },
              )
              .setConsumer(() => {}, { name: "c" });
            const outcomes = new Map<number, string>();
            f.on("itemError", (e) => void outcomes.set(e.id, "failed"));
            f.on("skip", (e) => void outcomes.set(e.id, "skipped"));
            f.on("expand", (e) => void outcomes.set(e.id, "expanded"));
            f.on("drop", (e) => void outcomes.set(e.id, "dropped"));
            traceItems(f, { tracerProvider, sampleRate: 0.5 });
            if (stopEarly) clock.setTimeout(() => void f.stop(), 7);
            f.setProducer(items);
            if (clock instanceof VirtualClock) await runVirtual(f, clock);
            else await f.run();
            const spans = itemSpans(exporter.getFinishedSpans());
            const ids = spans.map((s) => attr(s, "flowrhythm.item.id") as number);
            expect(new Set(ids).size).toBe(ids.length);
            for (const s of spans) {
              const id = attr(s, "flowrhythm.item.id") as number;
              expect(attr(s, "flowrhythm.item.outcome")).toBe(outcomes.get(id) ?? "consumed");
            }
            // Every item with a finished stage span has its own span ended: no item trace is left open.
            const called = exporter
              .getFinishedSpans()
              .filter((s) => !s.name.endsWith(" item"))
              .map((s) => attr(s, "flowrhythm.item.id") as number);
            for (const id of called) expect(ids).toContain(id);
          },
        ),
        { numRuns: virtual ? 60 : 15 },
      );
    });
});

// Keep the global API quiet for the other files of the run.
afterAll(() => {
  trace.disable();
});
