import { describe, expect, it } from "vitest";
import { FixedScaling, Flow, perWorker } from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

/**
 * A call that ignores its signal is abandoned at its `timeoutMs`: the worker goes on. A plain
 * stage has nothing the call could still be using, so nothing waits for it; a `perWorker`
 * resource closes only after it (or `closeTimeoutMs`), and the worker waiting for that holds no
 * item and counts as gone.
 */
describe("calls abandoned by timeoutMs", () => {
  it("hold nothing in a plain stage: the run ends with its last item, not closeTimeoutMs later", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock, closeTimeoutMs: 5000, errorHandler: () => {} })
      .setProducer(range(5))
      .setConsumer((x: number) => (x === 0 ? new Promise<void>(() => {}) : sleep(clock, 5)), {
        timeoutMs: 50,
        scalingStrategy: new FixedScaling({ workers: 2 }),
      });
    await runVirtual(f, clock);
    // Virtual time (no wall clock is read): item 0 gave up at 50 ms, the others took 5 ms each, and
    // the run did not wait closeTimeoutMs (5,000 ms) more for the abandoned call.
    expect(clock.now()).toBeLessThan(100);
    expect(f.stats()).toMatchObject({ state: "drained", consumed: 4, failed: 1, inFlight: 0 });
  });

  it("hold nothing in a plain stage in real time either", async () => {
    // closeTimeoutMs of an hour: a worker that waited for the abandoned call would hold the run
    // past the test's timeout, so the run ending at all is the check (no clock is read).
    const f = new Flow({ closeTimeoutMs: 3_600_000, errorHandler: () => {} }).setConsumer(
      (x: number) => (x === 0 ? new Promise<void>(() => {}) : undefined),
      { timeoutMs: 20 },
    );
    await f.run(range(3));
    expect(f.stats()).toMatchObject({ state: "drained", consumed: 2, failed: 1, inFlight: 0 });
  });

  it("are waited for before a perWorker resource closes, and the waiting worker counts as gone", async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const f = new Flow({ clock, closeTimeoutMs: 5000, errorHandler: () => {} })
      .setProducer(range(6))
      .setConsumer(
        perWorker(() => ({
          async process(x: number) {
            await sleep(clock, x === 1 ? 1000 : 10); // item 1 ignores ctx.signal
            if (x === 1) log.push("late call settled");
          },
          close() {
            log.push(`close at ${clock.now()}`);
          },
        })),
        { timeoutMs: 100, scalingStrategy: new FixedScaling({ workers: 2 }) },
      );
    await f.start();
    await clock.advance(150); // the other worker did items 0, 2–5 by 50 ms; item 1 timed out at 100
    const st = f.stageStats("consumer")!;
    expect(st.totalWorkers).toBe(0); // the worker waiting for item 1's call holds nothing
    expect(st.busyWorkers).toBe(0);
    expect(f.stats().state).not.toBe("drained"); // but the run waits for its resource to close
    expect(log).toEqual(["close at 50"]);
    await runVirtual(f, clock);
    expect(log).toEqual(["close at 50", "late call settled", "close at 1000"]);
    expect(f.stats()).toMatchObject({ state: "drained", consumed: 5, failed: 1 });
  });
});
