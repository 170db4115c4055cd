import { describe, expect, it } from "vitest";
import { Flow, MAX_WORKERS } from "../../../src/index.js";
import type { ScaleEvent } from "../../../src/index.js";
import { ScalingController } from "../../../src/runtime/scaling/scaling-controller.js";
import type { ScalingStrategy } from "../../../src/index.js";
import { stageStats } from "../../helpers.js";

function pool(active: number, hasWork = false) {
  const p = {
    activeWorkers: active,
    hasWork,
    done: false,
    resizes: [] as number[],
    resize(target: number) {
      p.resizes.push(target);
      p.activeWorkers = target;
      return target;
    },
  };
  return p;
}

function controller(strategy: Partial<ScalingStrategy>, p = pool(1)) {
  const events: ScaleEvent[] = [];
  const faults: unknown[] = [];
  const full: ScalingStrategy = {
    initialWorkers: () => 1,
    onEnqueue: () => 0,
    onDequeue: () => 0,
    ...strategy,
  };
  const warnings: string[] = [];
  const c = new ScalingController("s", full, p, stageStats(), {
    scaled: (e) => events.push(e),
    fault: (e) => faults.push(e),
    warn: (m) => warnings.push(m),
  });
  return { c, p, events, faults, warnings };
}

describe("ScalingController", () => {
  it("clamps decisions into [minWorkers, maxWorkers] and emits from/to with the reason", () => {
    const { c, p, events } = controller({
      minWorkers: 1,
      maxWorkers: 4,
      onEnqueue: () => 10,
      lastReason: "busy",
    });
    c.onEnqueue();
    expect(p.activeWorkers).toBe(4);
    expect(events).toEqual([{ stage: "s", from: 1, to: 4, reason: "enqueue: busy" }]);
    c.apply(-100, "tick");
    expect(p.activeWorkers).toBe(1);
  });

  it("ignores NaN, non-numbers and throwing strategies, and reports them as faults", () => {
    let mode = 0;
    const { c, p, faults } = controller({
      maxWorkers: 8,
      onEnqueue: () => {
        if (mode === 0) return Number.NaN;
        if (mode === 1) return "3" as never;
        throw new Error("boom");
      },
    });
    c.onEnqueue();
    mode = 1;
    c.onEnqueue();
    mode = 2;
    c.onEnqueue();
    expect(p.activeWorkers).toBe(1);
    expect(faults).toHaveLength(3);
  });

  it("treats an infinite delta as a jump to the bound", () => {
    const { c, p } = controller({ minWorkers: 2, maxWorkers: 6, onTick: () => Number.POSITIVE_INFINITY });
    c.onTick();
    expect(p.activeWorkers).toBe(6);
    c.apply(Number.NEGATIVE_INFINITY, "x");
    expect(p.activeWorkers).toBe(2);
  });

  it("starts one worker when items wait and the pool is at zero, even if the strategy says 0", () => {
    const p = pool(0, true);
    const { c, events } = controller({ minWorkers: 0, maxWorkers: 3 }, p);
    c.onEnqueue();
    expect(p.activeWorkers).toBe(1);
    expect(events[0]?.reason).toMatch(/liveness/);
  });

  it("never resizes to zero while work waits", () => {
    const p = pool(2, true);
    const { c } = controller({ minWorkers: 0, maxWorkers: 3, onDequeue: () => -5 }, p);
    c.onDequeue();
    expect(p.activeWorkers).toBe(1);
  });

  it("defaults the bounds to [1, 1024] when the strategy declares none, and clamps initialWorkers", () => {
    const { c } = controller({ initialWorkers: () => 5000 });
    expect([c.min, c.max]).toEqual([1, 1024]);
    expect(c.initialWorkers()).toBe(1024);
    const bad = controller({ initialWorkers: () => Number.NaN });
    expect(bad.c.initialWorkers()).toBe(1);
  });

  it("clamps a strategy that asks for more than MAX_WORKERS at run time, and says so", () => {
    const { c, p, warnings } = controller({
      maxWorkers: 3,
      initialWorkers: () => 1e9,
      onEnqueue: () => 2 ** 53,
    });
    expect(c.initialWorkers()).toBe(3);
    c.onEnqueue();
    expect(p.activeWorkers).toBe(3);
    expect(warnings).toHaveLength(2); // the flow logs the first of a stage's warnings, once
    expect(warnings[0]).toMatch(
      /asked for 1000000000 workers; clamped to 3 \(no stage runs more than 10000\)/,
    );
  });

  it("never runs more than MAX_WORKERS, even for a strategy never validated (a clone) that declares more", () => {
    const { c, warnings } = controller({ minWorkers: 2, maxWorkers: 1e9, initialWorkers: () => 1e6 });
    expect(c.max).toBeLessThanOrEqual(MAX_WORKERS);
    expect(c.initialWorkers()).toBeLessThanOrEqual(MAX_WORKERS);
    expect(warnings[0]).toMatch(
      /maxWorkers is not a whole number from 2 .* running with minWorkers 2, maxWorkers 1024/,
    );
  });

  it("reads a strategy's limits when it is validated, never again when the stage starts", async () => {
    let reads = 0;
    const strategy = {
      initialWorkers: () => 1,
      onEnqueue: () => 0,
      onDequeue: () => 0,
      get maxWorkers() {
        reads++;
        if (reads > 1) throw new Error("read twice");
        return 2;
      },
    };
    const f = new Flow()
      .addTransformer((x: number) => x, { scalingStrategy: strategy })
      .setConsumer(() => {});
    await f.run([1, 2, 3]);
    expect(reads).toBe(1);
    expect(f.dump({ format: "json" })).toMatch(/"maxWorkers": 2/);
  });
});
