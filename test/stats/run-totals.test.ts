import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixedScaling, Flow, FlowConfigError, type FlowStats } from "../../src/index.js";
import { tapTimings } from "../../src/flow/observe.js";
import { range, runVirtual, sleep, VirtualClock } from "../helpers.js";

/** A flow of one stage that takes `ms` of virtual time per item, one worker. */
const timed = (clock: VirtualClock, ms = 10, options: { name?: string } = {}) =>
  new Flow<number>({ clock, ...options }).addTransformer(
    async (x: number) => {
      await sleep(clock, ms);
      return x;
    },
    { name: "work" },
  );

/** Runs `flow` on `clock`, reading `stats()` every `everyMs` of virtual time while it runs. */
async function readings(flow: Flow<any, any>, clock: VirtualClock, everyMs: number): Promise<FlowStats[]> {
  const seen: FlowStats[] = [];
  let on = true;
  const read = (): void => {
    if (!on) return;
    seen.push(flow.stats());
    clock.setTimeout(read, everyMs);
  };
  clock.setTimeout(read, everyMs);
  await runVirtual(flow, clock);
  on = false;
  return seen;
}

describe("stats(): total and ETA", () => {
  it("knows the total of an array, a typed array, a Set, a Map, and a function returning one", async () => {
    const sources: [unknown, number][] = [
      [range(7), 7],
      [new Uint8Array(5), 5],
      [new Set([1, 2, 3]), 3],
      [new Map([[1, 1]]), 1],
      [() => range(4), 4],
    ];
    for (const [source, n] of sources) {
      const clock = new VirtualClock();
      const f = timed(clock).setProducer(source as never);
      const seen = await readings(f, clock, 5);
      expect(seen[0]!.total).toBe(n);
      expect(f.stats().total).toBe(n);
    }
  });

  it("does not know a generator's, unless run() is told (`total`)", async () => {
    const clock = new VirtualClock();
    function* gen() {
      yield* range(6);
    }
    const f = timed(clock).setProducer(gen);
    const seen = await readings(f, clock, 5);
    const running = seen.filter((s) => s.state === "running");
    expect(running.length).toBeGreaterThan(3);
    expect(running.every((s) => s.total === null && s.etaMs === null)).toBe(true);

    const g = timed(clock).setConsumer(() => {});
    let ended = false;
    const done = g.run(gen(), { total: 6 }).then(() => {
      ended = true;
    });
    await clock.advance(5);
    expect(g.stats().total).toBe(6);
    expect(g.stats().etaMs).toBeNull(); // no item has finished yet
    await clock.runUntil(() => ended);
    await done;
    expect(g.stats().consumed).toBe(6);
  });

  it("counts down the ETA at the mean pace since the start, and reads 0 once the run ended", async () => {
    const clock = new VirtualClock();
    const f = timed(clock, 10).setProducer(range(20));
    const seen = (await readings(f, clock, 25)).filter((s) => s.state === "running");
    const etas = seen.map((s) => s.etaMs);
    expect(etas.length).toBeGreaterThan(5);
    const known = seen.filter((s) => s.etaMs !== null);
    expect(known.length).toBeGreaterThan(3);
    for (const s of known.filter((k) => k.consumed >= 5)) {
      // One worker, 10 ms an item: what is left takes (20 − done) × 10 ms; the mean pace since
      // the start counts the item in progress as not done, so allow a quarter and an item.
      const left = (20 - s.consumed) * 10;
      expect(Math.abs(s.etaMs! - left)).toBeLessThanOrEqual(left / 4 + 10);
    }
    // It counts down.
    for (let i = 1; i < known.length; i++) expect(known[i]!.etaMs!).toBeLessThanOrEqual(known[i - 1]!.etaMs!);
    expect(f.stats().etaMs).toBe(0);
  });

  it("never reads an ETA below 0 or a total that is not the source's, whatever the source (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer(), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (items, workers) => {
          const clock = new VirtualClock();
          const f = new Flow<number>({ clock }).setProducer(items).addTransformer(
            async (x: number) => {
              await sleep(clock, 1 + (Math.abs(x) % 7));
              return x;
            },
            { scalingStrategy: new FixedScaling({ workers }) },
          );
          const seen = await readings(f, clock, 3);
          for (const s of seen) {
            expect(s.total).toBe(items.length);
            if (s.etaMs !== null) expect(s.etaMs).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("an array's size read through a hostile proxy is unknown, not a failed source", async () => {
    const clock = new VirtualClock();
    const arr = [1, 2, 3];
    let reads = 0;
    const proxy = new Proxy(arr, {
      get(t, p, r) {
        // The size is read first: that read throws; iterating later works.
        if (p === "length" && reads++ === 0) throw new Error("no length for you");
        return Reflect.get(t, p, r);
      },
    });
    const f = timed(clock).setProducer(proxy);
    await runVirtual(f, clock);
    expect(f.stats().total).toBeNull();
    expect(f.stats().consumed).toBe(3);
  });

  it("reads a size that is not a whole number ≥ 0 as unknown (a Set subclass, a proxy's length)", async () => {
    class Vague extends Set<number> {
      override get size(): number {
        return "unknown" as never;
      }
    }
    const negative = new Proxy([1, 2], {
      get: (t, p, r) => (p === "length" ? -5 : Reflect.get(t, p, r)),
    });
    for (const source of [new Vague([1, 2, 3]), negative]) {
      const clock = new VirtualClock();
      const f = timed(clock).setProducer(source as never);
      await runVirtual(f, clock);
      expect(f.stats().total).toBeNull();
    }
  });

  it("refuses a `total` that is not a whole number ≥ 0, naming the option", async () => {
    for (const total of [-1, 1.5, "3", Number.NaN]) {
      const f = new Flow().setConsumer(() => {});
      const e = await f.run([1], { total } as never).then(
        () => null,
        (error: unknown) => error,
      );
      expect(e).toBeInstanceOf(FlowConfigError);
      expect((e as FlowConfigError).option).toBe("total");
    }
  });
});

describe("the flow's name", () => {
  it('is "flow" by default, the option otherwise, and read from stats()', async () => {
    expect(new Flow().name).toBe("flow");
    const clock = new VirtualClock();
    const f = timed(clock, 1, { name: "ingest" }).setProducer([1]);
    expect(f.name).toBe("ingest");
    expect(f.stats().name).toBe("ingest");
    await runVirtual(f, clock);
    expect(f.stats().name).toBe("ingest");
  });

  it("refuses an empty or non-string name", () => {
    for (const name of ["", 3, null]) {
      expect(() => new Flow({ name } as never)).toThrow(FlowConfigError);
      try {
        new Flow({ name } as never);
      } catch (e) {
        expect((e as FlowConfigError).option).toBe("name");
      }
    }
  });
});

describe("StageStats.peakWorkers", () => {
  it("keeps the most workers a stage had at once after it shrank", async () => {
    const clock = new VirtualClock();
    let workers = 1;
    const strategy = {
      initialWorkers: () => 1,
      onEnqueue: () => 0,
      onDequeue: () => 0,
      onTick: (s: { activeWorkers: number }) => workers - s.activeWorkers,
    };
    const f = timed(clock, 5)
      .setProducer(range(200))
      .configure("work", { scalingStrategy: strategy as never });
    clock.setTimeout(() => {
      workers = 4;
    }, 50);
    clock.setTimeout(() => {
      workers = 2;
    }, 300);
    await runVirtual(f, clock);
    const s = f.stageStats("work")!;
    expect(s.peakWorkers).toBe(4);
    expect(s.activeWorkers).toBeLessThan(4);
  });
});

describe("tapTimings", () => {
  it("hands a sink the timed samples of every stage, keeps going past a sink that throws, and stops when untapped", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock, timingSampleEvery: 1 })
      .setProducer(range(50))
      .addTransformer(
        async (x: number) => {
          await sleep(clock, 4);
          return x;
        },
        { name: "a" },
      )
      .setConsumer(() => {}, { name: "b" });
    const got = new Map<string, number[]>();
    tapTimings(f, () => {
      throw new Error("a broken exporter");
    });
    const untap = tapTimings(f, (stage, kind, samples, n) => {
      const key = `${stage}/${kind}`;
      const list = got.get(key) ?? [];
      for (let i = 0; i < n; i++) list.push(samples[i]!);
      got.set(key, list);
    });
    await runVirtual(f, clock);
    const a = f.stageStats("a")!;
    expect(got.get("a/processing")!.length).toBe(a.timedItems);
    expect(got.get("a/processing")!.every((ms) => ms >= 4 - 1e-9)).toBe(true);
    expect(got.get("a/queueWait")!.length).toBe(a.timedItems);
    expect(got.get("b/processing")!.length).toBe(f.stageStats("b")!.timedItems);
    expect(f.stats().consumed).toBe(50);

    untap();
    got.clear();
    await runVirtual(f.setProducer(range(5)), clock);
    expect(got.size).toBe(0);
  });
});
