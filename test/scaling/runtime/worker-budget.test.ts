import { describe, expect, it } from "vitest";
import { Flow } from "../../../src/index.js";
import { FlowConfigError } from "../../../src/index.js";
import { AdaptiveScaling } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import type { ScaleEvent } from "../../../src/index.js";
import { VirtualClock } from "../../../src/index.js";

const STAGES = ["a", "b", "c"] as const;
const PHASE_MS = 20_000;
const RATE = 400; // items per second, evenly spaced
const SLOW_MS = 20;
const FAST_MS = 2;

/**
 * Three stages at 400 items/s; the slow one (20 ms, needing ~11 workers) moves a → b → c every
 * 20 s while the other two take 2 ms (~2 workers each). With `maxTotalWorkers: 12` they cannot
 * all have what they want, so the budget must follow the bottleneck.
 */
async function movingBottleneck(maxTotalWorkers: number | undefined) {
  const clock = new VirtualClock(0, { gridMs: 0.5 });
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  const slowAt = (t: number): number => Math.min(2, Math.floor(t / PHASE_MS));
  let consumed = 0;
  const stageFn = (index: number) => async (x: number) => {
    await sleep(slowAt(clock.now()) === index ? SLOW_MS : FAST_MS);
    return x;
  };
  const events: ScaleEvent[] = [];
  let f = new Flow<number, number>({ clock, ...(maxTotalWorkers ? { maxTotalWorkers } : {}) }).setProducer(
    (async function* () {
      for (let i = 0; i < (3 * PHASE_MS * RATE) / 1000; i++) {
        await sleep(1000 / RATE);
        yield i;
      }
    })(),
  );
  STAGES.forEach((name, i) => {
    f = f.addTransformer(stageFn(i), { name, scalingStrategy: new AdaptiveScaling({ maxWorkers: 32 }) });
  });
  f.setConsumer(() => {
    consumed++;
  });
  f.on("scale", (e) => events.push(e));
  const samples: { t: number; n: number[] }[] = [];
  await f.start();
  for (let t = 0; t < 3 * PHASE_MS; t += 100) {
    await clock.advanceTo(t);
    samples.push({ t, n: STAGES.map((s) => f.stageStats(s)!.activeWorkers) });
  }
  const done = f.drain();
  await clock.advanceTo(clock.now() + 10_000);
  await done;
  return { samples, events, consumed, stats: f.stats() };
}

const meanIn = (samples: { t: number; n: number[] }[], from: number, to: number, stage: number): number => {
  const inside = samples.filter((s) => s.t >= from && s.t < to);
  return inside.reduce((a, s) => a + s.n[stage]!, 0) / inside.length;
};

describe("maxTotalWorkers", () => {
  it("follows a moving bottleneck and never runs more than the budget", async () => {
    const { samples, events, consumed, stats } = await movingBottleneck(12);
    // Never over budget, at any sample or after any scale event.
    expect(Math.max(...samples.map((s) => s.n.reduce((a, b) => a + b, 0)))).toBeLessThanOrEqual(12);
    expect(events.some((e) => e.reason.startsWith("budget:"))).toBe(true);
    for (let phase = 0; phase < 3; phase++) {
      // In the last 8 s of each phase the slow stage holds most of the budget.
      const from = (phase + 1) * PHASE_MS - 8000;
      const to = (phase + 1) * PHASE_MS;
      const slow = meanIn(samples, from, to, phase);
      expect(slow, `phase ${phase}: workers of the slow stage`).toBeGreaterThanOrEqual(8);
      for (let other = 0; other < 3; other++)
        if (other !== phase) expect(meanIn(samples, from, to, other)).toBeLessThan(slow / 2);
    }
    // The work got done: everything taken in (≈ 24 000 items) came out, nothing failed or dropped.
    expect(stats.itemsIn).toBeGreaterThan(23_900);
    expect({ consumed, failed: stats.failed, dropped: stats.dropped }).toEqual({
      consumed: stats.itemsIn,
      failed: 0,
      dropped: 0,
    });
  }, 60_000);

  it("without a budget the same flow runs more than 12 workers (so the limit above is what held it)", async () => {
    const { samples } = await movingBottleneck(undefined);
    expect(Math.max(...samples.map((s) => s.n.reduce((a, b) => a + b, 0)))).toBeGreaterThan(12);
  }, 60_000);

  it("rejects a budget smaller than the number of stages, naming the option", async () => {
    const f = new Flow<number, number>({ maxTotalWorkers: 2 })
      .addTransformer((x: number) => x, { name: "a", scalingStrategy: new FixedScaling({ workers: 1 }) })
      .addTransformer((x: number) => x, { name: "b" })
      .setConsumer(() => {}, { name: "c" });
    await expect(f.run([1, 2, 3])).rejects.toThrow(FlowConfigError);
    await expect(f.run([1, 2, 3])).rejects.toThrow(/maxTotalWorkers.*= 2.*3 stages/);
  });

  it("cuts the initial workers to the budget, keeping one per stage", async () => {
    const clock = new VirtualClock(0, { gridMs: 0.5 });
    const f = new Flow<number, number>({ clock, maxTotalWorkers: 5 })
      .addTransformer((x: number) => x, { name: "a", scalingStrategy: new FixedScaling({ workers: 4 }) })
      .addTransformer((x: number) => x, { name: "b", scalingStrategy: new FixedScaling({ workers: 4 }) })
      .setConsumer(() => {}, { name: "c", scalingStrategy: new FixedScaling({ workers: 4 }) });
    f.setProducer(
      (async function* () {
        yield 1;
        await new Promise<void>((r) => clock.setTimeout(r, 1000));
      })(),
    );
    await f.start();
    const n = ["a", "b", "c"].map((s) => f.stageStats(s)!.activeWorkers);
    expect(n.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5);
    expect(Math.min(...n)).toBeGreaterThanOrEqual(1);
    const done = f.stop();
    await clock.advanceTo(2000);
    await done;
  });
});
