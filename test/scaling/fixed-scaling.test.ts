import { describe, expect, it } from "vitest";
import { FlowConfigError } from "../../src/index.js";
import { FixedScaling } from "../../src/index.js";
import { stageStats } from "../helpers.js";

describe("FixedScaling", () => {
  it("starts with its worker count and never asks for a change", () => {
    const s = new FixedScaling({ workers: 3 });
    expect(s.initialWorkers()).toBe(3);
    expect([s.minWorkers, s.maxWorkers]).toEqual([3, 3]);
    const busy = stageStats({ busyWorkers: 3, totalWorkers: 3, queueLength: 100 });
    expect(s.onEnqueue()).toBe(0);
    expect(s.onDequeue()).toBe(0);
    expect(busy.utilization).toBe(1);
  });

  it.each([0, -1, 1.5, Number.NaN, "2", Number.POSITIVE_INFINITY])("rejects workers = %s", (workers) => {
    expect(() => new FixedScaling({ workers } as never)).toThrow(FlowConfigError);
    expect(() => new FixedScaling({ workers } as never)).toThrow(
      /FixedScaling: option "workers" = .*expected a whole number from 1 to 10000/,
    );
  });
});
