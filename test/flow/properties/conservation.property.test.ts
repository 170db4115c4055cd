import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { perWorker } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { UtilizationScaling } from "../../../src/index.js";
import { endRun, expectConservation, sleep, VirtualClock } from "../../helpers.js";

interface Item {
  readonly id: number;
}

const stageArb = fc.record({
  workers: fc.integer({ min: 1, max: 4 }),
  adaptive: fc.boolean(),
  queueSize: fc.integer({ min: 1, max: 8 }),
  failEvery: fc.option(fc.integer({ min: 2, max: 7 }), { nil: undefined }),
  delayMs: fc.integer({ min: 0, max: 5 }),
  perWorker: fc.boolean(),
});

const scenarioArb = fc.record({
  stages: fc.array(stageArb, { minLength: 1, maxLength: 5 }),
  items: fc.integer({ min: 0, max: 60 }),
  asyncSource: fc.boolean(),
  end: fc.constantFrom("natural", "drain", "stop"),
  endAtMs: fc.integer({ min: 0, max: 40 }),
});

describe("conservation (property)", () => {
  it("every item reaches exactly one terminal state and the flow never holds more than its capacity", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => {
        const clock = new VirtualClock();
        const consumed: number[] = [];
        const events: FlowErrorEvent[] = [];
        let opened = 0;
        let closed = 0;
        let maxHeld = 0;
        const capacity =
          sc.stages.reduce(
            (sum, s) => sum + s.queueSize + (s.adaptive ? Math.max(s.workers, 4) : s.workers),
            0,
          ) + 1;

        const f = new Flow<Item, Item>({ clock, tickMs: 7 });
        f.setProducer(
          sc.asyncSource
            ? async function* () {
                for (let id = 0; id < sc.items; id++) {
                  maxHeld = Math.max(maxHeld, f.stats().inFlight);
                  if (id % 5 === 0) await sleep(clock, 1);
                  yield { id };
                }
              }
            : function* () {
                for (let id = 0; id < sc.items; id++) {
                  maxHeld = Math.max(maxHeld, f.stats().inFlight);
                  yield { id };
                }
              },
        );
        sc.stages.forEach((s, i) => {
          let n = 0;
          const work = async (item: Item, signal: AbortSignal) => {
            if (s.delayMs > 0) await sleep(clock, s.delayMs, signal);
            if (s.failEvery !== undefined && ++n % s.failEvery === 0) throw new Error(`fail ${item.id}`);
            return item;
          };
          const fn = s.perWorker
            ? perWorker<Item, Item>(() => {
                opened++;
                return { process: (item, ctx) => work(item, ctx.signal), close: () => void closed++ };
              })
            : (item: Item, ctx: { signal: AbortSignal }) => work(item, ctx.signal);
          const scalingStrategy = s.adaptive
            ? new UtilizationScaling({
                minWorkers: 1,
                maxWorkers: Math.max(s.workers, 4),
                cooldownMs: 3,
                dampening: 1,
              })
            : new FixedScaling({ workers: s.workers });
          const options = { name: `s${i}`, scalingStrategy, queueSize: s.queueSize };
          if (i === sc.stages.length - 1)
            f.setConsumer(
              s.perWorker
                ? perWorker<Item, void>(() => {
                    opened++;
                    return {
                      process: async (item, ctx) => {
                        await work(item, ctx.signal);
                        consumed.push(item.id);
                      },
                      close: () => void closed++,
                    };
                  })
                : async (item: Item, ctx) => {
                    await work(item, ctx.signal);
                    consumed.push(item.id);
                  },
              options,
            );
          else f.addTransformer(fn as never, options);
        });
        f.setErrorHandler((e) => void events.push(e));

        await f.start();
        let finished = false;
        void f.wait().then(() => (finished = true));
        await endRun(f, clock, sc.end, sc.endAtMs, () => finished, 120_000);

        const s = f.stats();
        // Conservation: each item taken is in exactly one terminal set.
        const { dropped: droppedIds } = expectConservation(f, consumed, events);
        expect(events.every((e) => e.type !== "Dropped" || e.reason === "STOPPED")).toBe(true);
        if (sc.end !== "stop") expect(droppedIds).toEqual([]);
        if (sc.end === "natural") expect(s.itemsIn).toBe(sc.items);
        // Bounded memory: never more held than queues + workers + the producer's one.
        expect(maxHeld).toBeLessThanOrEqual(capacity);
        // Teardown count = setup count.
        expect(closed).toBe(opened);
        // Every worker is gone.
        for (const st of s.stages) expect(st.totalWorkers).toBe(0);
      }),
      { numRuns: 60, seed: Number(process.env.FC_SEED ?? 20261123) },
    );
  });
});
