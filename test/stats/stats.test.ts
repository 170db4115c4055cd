import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LatencyRecorder } from "../../src/stats/latency-recorder.js";
import { RateMeter } from "../../src/stats/rate-meter.js";
import { renderStructure } from "../../src/plan/structure.js";
import { renderStats } from "../../src/stats/render-stats.js";
import { StageMetrics } from "../../src/stats/stage-metrics.js";
import { flowStats, VirtualClock } from "../helpers.js";

describe("LatencyRecorder", () => {
  it("reports percentiles in milliseconds", () => {
    const r = new LatencyRecorder(10_000, 0);
    for (let i = 1; i <= 100; i++) r.record(i);
    const s = r.summary();
    expect(s.count).toBe(100);
    expect(s.p50).toBeCloseTo(50, 0);
    expect(s.p90).toBeCloseTo(90, 0);
    expect(s.p99).toBeCloseTo(99, 0);
    expect(s.max).toBeCloseTo(100, 0);
    expect(s.mean).toBeCloseTo(50.5, 0);
  });

  it("gives the exact mean of the last two windows, and one summary per fold (readers of a tick share it)", () => {
    const r = new LatencyRecorder(1000, 0);
    const first = [0.5, 1.25, 7, 3.125];
    for (const v of first) r.record(v);
    const a = r.summary();
    expect(a.mean).toBeCloseTo(first.reduce((x, y) => x + y) / first.length, 6);
    expect(r.summary()).toBe(a); // nothing new: the same summary
    r.rotate(1000);
    r.record(11);
    const b = r.summary();
    expect(b).not.toBe(a);
    expect(b.mean).toBeCloseTo((first.reduce((x, y) => x + y) + 11) / 5, 6);
    r.rotate(2000); // the first window leaves
    expect(r.summary().mean).toBeCloseTo(11, 6);
    r.rotate(3000);
    expect(r.summary()).toMatchObject({ count: 0, mean: 0 });
  });

  it("forgets values older than two windows", () => {
    const r = new LatencyRecorder(1000, 0);
    r.record(500);
    r.rotate(1000);
    r.record(5);
    expect(r.summary().max).toBeCloseTo(500, 0);
    r.rotate(2000);
    expect(r.summary()).toMatchObject({ count: 1 });
    expect(r.summary().max).toBeCloseTo(5, 1);
    r.rotate(3000);
    expect(r.summary().count).toBe(0);
  });

  it("never reports a percentile above the max (2.418 ms gave p99 2.419)", () => {
    const r = new LatencyRecorder(10_000, 0);
    r.record(2.418);
    const s = r.summary();
    expect(s.max).toBeCloseTo(2.418, 3);
    expect(s.p99).toBeLessThanOrEqual(s.max);
  });

  it("keeps p50 ≤ p90 ≤ p99 ≤ max whatever the samples and windows", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { maxLength: 40 }), {
          minLength: 1,
          maxLength: 3,
        }),
        (windows) => {
          const r = new LatencyRecorder(1000, 0);
          windows.forEach((samples, i) => {
            for (const ms of samples) r.record(ms);
            r.rotate((i + 1) * 1000);
          });
          const s = r.summary();
          expect(s.p50).toBeLessThanOrEqual(s.p90);
          expect(s.p90).toBeLessThanOrEqual(s.p99);
          expect(s.p99).toBeLessThanOrEqual(s.max);
        },
      ),
    );
  });
});

describe("RateMeter", () => {
  it("converges to a steady rate and decays to zero when events stop", () => {
    const m = new RateMeter(1000);
    let count = 0;
    for (let t = 0; t <= 10_000; t += 100) {
      m.update(count, t);
      count += 50; // 500/s
    }
    expect(m.rate).toBeCloseTo(500, -1);
    for (let t = 10_100; t <= 20_000; t += 100) m.update(count, t);
    expect(m.rate).toBeLessThan(1);
  });
});

describe("StageMetrics", () => {
  it("derives utilization, counting a stage without workers as saturated while items wait", () => {
    const clock = new VirtualClock();
    const queue = { length: 0, capacity: 10, oldestStamp: () => null };
    const m = new StageMetrics("s", queue, clock, 1000);
    expect(m.utilization).toBe(0);
    queue.length = 3;
    expect(m.utilization).toBe(1);
    m.busy = 1;
    m.idle = 3;
    expect(m.utilization).toBe(0.25);
    const snap = m.snapshot();
    expect(snap).toMatchObject({ totalWorkers: 4, queueLength: 3, utilization: 0.25 });
    expect(Object.isFrozen(snap)).toBe(true);
    m.busy = 4;
    expect(snap.busyWorkers).toBe(1);
    expect(m.live.busyWorkers).toBe(4);
  });
});

describe("dump renderers", () => {
  const nodes = [
    {
      type: "stage" as const,
      stage: {
        name: "parse",
        kind: "transformer" as const,
        queueSize: 10,
        queue: "fifo",
        strategy: "FixedScaling",
        minWorkers: 2,
        maxWorkers: 2,
      },
    },
  ];

  it("renders structure as text, JSON and mermaid", () => {
    expect(renderStructure(nodes, "text")).toBe(
      "[producer] producer\n  -> [transformer] parse  queue=10 fifo  workers=FixedScaling [2..2]",
    );
    expect(JSON.parse(renderStructure(nodes, "json")).stages[1].name).toBe("parse");
    const m = renderStructure(nodes, "mermaid");
    expect(m.split("\n")[0]).toBe("flowchart LR");
    expect(m).toContain("s0 --> s1");
  });

  it("renders stats as an aligned table and as JSON", () => {
    const clock = new VirtualClock();
    const m = new StageMetrics(
      "parse",
      { length: 2, capacity: Number.POSITIVE_INFINITY, oldestStamp: () => 0 },
      clock,
      1000,
    );
    m.processed = 7;
    const stats = flowStats({ itemsIn: 9, consumed: 7, inFlight: 2, stages: [m.snapshot()] });
    const text = renderStats(stats, "text").split("\n");
    expect(text[0]).toBe("state=running in=9 consumed=7 failed=0 dropped=0 skipped=0 inFlight=2");
    // Three tables sharing the name column, headed in words, none past 80 columns.
    expect(text[1]).toMatch(/^workers\s+busy\s+idle\s+blocked\s+retrying\s+rate-limited\s+total\s+queue$/);
    expect(text[2]).toMatch(/^parse\s+0\s+0\s+0\s+0\s+0\s+0\s+2\/∞$/);
    expect(text[3]).toMatch(/^items\s+arrived\/s\s+done\/s\s+done\s+failed\s+retries\s+overloads\s+dropped$/);
    expect(text[4]).toMatch(/^parse\s+0\s+0\s+7\s+0\s+0\s+0\s+0$/);
    expect(text[5]).toMatch(/^time \(ms\)\s+processing p50\s+processing p99\s+queue wait p99$/);
    expect(text[6]).toMatch(/^parse\s+0\s+0\s+0$/);
    expect(text).toHaveLength(7);
    for (const [header, row] of [
      [1, 2],
      [3, 4],
      [5, 6],
    ] as const) {
      expect(text[header]!.length).toBe(text[row]!.length);
      expect(text[header]!.length).toBeLessThanOrEqual(80);
    }
    expect(JSON.parse(renderStats(stats, "json")).stages[0].queueCapacity).toBe("Infinity");
  });
});
