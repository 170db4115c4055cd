import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/index.js";

describe("VirtualClock", () => {
  it("fires timers in time order, ties in the order they were set", async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("b@20"), 20);
    clock.setTimeout(() => fired.push("a@10"), 10);
    clock.setTimeout(() => fired.push("c@20"), 20);
    await clock.advance(15);
    expect(fired).toEqual(["a@10"]);
    expect(clock.now()).toBe(15);
    await clock.advance(5);
    expect(fired).toEqual(["a@10", "b@20", "c@20"]);
  });

  it("settles promise chains between timers, so timers set by them fire in the same advance", async () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(10);
        times.push(clock.now());
      }
    })();
    await clock.advance(100);
    expect(times).toEqual([10, 20, 30]);
  });

  it("does not fire a cleared timer", async () => {
    const clock = new VirtualClock();
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(h);
    await clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it("runUntil throws when the condition never holds", async () => {
    const clock = new VirtualClock();
    await expect(clock.runUntil(() => false, { maxMs: 50 })).rejects.toThrow(/not met after 50 ms/);
  });
});
