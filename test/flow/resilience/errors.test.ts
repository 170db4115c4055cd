import { afterEach, describe, expect, it, vi } from "vitest";
import type { FlowErrorEvent, TransformerError } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { range } from "../../helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("errors", () => {
  it("reports a throwing transformer as TransformerError and goes on with the other items", async () => {
    const events: FlowErrorEvent[] = [];
    const itemErrors: TransformerError[] = [];
    const out: number[] = [];
    const f = new Flow()
      .setProducer(range(10))
      .addTransformer(
        (x: number) => {
          if (x % 3 === 0) throw new Error(`bad ${x}`);
          return x;
        },
        { name: "check" },
      )
      .setConsumer((x) => void out.push(x))
      .setErrorHandler((e) => void events.push(e));
    f.on("itemError", (e) => itemErrors.push(e));
    await f.run();
    expect(out).toEqual([1, 2, 4, 5, 7, 8]);
    expect(events.map((e) => (e.type === "TransformerError" ? e.item : null))).toEqual([0, 3, 6, 9]);
    expect(events[0]).toMatchObject({ type: "TransformerError", stage: "check", attempt: 1 });
    expect((events[0] as TransformerError).error).toBeInstanceOf(Error);
    expect(itemErrors).toHaveLength(4);
    expect(f.stats()).toMatchObject({ failed: 4, consumed: 6, inFlight: 0 });
    expect(f.stageStats("check")).toMatchObject({ errors: 4, processed: 6 });
  });

  it("logs a handler that throws or rejects, and never stops the flow", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    let n = 0;
    const f = new Flow()
      .setProducer(range(6))
      .setConsumer((x: number) => {
        if (x % 2 === 0) throw new Error("x");
      })
      .setErrorHandler(async () => {
        if (n++ % 2 === 0) throw new Error("handler broke");
        return Promise.reject(new Error("handler rejected"));
      });
    await f.run();
    expect(f.stats()).toMatchObject({ consumed: 3, failed: 3 });
    expect(log).toHaveBeenCalledTimes(3);
    expect(String(log.mock.calls[0]?.[0])).toMatch(/error handler (threw|rejected)/);
  });

  it("logs errors to stderr when there is no handler", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    await new Flow()
      .setProducer([1, 2])
      .setConsumer(
        (x: number) => {
          if (x === 2) throw new Error("two");
        },
        { name: "sink" },
      )
      .run();
    expect(log).toHaveBeenCalledOnce();
    expect(String(log.mock.calls[0]?.[0])).toContain('TransformerError in stage "sink"');
  });

  it("reports a source error once and drains what was already produced", async () => {
    const events: FlowErrorEvent[] = [];
    const out: number[] = [];
    const f = new Flow()
      .setProducer(function* () {
        yield 1;
        yield 2;
        throw new Error("source broke");
      })
      .setConsumer((x: number) => void out.push(x))
      .setErrorHandler((e) => void events.push(e));
    await f.run();
    expect(out).toEqual([1, 2]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "SourceError" });
    expect(f.stats().state).toBe("drained");
  });

  it("reports a producer function that returns no iterable as a SourceError", async () => {
    const events: FlowErrorEvent[] = [];
    await new Flow()
      .setProducer((() => 42) as never)
      .setConsumer(() => {})
      .setErrorHandler((e) => void events.push(e))
      .run();
    expect(events).toHaveLength(1);
    expect(String((events[0] as { error: Error }).error.message)).toMatch(
      /producer gave 42; expected an iterable/,
    );
  });

  it("awaits an async handler before the flow ends", async () => {
    const handled: number[] = [];
    await new Flow()
      .setProducer([1, 2, 3])
      .setConsumer(() => {
        throw new Error("no");
      })
      .setErrorHandler(async (e) => {
        await new Promise((r) => setTimeout(r, 1));
        if (e.type === "TransformerError") handled.push(e.item as number);
      })
      .run();
    expect(handled).toEqual([1, 2, 3]);
  });
});
