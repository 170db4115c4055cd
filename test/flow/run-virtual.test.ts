import { describe, expect, it } from "vitest";
import { Flow, FlowConfigError, systemClock } from "../../src/index.js";
import { runVirtual, VirtualClock } from "../../src/testing.js";

const flowOn = (clock: VirtualClock) =>
  new Flow({ clock })
    .setProducer(() => [1, 2, 3])
    .setConsumer(async () => {
      await new Promise<void>((r) => clock.setTimeout(r, 10));
    });

/** The FlowConfigError `call` rejects with (synchronously thrown ones included). */
async function configError(call: () => Promise<unknown>): Promise<FlowConfigError> {
  const error = await Promise.resolve()
    .then(call)
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(FlowConfigError);
  return error as FlowConfigError;
}

describe("runVirtual refuses bad input, naming the option, the value and what was expected", () => {
  it("a flow that is not a Flow", async () => {
    for (const flow of [null, {}, "flow"]) {
      const e = await configError(() => runVirtual(flow as never, new VirtualClock()));
      expect(e.option).toBe("flow");
      expect(e.message).toMatch(/runVirtual: flow = .*: expected a Flow/);
    }
  });

  it("a clock that is not a VirtualClock", async () => {
    const e = await configError(() => runVirtual(flowOn(new VirtualClock()), systemClock as never));
    expect(e.option).toBe("clock");
    expect(e.message).toMatch(/expected a VirtualClock/);
  });

  it("a flow built without the clock (it runs on the system clock), or on another virtual clock", async () => {
    const clock = new VirtualClock();
    const real = new Flow().setProducer([1]).setConsumer(() => {});
    const e = await configError(() => runVirtual(real, clock));
    expect(e.option).toBe("clock");
    expect(e.message).toMatch(/the VirtualClock the flow was built with/);
    expect(real.stats().state).toBe("idle");
    const other = new VirtualClock(1_000);
    expect((await configError(() => runVirtual(flowOn(other), clock))).option).toBe("clock");
  });

  it("a flow on another virtual clock at the same time is not told apart, but the run still ends, saying why", async () => {
    const clock = new VirtualClock();
    const other = new VirtualClock();
    const f = flowOn(other);
    const error = await runVirtual(f, clock, { maxMs: 1_000 }).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/stopping it did not end either: is the flow on this clock\?/);
    await other.runUntil(() => f.stats().state === "stopped", { stepMs: 5, maxMs: 60_000 });
  });

  it("options that are not an object, or hold an unknown key (a typo would be ignored otherwise)", async () => {
    const clock = new VirtualClock();
    for (const options of [null, "fast", 5, [1]])
      expect((await configError(() => runVirtual(flowOn(clock), clock, options as never))).option).toBe(
        "options",
      );
    const e = await configError(() => runVirtual(flowOn(clock), clock, { maxMS: 10 } as never));
    expect(e.option).toBe("maxMS");
    expect(e.message).toMatch(/option "maxMS" = 10: expected no such option/);
  });

  it("stepMs and maxMs that are not finite numbers > 0", async () => {
    for (const [option, value] of [
      ["stepMs", Number.NaN],
      ["stepMs", -1],
      ["stepMs", 0],
      ["stepMs", Number.POSITIVE_INFINITY],
      ["stepMs", "5"],
      ["maxMs", Number.NaN],
      ["maxMs", -5],
      ["maxMs", Number.POSITIVE_INFINITY],
    ] as const) {
      const clock = new VirtualClock();
      const e = await configError(() => runVirtual(flowOn(clock), clock, { [option]: value } as never));
      expect(e.option).toBe(option);
      expect(e.message).toContain(`runVirtual: option "${option}" = `);
      expect(e.message).toMatch(/expected a finite number > 0/);
    }
  });

  it("a step too small to reach maxMs in a bounded number of steps, or to move the clock at all", async () => {
    const clock = new VirtualClock();
    const e = await configError(() => runVirtual(flowOn(clock), clock, { stepMs: 0.0001 }));
    expect(e.option).toBe("stepMs");
    expect(e.message).toMatch(/stepMs" = 0.0001: expected a step that reaches maxMs = 3600000/);
    const late = new VirtualClock(1e9);
    // 1e9 + 1e-9 === 1e9: such a step would never move the clock.
    await configError(() => runVirtual(flowOn(late), late, { stepMs: 1e-9, maxMs: 1e-3 }));
  });
});

describe("runVirtual runs a flow to its end, once or again", () => {
  it("runs a flow whose function ran again after a first run", async () => {
    const clock = new VirtualClock();
    const f = flowOn(clock);
    await runVirtual(f, clock);
    await runVirtual(f, clock);
    expect(f.stats().consumed).toBe(3);
    expect(clock.now()).toBeGreaterThanOrEqual(60);
  });

  it("gives up on a run that does not end: rejects saying so, and stops the flow", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock }).setProducer([1, 2]).setConsumer(() => new Promise(() => {}));
    f.setErrorHandler(() => {});
    const error = await runVirtual(f, clock, { maxMs: 1_000 }).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      /runVirtual: the run had not ended after maxMs = 1000 ms of virtual time \(\d+ in flight/,
    );
    expect(f.stats().state).toBe("stopped");
    expect(f.stats().inFlight).toBe(0);
  });
});
