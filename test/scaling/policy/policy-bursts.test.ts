import { describe, expect, it } from "vitest";
import { type MutableStats, mutableStats, tickAt, Wish } from "./wish-strategy.js";

/**
 * A stage of 20 workers with idleShrinkMs 1000, busy at 2,000/s (10 ms a call) until 2 s, then
 * quiet (the strategy then asks for minWorkers), ticked every 50 ms up to `untilMs`.
 */
function spell(
  untilMs: number,
  options: ConstructorParameters<typeof Wish>[0] = {},
  guards: ConstructorParameters<typeof Wish>[1] = {},
  perTick: (t: number) => number = () => 100,
) {
  const s = new Wish({ maxWorkers: 100, idleShrinkMs: 1000, ...options }, guards);
  const st = mutableStats({ activeWorkers: 20, processingTimeMs: 10 });
  s.want = 20;
  const changes: [number, number, string][] = [];
  for (let t = 0; t <= untilMs; t += 50) {
    if (t < 2000) {
      st.received += perTick(t);
      st.processed += perTick(t);
      st.busyWorkers = 20;
    } else {
      st.busyWorkers = 0;
      s.want = s.minWorkers; // what a strategy asks for when nothing comes
    }
    if (tickAt(s, st, t) !== 0) changes.push([t, st.activeWorkers, s.lastReason]);
  }
  return { s, st, changes };
}

function quiet(st: MutableStats) {
  st.busyWorkers = 0;
  st.queueLength = 0;
  st.retryingWorkers = 0;
}

