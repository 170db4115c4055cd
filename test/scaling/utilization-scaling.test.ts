import { describe, expect, it } from "vitest";
import { FlowConfigError } from "../../src/index.js";
import { UtilizationScaling } from "../../src/index.js";
import { stageStats } from "../helpers.js";

const busy = (busyWorkers: number, totalWorkers: number, now = 0) =>
  stageStats({ busyWorkers, idleWorkers: totalWorkers - busyWorkers, totalWorkers, now });

describe("UtilizationScaling", () => {
  it("has the original defaults", () => {
    const s = new UtilizationScaling();
    expect(s.options).toMatchObject({
      minWorkers: 1,
      maxWorkers: 8,
      lowerUtilization: 0.2,
      upperUtilization: 0.8,
      upscalingRate: 1,
      downscalingRate: 1,
      cooldownMs: 5000,
      dampening: 0.5,
    });
    expect(s.initialWorkers()).toBe(1);
  });

  it("adds a worker when utilization is strictly above the upper threshold", () => {
    const s = new UtilizationScaling({ cooldownMs: 0 });
    expect(s.onEnqueue(busy(4, 4))).toBe(1);
    expect(s.lastReason).toMatch(/utilization 1\.00 > 0\.8/);
  });

  it("does nothing at exactly the thresholds (strict comparisons)", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, lowerUtilization: 0.25, upperUtilization: 0.75 });
    expect(s.onEnqueue(busy(3, 4))).toBe(0);
    expect(s.onDequeue(busy(1, 4))).toBe(0);
  });

  it("removes a worker when utilization is strictly below the lower threshold", () => {
    const s = new UtilizationScaling({ cooldownMs: 0 });
    expect(s.onDequeue(busy(0, 4))).toBe(-1);
  });

  it("clamps the step to the room left, then dampens it with a minimum of 1", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, maxWorkers: 10, upscalingRate: 8, dampening: 0.5 });
    expect(s.onEnqueue(busy(4, 4))).toBe(3); // min(8, 6) * 0.5 = 3
    expect(s.onEnqueue(busy(9, 9))).toBe(1); // min(8, 1) * 0.5 = 0.5 → 0 → at least 1
    const d = new UtilizationScaling({ cooldownMs: 0, minWorkers: 2, downscalingRate: 6, dampening: 0.5 });
    expect(d.onDequeue(busy(0, 8))).toBe(-3);
    expect(d.onDequeue(busy(0, 3))).toBe(-1);
  });

  it("accepts dampening 0, as the original does: every needed step is then one worker", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, maxWorkers: 10, upscalingRate: 8, dampening: 0 });
    expect(s.onEnqueue(busy(4, 4))).toBe(1);
    const d = new UtilizationScaling({ cooldownMs: 0, downscalingRate: 6, dampening: 0 });
    expect(d.onDequeue(busy(0, 8))).toBe(-1);
  });

  it("never grows past maxWorkers nor shrinks below minWorkers", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, minWorkers: 2, maxWorkers: 4 });
    expect(s.onEnqueue(busy(4, 4))).toBe(0);
    expect(s.onDequeue(busy(0, 2))).toBe(0);
  });

  it("shares one cooldown between up and down", () => {
    const s = new UtilizationScaling({ cooldownMs: 1000 });
    expect(s.onEnqueue(busy(2, 2, 0))).toBe(1);
    expect(s.onDequeue(busy(0, 3, 500))).toBe(0); // down is also cooling
    expect(s.onEnqueue(busy(3, 3, 999))).toBe(0);
    expect(s.onDequeue(busy(0, 3, 1000))).toBe(-1);
  });

  it("evaluates only every n-th event with samplingEvents", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, samplingEvents: 3 });
    const stats = busy(2, 2);
    expect([s.onEnqueue(stats), s.onEnqueue(stats), s.onEnqueue(stats), s.onEnqueue(stats)]).toEqual([
      0, 0, 1, 0,
    ]);
  });

  it("evaluates at most once per samplingPeriodMs", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, samplingPeriodMs: 100 });
    expect(s.onEnqueue(busy(2, 2, 0))).toBe(1);
    expect(s.onEnqueue(busy(3, 3, 50))).toBe(0);
    expect(s.onEnqueue(busy(3, 3, 100))).toBe(1);
  });

  it("shrinks on the tick, where ticks pass the period gate but are not counted as events", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, samplingEvents: 1000 });
    expect(s.onTick(busy(0, 3))).toBe(-1);
  });

  it("scales a zero-worker stage up while items wait (utilization counts as 1)", () => {
    const s = new UtilizationScaling({ cooldownMs: 0, minWorkers: 0 });
    expect(s.initialWorkers()).toBe(0);
    expect(s.onEnqueue(stageStats({ totalWorkers: 0, utilization: 1, queueLength: 3 }))).toBe(1);
    expect(s.onTick(stageStats({ totalWorkers: 1, idleWorkers: 1, utilization: 0 }))).toBe(-1);
  });

  it("clone() copies the settings but none of the cooldown state", () => {
    const s = new UtilizationScaling({ cooldownMs: 1000, samplingEvents: 2, maxWorkers: 5 });
    s.onEnqueue(busy(2, 2));
    expect(s.onEnqueue(busy(2, 2))).toBe(1);
    const c = s.clone();
    expect(c.options).toEqual(s.options);
    c.onEnqueue(busy(2, 2));
    expect(c.onEnqueue(busy(2, 2))).toBe(1);
    expect(c).not.toBe(s);
  });

  it.each([
    [{ minWorkers: -1 }, "minWorkers"],
    [{ maxWorkers: 0 }, "maxWorkers"],
    [{ minWorkers: 5, maxWorkers: 2 }, "minWorkers"],
    [{ lowerUtilization: 0.9, upperUtilization: 0.5 }, "lowerUtilization"],
    [{ upperUtilization: 1.5 }, "upperUtilization"],
    [{ dampening: -0.1 }, "dampening"],
    [{ dampening: 1.5 }, "dampening"],
    [{ cooldownMs: Number.NaN }, "cooldownMs"],
    [{ samplingEvents: 1.5 }, "samplingEvents"],
    [{ cooldown: 5 }, "cooldown"],
  ])("rejects %j naming %s", (options, option) => {
    let error: unknown;
    try {
      new UtilizationScaling(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlowConfigError);
    expect((error as FlowConfigError).option).toBe(option);
    expect((error as Error).message).toContain("UtilizationScaling");
    expect((error as Error).message).toContain(option);
  });
});
