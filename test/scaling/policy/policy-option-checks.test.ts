import { describe, expect, it } from "vitest";
import { FlowConfigError } from "../../../src/index.js";
import { AdaptiveScaling } from "../../../src/index.js";

describe("the policy layer's options", () => {
  it("start at max(1, minWorkers) workers unless initialWorkers says", () => {
    expect(new AdaptiveScaling({ minWorkers: 3 }).initialWorkers()).toBe(3);
    expect(new AdaptiveScaling({ minWorkers: 0 }).initialWorkers()).toBe(1);
    expect(new AdaptiveScaling({ minWorkers: 0, initialWorkers: 0 }).initialWorkers()).toBe(0);
  });

  it("reject values outside their ranges, naming the option", () => {
    const bad: [object, RegExp][] = [
      [{ growthPeriodMs: 0 }, /option "growthPeriodMs" = 0/],
      [{ kneeEta: 0 }, /option "kneeEta" = 0/],
      [{ downStabilizationMs: 3_600_001 }, /option "downStabilizationMs" = 3600001/],
      [{ minWorkers: 5, maxWorkers: 4 }, /minWorkers/],
      [
        { minWorkers: 2, initialWorkers: 1 },
        /option "initialWorkers" = 1: expected between minWorkers \(2\)/,
      ],
    ];
    for (const [options, message] of bad) {
      expect(() => new AdaptiveScaling(options), JSON.stringify(options)).toThrow(FlowConfigError);
      expect(() => new AdaptiveScaling(options), JSON.stringify(options)).toThrow(message);
    }
  });

  it("accept the edges of their ranges", () => {
    const p = new AdaptiveScaling({ growthPeriodMs: 1, kneeEta: 10, downStabilizationMs: 3_600_000 }).policy;
    expect(p).toMatchObject({ growthPeriodMs: 1, kneeEta: 10, downStabilizationMs: 3_600_000 });
  });
});