describe("the policy layer's burst memory (idleShrinkMs)", () => {
  it("shrinks to minWorkers at once after idleShrinkMs of quiet with no arrivals", () => {
    const { changes } = spell(3500, { minWorkers: 2 });
    // Quiet from 2,000 ms; the last arrivals leave the rate window at 3,000 ms.
    expect(changes).toEqual([[3000, 2, "idle for 1.0 s"]]);
  });

  it("does not shrink while arrivals would keep a tenth of a worker busy", () => {
    const s = new Wish({ maxWorkers: 100, idleShrinkMs: 1000 });
    const st = mutableStats({ activeWorkers: 20, processingTimeMs: 10 });
    s.want = 20;
    for (let t = 0; t <= 3000; t += 50) {
      st.received += 1; // 20/s × 10 ms = 0.2 workers
      st.processed += 1;
      expect(tickAt(s, st, t)).toBe(0);
    }
    const trickle = new Wish({ maxWorkers: 100, idleShrinkMs: 1000 });
    const calm = mutableStats({ activeWorkers: 20, processingTimeMs: 10 });
    trickle.want = 20;
    let shrank = false;
    for (let t = 0; t <= 3000; t += 50) {
      if (t % 200 === 0) calm.received += 1; // 5/s × 10 ms = 0.05 workers
      if (tickAt(trickle, calm, t) !== 0) shrank = true;
    }
    expect(shrank).toBe(true);
  });

  it("counts items queued, workers busy and workers retrying as not quiet", () => {
    for (const busy of [
      (st: MutableStats) => (st.queueLength = 1),
      (st: MutableStats) => (st.busyWorkers = 1),
      (st: MutableStats) => (st.retryingWorkers = 1),
    ]) {
      const s = new Wish({ maxWorkers: 100, idleShrinkMs: 1000 });
      const st = mutableStats({ activeWorkers: 20, processingTimeMs: 10 });
      s.want = 20;
      for (let t = 0; t <= 3000; t += 50) {
        quiet(st);
        busy(st);
        expect(tickAt(s, st, t)).toBe(0);
      }
    }
  });

  it("times the quiet from its first evaluation, and starts over when work comes back", () => {
    const s = new Wish({ maxWorkers: 100, idleShrinkMs: 1000 });
    const st = mutableStats({ activeWorkers: 20, processingTimeMs: 10 });
    s.want = 20;
    expect(tickAt(s, st, 0)).toBe(0);
    expect(tickAt(s, st, 999)).toBe(0);
    st.busyWorkers = 1;
    expect(tickAt(s, st, 1000)).toBe(0);
    st.busyWorkers = 0;
    expect(tickAt(s, st, 1500)).toBe(0);
    expect(tickAt(s, st, 2499)).toBe(0);
    expect(tickAt(s, st, 2500)).toBe(-19);
    expect(s.lastReason).toBe("idle for 1.0 s");
  });

  it("leaves a stage at minWorkers alone", () => {
    const s = new Wish({ minWorkers: 3, maxWorkers: 100, idleShrinkMs: 1000 });
    const st = mutableStats({ activeWorkers: 3, processingTimeMs: 10 });
    s.want = 3;
    for (let t = 0; t <= 3000; t += 50) expect(tickAt(s, st, t)).toBe(0);
  });

  it("brings back at once what the busiest second of the last spell needed, with √ headroom", () => {
    const { s, st, changes } = spell(4000);
    expect(st.activeWorkers).toBe(1);
    // Items again: 2,000/s × 10 ms = 20 workers, + √20.
    st.queueLength = 40;
    expect(tickAt(s, st, 4100)).toBe(24);
    expect(s.lastReason).toBe("items back after idle: the last spell's 2000/s needed 25 workers");
    expect(changes).toHaveLength(1);
  });

  it("remembers the busiest second of the spell, not its last", () => {
    // 2,000/s, then 1,000/s in the spell's last second.
    const { s, st } = spell(4000, {}, {}, (t) => (t < 1000 ? 100 : 50));
    st.queueLength = 40;
    expect(tickAt(s, st, 4100)).toBe(24);
  });

  it("brings the spell back past the knee guard, whose brake knows nothing of the new arrivals", () => {
    const { s, st } = spell(4000, {}, { knee: true });
    st.queueLength = 40;
    st.oldestItemAgeMs = 100;
    expect(tickAt(s, st, 4100)).toBe(24);
  });

  it("brings the spell back once: the next quiet spell starts from nothing", () => {
    const { s, st } = spell(4000);
    st.queueLength = 40;
    tickAt(s, st, 4100);
    s.want = 1;
    quiet(st);
    for (let t = 4150; t <= 6000; t += 50) tickAt(s, st, t);
    expect(st.activeWorkers).toBe(1);
    st.queueLength = 40;
    expect(tickAt(s, st, 6050)).toBe(0);
  });

  it("brings the spell back after exactly idleShrinkMs of quiet", () => {
    const { s, st } = spell(2950);
    st.queueLength = 40;
    expect(tickAt(s, st, 3000)).toBe(5);
  });

  it("does not shrink while arrivals keep exactly a tenth of a worker busy", () => {
    const s = new Wish({ maxWorkers: 100, idleShrinkMs: 1000 });
    const st = mutableStats({ activeWorkers: 20, processingTimeMs: 10 });
    s.want = 20;
    for (let t = 0; t <= 3000; t += 50) {
      if (t % 100 === 0) st.received += 1; // 10/s × 10 ms = 0.1 workers
      expect(tickAt(s, st, t)).toBe(0);
    }
  });

  it("brings nothing back after a quiet shorter than idleShrinkMs, or when the count already suffices", () => {
    const { s, st } = spell(2900);
    st.queueLength = 40;
    expect(tickAt(s, st, 2950)).toBe(0);
    const { s: big, st: bigSt } = spell(4000, { minWorkers: 30 });
    bigSt.queueLength = 40;
    expect(tickAt(big, bigSt, 4100)).toBe(0);
  });

  it("sizes the return with the processing time of the spell, not of the quiet", () => {
    const s = new Wish({ maxWorkers: 100, idleShrinkMs: 1000 });
    const st = mutableStats({ activeWorkers: 20, processingTimeMs: 20 });
    s.want = 20;
    for (let t = 0; t <= 2000; t += 50) {
      st.received += 50; // 1,000/s at 20 ms a call: 20 workers
      st.processed += 50;
      st.busyWorkers = 20;
      tickAt(s, st, t);
    }
    quiet(st);
    s.want = 1;
    st.processingTimeMs = 5;
    for (let t = 2050; t <= 4000; t += 50) tickAt(s, st, t);
    expect(st.activeWorkers).toBe(1);
    st.queueLength = 40;
    expect(tickAt(s, st, 4050)).toBe(24);
  });
});
