import { describe, expect, it } from "vitest";
import { eventsAt, mutableStats, tickAt, Wish } from "./wish-strategy.js";

/** Received items grow with the square of time, so each window gives its own rate. */
const received = (t: number) => (t * t) / 1000;

function stageAt(s: Wish, st: ReturnType<typeof mutableStats>, t: number, how: "tick" | "events" = "tick") {
  st.received = received(t);
  st.processed = received(t) / 2;
  if (how === "tick") tickAt(s, st, t);
  else eventsAt(s, st, t, 16);
}

describe("the rates the policy layer measures from tick samples", () => {
  it("are the stats' own arrival rate and throughput before any tick left a sample", () => {
    const s = new Wish();
    const st = mutableStats({
      activeWorkers: 1,
      arrivalRate: 7,
      throughput: 5,
      received: 100,
      processed: 90,
    });
    tickAt(s, st, 0);
    expect(s.lastRates).toEqual({ arrival: 7, completion: 5 });
  });

  it("in the first second, run from the oldest sample", () => {
    const s = new Wish();
    const st = mutableStats({ activeWorkers: 1 });
    for (let t = 0; t <= 750; t += 250) stageAt(s, st, t);
    // From the sample at 0: 562.5 items in 0.75 s.
    expect(s.lastRates).toEqual({ arrival: 750, completion: 375 });
  });

  it("later, run from the newest sample at least a second old", () => {
    const s = new Wish();
    const st = mutableStats({ activeWorkers: 1 });
    for (let t = 0; t <= 1500; t += 250) stageAt(s, st, t);
    // From the sample at 500 (exactly a second old): 2250 − 250 items in 1 s.
    expect(s.lastRates).toEqual({ arrival: 2000, completion: 1000 });
  });

  it("keep a ring of samples that follows time (32 ticks)", () => {
    const s = new Wish();
    const st = mutableStats({ activeWorkers: 1 });
    for (let t = 0; t <= 2600; t += 50) stageAt(s, st, t);
    // From the sample at 1600, the 33rd, which took the first slot again: 6760 − 2560 items in 1 s.
    expect(s.lastRates.arrival).toBeCloseTo(4200, 6);
    for (let t = 2650; t <= 3000; t += 50) stageAt(s, st, t);
    // From the sample at 2000: 9000 − 4000 items in 1 s.
    expect(s.lastRates.arrival).toBeCloseTo(5000, 6);
  });

  it("with ticks too fast for the ring to hold a second, run from the oldest sample it holds", () => {
    const s = new Wish();
    const st = mutableStats({ activeWorkers: 1 });
    for (let t = 0; t <= 400; t += 10) stageAt(s, st, t);
    // The ring holds the ticks from 80 to 390: 160 − 6.4 items in 0.32 s.
    expect(s.lastRates.arrival).toBeCloseTo(480, 6);
  });

  it("are read by item events, which leave no sample of their own", () => {
    const s = new Wish();
    const st = mutableStats({ activeWorkers: 1 });
    stageAt(s, st, 0);
    stageAt(s, st, 600, "events");
    expect(s.lastRates.arrival).toBeCloseTo(600, 6); // 360 items since the tick at 0
    stageAt(s, st, 1700);
    // Still from the tick at 0: an event sample at 600 would have given (2890 − 360) / 1.1.
    expect(s.lastRates.arrival).toBeCloseTo(1700, 6);
  });

  it("never divide by a zero interval: a sample taken at this very instant is not used", () => {
    const s = new Wish();
    const st = mutableStats({ activeWorkers: 1, arrivalRate: 7, throughput: 5 });
    stageAt(s, st, 0);
    stageAt(s, st, 0);
    expect(s.lastRates).toEqual({ arrival: 7, completion: 5 });
    stageAt(s, st, 100);
    stageAt(s, st, 100);
    expect(s.lastRates.arrival).toBeCloseTo(100, 6); // from the sample at 0
  });
});

describe("what the policy layer tells a strategy about the stage", () => {
  it("plans with the measured processing time, or 10 ms before any item was timed", () => {
    const s = new Wish();
    const st = mutableStats({ activeWorkers: 1 });
    tickAt(s, st, 0);
    expect(s.seen.at(-1)!.serviceMs).toBe(10);
    st.processingTimeMs = 25;
    tickAt(s, st, 100);
    expect(s.seen.at(-1)!.serviceMs).toBe(25);
  });

  it("calls a stage backlogged when more items wait than it has workers and the oldest waited longer than S, or its queue is half full with no worker idle", () => {
    const backlogged = (
      queueLength: number,
      oldestItemAgeMs: number,
      processingTimeMs = 20,
      idleWorkers = 0,
    ) => {
      const s = new Wish();
      s.want = 4;
      tickAt(
        s,
        mutableStats({ activeWorkers: 4, queueLength, oldestItemAgeMs, processingTimeMs, idleWorkers }),
        0,
      );
      return s.seen[0]!.backlogged;
    };
    expect(backlogged(5, 21)).toBe(true);
    expect(backlogged(4, 21)).toBe(false); // no more queued than workers
    expect(backlogged(5, 20)).toBe(false); // the oldest waited no longer than S
    expect(backlogged(0, 500)).toBe(false);
    expect(backlogged(49, 5)).toBe(false); // under half of the 100 places, the oldest quick
    // Half the queue or more with no worker idle: the source may be blocked on it, whatever the ages.
    expect(backlogged(50, 5)).toBe(true);
    expect(backlogged(50, 5, 20, 1)).toBe(false); // a worker idle: items are taken as they come
    expect(backlogged(5, 11, 0)).toBe(true); // S unknown: 10 ms
    expect(backlogged(5, 10, 0)).toBe(false);
  });
});
