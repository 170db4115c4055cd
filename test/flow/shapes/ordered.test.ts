import { describe, expect, it } from "vitest";
import { batch } from "../../../src/index.js";
import type { FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { Last } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

const workers = (n: number) => ({ scalingStrategy: new FixedScaling({ workers: n }) });

describe("ordered: true", () => {
  it("keeps input order across many workers whose calls finish out of order", async () => {
    const clock = new VirtualClock();
    const unordered: number[] = [];
    const ordered: number[] = [];
    for (const [out, ordering] of [
      [unordered, false],
      [ordered, true],
    ] as const) {
      const f = new Flow({ clock })
        .setProducer(range(50))
        .addTransformer(
          async (x: number) => {
            await sleep(clock, (x * 37) % 11);
            return x;
          },
          { ...workers(6), ordered: ordering },
        )
        .setConsumer((x) => void out.push(x));
      await runVirtual(f, clock);
    }
    expect(unordered).not.toEqual(range(50)); // the workers really did finish out of order
    expect(ordered).toEqual(range(50));
  });

  it("skips a failed item instead of stalling the items behind it", async () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock })
      .setProducer(range(20))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, x % 3 === 0 ? 9 : 1);
          if (x % 4 === 0) throw new Error(`no ${x}`);
          return x;
        },
        { ...workers(4), ordered: true },
      )
      .setConsumer((x) => void out.push(x))
      .setErrorHandler((e) => void events.push(e));
    await runVirtual(f, clock);
    expect(out).toEqual(range(20).filter((x) => x % 4 !== 0));
    expect(events.map((e) => (e as { item: number }).item).sort((a, b) => a - b)).toEqual([0, 4, 8, 12, 16]);
  });

  it("bounds the reorder buffer by the queue size: a slow head item holds the stage back", async () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    let maxWaiting = 0;
    let sawBlocked = false;
    const f = new Flow({ clock });
    f.setProducer(range(40))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, x === 0 ? 500 : 1);
          return x;
        },
        { ...workers(4), ordered: true, queueSize: 3, name: "o" },
      )
      .setConsumer((x) => void out.push(x));
    await f.start();
    for (let t = 0; t < 600; t += 5) {
      const s = f.stageStats("o")!;
      // Outputs done but not handed on = processed − what the consumer received.
      maxWaiting = Math.max(maxWaiting, s.processed - (f.stageStats("consumer")?.received ?? 0));
      if (s.blockedWorkers > 0) sawBlocked = true;
      await clock.advance(5);
    }
    await clock.runUntil(() => f.stats().state === "drained");
    expect(out).toEqual(range(40));
    expect(sawBlocked).toBe(true);
    // At most queueSize outputs wait, plus one per worker that could not file its slot.
    expect(maxWaiting).toBeLessThanOrEqual(3 + 4);
    // While item 0 took 500 ms, the other workers did not race through all 40 items.
    expect(maxWaiting).toBeGreaterThanOrEqual(3);
  });

  it("orders batches, and keeps the items before an ordered Last", async () => {
    const clock = new VirtualClock();
    const out: number[] = [];
    const f = new Flow({ clock })
      .setProducer(range(30))
      .addTransformer(
        batch(
          async (xs: number[]) => {
            await sleep(clock, xs[0]! % 4 === 0 ? 8 : 1);
            return xs;
          },
          { size: 2 },
        ),
        { ...workers(3), ordered: true },
      )
      .addTransformer(
        async (x: number) => {
          await sleep(clock, x % 2 ? 1 : 6);
          return x === 17 ? Last(x) : x;
        },
        { ...workers(4), ordered: true, name: "cut" },
      )
      .setConsumer((x) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual(range(18));
    expect(f.stats().consumed + f.stats().dropped).toBe(f.stats().itemsIn);
  });
});
