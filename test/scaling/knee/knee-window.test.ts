import { describe, expect, it } from "vitest";
import { KneeWindow, NOISE_FLOOR } from "../../../src/scaling/knee/knee-window.js";
import { type MutableStats, mutableStats } from "../policy/wish-strategy.js";

/** A stage under a backlog completing `rate`/s of calls taking `callMs` with a CV of `cv`, stepped every `stepMs`. */
class Stage {
  readonly st: MutableStats = mutableStats({ queueLength: 400, queueCapacity: 1000 });
  readonly w = new KneeWindow();
  now = 0;
  rate = 1000;
  callMs = 10;
  cv = 0;
  /** The times a window closed. */
  readonly closed: number[] = [];

  /** A stage whose count changed at 0. */
  constructor(o: { rate?: number; callMs?: number; cv?: number } = {}) {
    Object.assign(this, o);
    this.w.restart(0);
  }

  run(ms: number, s = 10, stepMs = 10): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += stepMs;
      const done = (this.rate * stepMs) / 1000;
      this.st.processed += done;
      this.st.timedItems += done;
      this.st.timedMs += done * this.callMs;
      this.st.timedMsSquared += done * this.callMs ** 2 * (1 + this.cv ** 2);
      if (this.w.observe(this.st, s, this.now)) this.closed.push(this.now);
    }
  }
}

describe("KneeWindow", () => {
  it("begins a window 2·S (at least 20 ms) after a change, once no worker is starting, and closes it after max(5·S, 100 ms)", () => {
    const a = new Stage();
    a.run(300);
    // Marked at 20 ms, closed at 120 and 220.
    expect(a.closed).toEqual([120, 220]);
    expect(a.w.measured).toBe(true);
    const b = new Stage();
    b.st.startingWorkers = 2;
    b.run(200);
    expect(b.closed).toEqual([]);
    expect(b.w.measured).toBe(false);
    b.st.startingWorkers = 0;
    b.run(200);
    expect(b.closed).toEqual([310]);
    // With 30 ms calls: marked at 60, closed 150 ms later.
    const c = new Stage();
    c.run(400, 30);
    expect(c.closed[0]).toBe(210);
  });

  it("waits for 100 completions, or for 20·S when they come slowly", () => {
    const slow = new Stage({ rate: 600 }); // 60 completions in 100 ms
    slow.run(400);
    expect(slow.closed).toEqual([190, 360]); // 100 completions 167 ms after the mark at 20, and again
    const slower = new Stage({ rate: 100 });
    slower.run(400);
    expect(slower.closed).toEqual([220]); // 20 completions, but 20·S = 200 ms
  });

  it("reads the throughput, the mean call time, the calls' CV and the noise of that mean", () => {
    const st = new Stage({ callMs: 12, cv: 0.5 });
    st.run(120);
    expect(st.w.x).toBeCloseTo(1000, 6);
    expect(st.w.s).toBeCloseTo(12, 6);
    expect(st.w.cv).toBeCloseTo(0.5, 6);
    expect(st.w.sNoise).toBeCloseTo(0.05, 6); // 0.5 / √100
    // The count's noise: 1/√100 = 10 %.
    expect(st.w.noise).toBeCloseTo(0.1, 6);
  });

  it("reads the throughput by N / S where the mean call time is the closer reading, else not at all (0)", () => {
    const alike = new Stage({ callMs: 12, cv: 0.5 });
    expect(alike.w.littleX(12)).toBe(0); // no window yet
    alike.run(120);
    expect(alike.w.littleX(12)).toBeCloseTo(1000, 6); // 12 workers busy with 12 ms calls; the mean's 5 % against the count's 10 %
    const spread = new Stage({ callMs: 12, cv: 1 });
    spread.run(120);
    expect(spread.w.littleX(12)).toBe(0); // the mean's noise (10 %) is no closer than the count's
  });

  it("takes the noise from what two windows differ by when that is more than 1/√k, and never below 5 %", () => {
    const st = new Stage();
    st.run(120);
    st.rate = 1300;
    st.run(100);
    expect(st.w.noise).toBeCloseTo(300 / 1300, 6);
    const many = new Stage({ rate: 2000 });
    many.run(120);
    expect(many.w.noise).toBeCloseTo(1 / Math.sqrt(200), 6);
    const more = new Stage({ rate: 5000 });
    more.run(120);
    expect(more.w.noise).toBe(NOISE_FLOOR);
  });

  it("says whether the queue emptied in the window, and whether it grew over it", () => {
    const st = new Stage();
    st.run(30);
    st.st.queueLength = 0;
    st.run(10);
    st.st.queueLength = 400;
    st.run(80);
    expect(st.w.drained).toBe(true);
    expect(st.w.grewQ).toBe(false);
    st.st.queueLength = 403; // more than max(2, 2 % of 100) above the window's start
    st.run(100);
    expect(st.w.drained).toBe(false);
    expect(st.w.grewQ).toBe(true);
    st.st.queueLength = 405;
    st.run(100);
    expect(st.w.grewQ).toBe(false);
  });

  it("starts over at a change, keeping nothing of the last count's readings", () => {
    const st = new Stage();
    st.run(220);
    expect(st.w.s).toBeGreaterThan(0);
    st.w.restart(st.now);
    expect([st.w.measured, st.w.x, st.w.s, st.w.sPrev, st.w.noise]).toEqual([false, 0, 0, 0, NOISE_FLOOR]);
    st.run(10);
    expect(st.closed).toEqual([120, 220]);
  });
});
