import { afterEach, describe, expect, it, vi } from "vitest";
import { Flow } from "../../../src/index.js";
import { perWorker } from "../../../src/index.js";
import { FlowConfigError } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { UtilizationScaling } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

function tracked(clock: VirtualClock, ms: number) {
  const log = { opened: [] as number[], closed: [] as number[], byWorker: new Map<number, number>() };
  const stage = perWorker(async (worker) => {
    await sleep(clock, 1);
    log.opened.push(worker.id);
    return {
      async process(x: number, ctx) {
        await sleep(clock, ms, ctx.signal);
        log.byWorker.set(worker.id, (log.byWorker.get(worker.id) ?? 0) + 1);
        if (x < 0) throw new Error("negative");
        return x;
      },
      async close() {
        log.closed.push(worker.id);
      },
    };
  });
  return { log, stage };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("perWorker", () => {
  it("runs the factory once per worker and close once per worker when the input ends", async () => {
    const clock = new VirtualClock();
    const { log, stage } = tracked(clock, 5);
    const f = new Flow({ clock })
      .setProducer(range(30))
      .addTransformer(stage, { scalingStrategy: new FixedScaling({ workers: 3 }) })
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(log.opened.sort()).toEqual([1, 2, 3]);
    expect(log.closed.sort()).toEqual([1, 2, 3]);
    expect([...log.byWorker.values()].reduce((a, b) => a + b)).toBe(30);
  });

  it("closes retired workers on scale-down", async () => {
    const clock = new VirtualClock();
    const { log, stage } = tracked(clock, 10);
    const f = new Flow({ clock, tickMs: 10 })
      .setProducer(async function* () {
        for (let i = 0; i < 60; i++) yield i;
        await sleep(clock, 2000); // idle: the stage shrinks back
        yield 60;
      })
      .addTransformer(stage, {
        name: "work",
        scalingStrategy: new UtilizationScaling({
          minWorkers: 1,
          maxWorkers: 4,
          cooldownMs: 20,
          dampening: 1,
        }),
      })
      .setConsumer(() => {});
    const scales: number[] = [];
    f.on("scale", (e) => scales.push(e.to));
    await runVirtual(f, clock);
    expect(Math.max(...scales)).toBe(4);
    // Back down to one worker during the idle period (the last item may scale it up again).
    expect(scales.lastIndexOf(1)).toBeGreaterThan(scales.indexOf(4));
    // Every worker ever opened was closed exactly once.
    expect(log.closed.sort((a, b) => a - b)).toEqual(log.opened.sort((a, b) => a - b));
    expect(new Set(log.closed).size).toBe(log.closed.length);
  });

  it("closes every worker on stop(), also while they are busy", async () => {
    const clock = new VirtualClock();
    const { log, stage } = tracked(clock, 1000);
    const f = new Flow({ clock })
      .setProducer(range(100))
      .addTransformer(stage, { scalingStrategy: new FixedScaling({ workers: 4 }) })
      .setConsumer(() => {});
    await f.start();
    await clock.advance(10);
    await f.stop();
    expect(log.opened).toHaveLength(4);
    expect(log.closed.sort()).toEqual([1, 2, 3, 4]);
  });

  it("keeps a worker (and its resource) after its function throws, and closes it at the end", async () => {
    const clock = new VirtualClock();
    const { log, stage } = tracked(clock, 1);
    const f = new Flow({ clock })
      .setProducer([1, -1, 2, -2, 3])
      .addTransformer(stage)
      .setConsumer(() => {})
      .setErrorHandler(() => {});
    await runVirtual(f, clock);
    expect(log.opened).toEqual([1]);
    expect(log.closed).toEqual([1]);
    expect(f.stats()).toMatchObject({ consumed: 3, failed: 2 });
  });

  it("logs a close() that throws and finishes the flow", async () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    await new Flow()
      .setProducer([1, 2])
      .setConsumer(
        perWorker(() => ({
          process: () => {},
          close: () => {
            throw new Error("close broke");
          },
        })),
      )
      .run();
    expect(err).toHaveBeenCalledOnce();
    expect(String(err.mock.calls[0]?.[0])).toMatch(/close\(\) threw/);
  });

  it("closes every worker when a stream() loop breaks early", async () => {
    const clock = new VirtualClock();
    const { log, stage } = tracked(clock, 1);
    const f = new Flow({ clock }).addTransformer(stage, {
      scalingStrategy: new FixedScaling({ workers: 3 }),
    });
    const it = f.stream(range(100))[Symbol.asyncIterator]();
    const first = it.next();
    await clock.runUntil(() => log.byWorker.size > 0);
    expect((await first).value).toBe(0);
    const closing = it.return!();
    await clock.runUntil(() => f.stats().state === "stopped");
    await closing;
    expect(log.opened).toHaveLength(3);
    expect(log.closed.sort()).toEqual([1, 2, 3]);
    expect(f.stats().inFlight).toBe(0);
  });

  it("rejects a non-function factory", () => {
    expect(() => perWorker(42 as never)).toThrow(FlowConfigError);
  });
});
