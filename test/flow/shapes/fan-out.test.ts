import { describe, expect, it } from "vitest";
import type { FlowErrorEvent } from "../../../src/index.js";
import { fanOut } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { Last } from "../../../src/index.js";
import { router } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

/** A deterministic pseudo-random delay per item and branch. */
const jitter = (x: number, salt: number) => ((x * 7919 + salt * 104_729) % 13) + 1;

describe("fanOut", () => {
  it("sends every item to every branch and merges the results in branch order", async () => {
    const merged: unknown[][] = [];
    await new Flow()
      .setProducer(range(5))
      .addTransformer(
        fanOut(
          [(x: number) => x * 2, async (x: number) => `s${x}`, (x: number) => x % 2 === 0],
          (results) => results,
        ),
      )
      .setConsumer((r) => void merged.push(r))
      .run();
    expect(merged.sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual(
      range(5).map((x) => [x * 2, `s${x}`, x % 2 === 0]),
    );
  });

  it("keeps results aligned with their item across several workers at different speeds", async () => {
    const clock = new VirtualClock();
    const pairs: [number, string, number][] = [];
    const f = new Flow({ clock })
      .setProducer(range(60))
      .addTransformer(
        fanOut(
          [
            async function slow(x: number) {
              await sleep(clock, jitter(x, 1) * 3);
              return x;
            },
            async function fast(x: number) {
              await sleep(clock, jitter(x, 2));
              return `#${x}`;
            },
            async function middle(x: number) {
              await sleep(clock, jitter(x, 3) * 2);
              return -x;
            },
          ],
          ([a, b, c]) => [a, b, c] as [number, string, number],
          { name: "enrich" },
        ),
      )
      .configure("enrich.slow", { scalingStrategy: new FixedScaling({ workers: 5 }) })
      .configure("enrich.fast", { scalingStrategy: new FixedScaling({ workers: 2 }) })
      .configure("enrich.middle", { scalingStrategy: new FixedScaling({ workers: 3 }) })
      .setConsumer((r) => void pairs.push(r));
    await runVirtual(f, clock);
    expect(pairs).toHaveLength(60);
    for (const [a, b, c] of pairs) {
      expect(b).toBe(`#${a}`);
      expect(c).toBe(-a);
    }
    expect(new Set(pairs.map(([a]) => a)).size).toBe(60);
    // Results arrived out of input order, so alignment was not an accident of order.
    expect(pairs.map(([a]) => a)).not.toEqual(range(60));
    expect(f.stats().stages.map((s) => s.stageName)).toEqual([
      "enrich.slow",
      "enrich.fast",
      "enrich.middle",
      "enrich",
      "consumer",
    ]);
  });

  it("makes an item whose branch fails one TransformerError of the fan-out stage, with no stray results", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const merged: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(30))
      .addTransformer(
        fanOut(
          [
            async (x: number) => {
              await sleep(clock, jitter(x, 4));
              if (x % 5 === 0) throw new Error(`a${x}`);
              return x;
            },
            async (x: number) => {
              await sleep(clock, jitter(x, 5));
              if (x % 3 === 0) throw new Error(`b${x}`);
              return x;
            },
          ],
          ([a, b]) => {
            expect(a).toBe(b);
            return a;
          },
          { name: "both" },
        ),
        { scalingStrategy: new FixedScaling({ workers: 2 }) },
      )
      .configure("both.branch1", { scalingStrategy: new FixedScaling({ workers: 3 }) })
      .setConsumer((x) => void merged.push(x))
      .setErrorHandler((e) => void events.push(e));
    await runVirtual(f, clock);
    const failing = range(30).filter((x) => x % 5 === 0 || x % 3 === 0);
    expect(events.every((e) => e.type === "TransformerError" && e.stage === "both")).toBe(true);
    expect(events.map((e) => (e as { item: number }).item).sort((a, b) => a - b)).toEqual(failing);
    expect(merged.sort((a, b) => a - b)).toEqual(range(30).filter((x) => !failing.includes(x)));
    expect(f.stats()).toMatchObject({
      itemsIn: 30,
      failed: failing.length,
      consumed: 30 - failing.length,
      inFlight: 0,
    });
    // Each branch counts its own failures; the item is reported once.
    expect(f.stageStats("both.branch1")!.errors).toBe(6);
    expect(f.stageStats("both.branch2")!.errors).toBe(10);
  });

  it("reports a failing merge as a TransformerError of the fan-out stage with the original item", async () => {
    const events: FlowErrorEvent[] = [];
    const f = new Flow()
      .setProducer(["a", "b"])
      .addTransformer(
        fanOut([(s: string) => s.toUpperCase(), (s: string) => s.length], ([u]) => {
          if (u === "B") throw new Error("no B");
          return u;
        }),
      )
      .setConsumer(() => {})
      .setErrorHandler((e) => void events.push(e));
    await f.run();
    expect(events).toEqual([
      expect.objectContaining({ type: "TransformerError", item: "b", stage: "fanOut", attempt: 1 }),
    ]);
  });

  it("runs branches that are flows, routers and fan-outs", async () => {
    const out: string[] = [];
    const words = new Flow<number>()
      .addTransformer((x: number) => x + 1, { name: "inc" })
      .addTransformer((x: number) => `n${x}`, { name: "word" });
    await new Flow()
      .setProducer(range(4))
      .addTransformer(
        fanOut(
          [
            words,
            router(
              (x: number) => (x % 2 ? "odd" : "even"),
              { odd: () => "O", even: () => "E" },
              { name: "kind" },
            ),
            fanOut([(x: number) => x * 10, (x: number) => x * 100], ([a, b]) => a + b, { name: "sum" }),
          ],
          ([w, k, s]) => `${w}/${k}/${s}`,
          { name: "all" },
        ),
      )
      .setConsumer((s) => void out.push(s))
      .run();
    expect(out.sort()).toEqual(["n1/E/0", "n2/O/110", "n3/E/220", "n4/O/330"]);
  });

  it("reports each item once when stopped with results half collected", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock })
      .setProducer(range(50))
      .addTransformer(
        fanOut(
          [
            (x: number) => x,
            async (x: number, ctx) => {
              await sleep(clock, 20, ctx.signal);
              return x;
            },
          ],
          ([a]) => a,
        ),
      )
      .setConsumer(() => {})
      .setErrorHandler((e) => void events.push(e));
    await f.start();
    await clock.advance(50);
    await f.stop();
    const s = f.stats();
    const ids = events.map((e) => (e as { item: number }).item);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events.every((e) => e.type === "Dropped" && e.reason === "STOPPED" && e.stage === "fanOut")).toBe(
      true,
    );
    expect(s.consumed + s.dropped).toBe(s.itemsIn);
    expect(s.inFlight).toBe(0);
  });

  it("reports Last inside a branch as a TransformerError, and ends the flow on a Last from merge", async () => {
    const events: FlowErrorEvent[] = [];
    const seen: number[] = [];
    const f = new Flow()
      .setProducer(range(10))
      .addTransformer(
        fanOut([(x: number) => (x === 1 ? Last(x) : x), (x: number) => x], ([a]) => (a === 4 ? Last(a) : a)),
      )
      .setConsumer((x) => void seen.push(x))
      .setErrorHandler((e) => void events.push(e));
    await f.run();
    expect(events[0]).toMatchObject({ type: "TransformerError", item: 1, stage: "fanOut" });
    expect(String((events[0] as { error: unknown }).error)).toMatch(/inside a fan-out branch/);
    expect(seen).toEqual([0, 2, 3, 4]);
    const s = f.stats();
    expect(s.consumed + s.failed + s.dropped).toBe(s.itemsIn);
    expect(s.droppedByReason.UPSTREAM_TERMINATED).toBe(s.dropped);
  });
});
