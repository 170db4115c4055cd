import { describe, expect, it } from "vitest";
import type { ScaleEvent } from "../../../src/index.js";
import { ScalingController } from "../../../src/runtime/scaling/scaling-controller.js";
import type { ScalingStrategy } from "../../../src/index.js";
import { WorkerBudget } from "../../../src/runtime/scaling/worker-budget.js";
import { MAX_WORKERS } from "../../../src/index.js";
import type { StageStats } from "../../../src/index.js";
import { stageStats } from "../../helpers.js";

function setup(
  strategy: Partial<ScalingStrategy>,
  active = 1,
  hasWork = false,
  stats: Partial<StageStats> = {},
) {
  const pool = {
    activeWorkers: active,
    hasWork,
    done: false,
    resize(target: number) {
      pool.activeWorkers = target;
      return target;
    },
  };
  const events: ScaleEvent[] = [];
  const faults: unknown[] = [];
  const warnings: string[] = [];
  const full: ScalingStrategy = {
    initialWorkers: () => 1,
    onEnqueue: () => 0,
    onDequeue: () => 0,
    ...strategy,
  };
  const c = new ScalingController("s", full, pool, stageStats(stats), {
    scaled: (e) => events.push(e),
    fault: (e) => faults.push(e),
    warn: (m) => warnings.push(m),
  });
  return { c, pool, events, faults, warnings };
}

describe("ScalingController's decisions", () => {
  it("starts the initial pool with an `initial` event from 0", () => {
    const { c, events } = setup({ initialWorkers: () => 3, maxWorkers: 8 }, 0);
    c.start();
    expect(events).toEqual([{ stage: "s", from: 0, to: 3, reason: "initial" }]);
  });

  it("starts with minWorkers when initialWorkers throws, and reports the fault", () => {
    const { c, faults } = setup({
      minWorkers: 2,
      maxWorkers: 8,
      initialWorkers: () => {
        throw new Error("boom");
      },
    });
    expect(c.initialWorkers()).toBe(2);
    expect(faults).toHaveLength(1);
  });

  it("warns only past MAX_WORKERS, with the count asked for", () => {
    const exact = setup({ maxWorkers: 3, initialWorkers: () => MAX_WORKERS }, 1);
    expect(exact.c.initialWorkers()).toBe(3);
    exact.c.apply(MAX_WORKERS - 1, "tick");
    expect(exact.warnings).toEqual([]);
    const over = setup({ maxWorkers: 3 }, 1);
    over.c.apply(20_000, "tick");
    expect(over.warnings).toEqual([
      "its strategy asked for 20001 workers; clamped to 3 (no stage runs more than 10000)",
    ]);
  });

  it("cuts the initial workers to what the budget has left, keeping one, and leaves a start at 0 alone", () => {
    const budget = new WorkerBudget(4);
    const other = setup({ maxWorkers: 8 }, 3);
    budget.add(other.c);
    const a = setup({ initialWorkers: () => 5, maxWorkers: 8 }, 0);
    a.c.budgets.push(budget);
    budget.add(a.c);
    expect(a.c.initialWorkers()).toBe(1);
    other.pool.activeWorkers = 4; // the budget spent: still one
    expect(a.c.initialWorkers()).toBe(1);
    const zero = setup({ initialWorkers: () => 0, minWorkers: 0, maxWorkers: 8 }, 0);
    zero.c.budgets.push(budget);
    expect(zero.c.initialWorkers()).toBe(0);
  });

  it("reports what a throwing hook threw, once, and treats it as no change", () => {
    const boom = new Error("boom");
    const { c, pool, faults, events } = setup({
      maxWorkers: 8,
      onEnqueue: () => {
        throw boom;
      },
      onDequeue: () => {
        throw boom;
      },
    });
    c.onEnqueue();
    c.onDequeue();
    expect(faults).toEqual([boom, boom]);
    expect([pool.activeWorkers, events.length]).toEqual([1, 0]);
  });

  it("applies a change whose lastReason getter throws, reporting the fault", () => {
    const { c, events, faults } = setup({ maxWorkers: 8, onEnqueue: () => 1 });
    Object.defineProperty(c.strategy, "lastReason", {
      get() {
        throw new Error("boom");
      },
    });
    c.onEnqueue();
    expect(events.map((e) => [e.to, e.reason])).toEqual([[2, "enqueue"]]);
    expect(faults).toHaveLength(1);
  });

  it("runs without a warn hook", () => {
    const pool = {
      activeWorkers: 1,
      hasWork: false,
      done: false,
      resize: (t: number) => (pool.activeWorkers = t),
    };
    const hooks = { scaled: () => {}, fault: () => {} };
    const strategy = { initialWorkers: () => 1, onEnqueue: () => 0, onDequeue: () => 0, maxWorkers: 1e9 };
    const c = new ScalingController("s", strategy, pool, stageStats(), hooks);
    expect(() => c.apply(20_000, "tick")).not.toThrow();
    expect(pool.activeWorkers).toBe(1024);
  });

  it("names the hook a decision came from in the reason", () => {
    const { c, events } = setup({
      maxWorkers: 8,
      onDequeue: () => 1,
      onTick: () => 1,
      lastReason: "why",
    });
    c.onDequeue();
    c.onTick();
    expect(events.map((e) => e.reason)).toEqual(["dequeue: why", "tick: why"]);
  });

  it("changes nothing on a zero decision, even with the pool below minWorkers (workers that exited)", () => {
    const { c, pool, events } = setup({ minWorkers: 3, maxWorkers: 8 }, 1);
    c.onDequeue();
    c.onTick();
    expect([pool.activeWorkers, events.length]).toEqual([1, 0]);
  });

  it("calls onTick only when the strategy has one, and reports a getter that throws", () => {
    const none = setup({ maxWorkers: 8 });
    none.c.onTick();
    expect(none.faults).toEqual([]);
    const throwing = setup({ maxWorkers: 8 });
    Object.defineProperty(throwing.c.strategy, "onTick", {
      get() {
        throw new Error("boom");
      },
    });
    throwing.c.onTick();
    expect([throwing.faults.length, throwing.pool.activeWorkers]).toEqual([1, 1]);
  });

  it("starts a worker on the tick when items wait at zero and the strategy says 0", () => {
    const { c, pool, events } = setup({ minWorkers: 0, maxWorkers: 8 }, 0, true);
    c.onTick();
    expect(pool.activeWorkers).toBe(1);
    expect(events[0]?.reason).toBe("liveness: items wait and no worker runs");
    const idle = setup({ minWorkers: 0, maxWorkers: 8 }, 0, false);
    idle.c.onTick();
    expect(idle.events).toEqual([]);
  });

  it("says what a strategy returned when it is no number", () => {
    const { c, faults } = setup({ maxWorkers: 8, onEnqueue: () => Number.NaN });
    c.onEnqueue();
    expect(String(faults[0])).toBe("TypeError: strategy returned NaN from enqueue; expected a number");
  });

  it("reports no event when the pool could not change", () => {
    const { c, pool, events } = setup({ maxWorkers: 8 }, 2);
    pool.resize = () => 2; // spawning held back
    c.apply(3, "tick");
    expect(events).toEqual([]);
  });

  it("reports a worker that left on its own as a drop by one", () => {
    const { c, pool, events } = setup({ maxWorkers: 8 }, 3);
    pool.activeWorkers = 2;
    c.exited("input ended");
    expect(events).toEqual([{ stage: "s", from: 3, to: 2, reason: "exit: input ended" }]);
  });

  it("measures pressure as the expected queue wait, and spare workers as blocked or idle with nothing queued", () => {
    expect(setup({}, 1, false, { queueLength: 0, oldestItemAgeMs: 500 }).c.pressure()).toBe(0);
    expect(setup({}, 1, false, { queueLength: 10, throughput: 5, oldestItemAgeMs: 100 }).c.pressure()).toBe(
      2000,
    );
    expect(setup({}, 1, false, { queueLength: 10, throughput: 0, oldestItemAgeMs: 100 }).c.pressure()).toBe(
      10_000,
    );
    expect(setup({}, 1, false, { queueLength: 10, throughput: 100, oldestItemAgeMs: 300 }).c.pressure()).toBe(
      300,
    );
    expect(setup({}, 1, false, { queueLength: 3, avgIdleWorkers: 2, avgBlockedWorkers: 0.5 }).c.spare()).toBe(
      0.5,
    );
    expect(setup({}, 1, false, { queueLength: 0, avgIdleWorkers: 2, avgBlockedWorkers: 0.5 }).c.spare()).toBe(
      2,
    );
    const done = setup({});
    expect(done.c.finished).toBe(false);
    done.pool.done = true;
    expect(done.c.finished).toBe(true);
  });
});

describe("ScalingController.regrow", () => {
  it("grows back toward a target within the budget, keeping one worker while work waits", () => {
    const { c, pool, events } = setup({ maxWorkers: 8 }, 1);
    expect(c.regrow(3, "regrow")).toBe(3);
    expect(events.at(-1)).toEqual({ stage: "s", from: 1, to: 3, reason: "regrow" });
    expect(c.regrow(3, "again")).toBe(3);
    expect(events).toHaveLength(1);

    const budget = new WorkerBudget(4);
    const other = setup({ maxWorkers: 8 }, 2);
    budget.add(other.c);
    c.budgets.push(budget);
    budget.add(c);
    pool.activeWorkers = 1;
    expect(c.regrow(5, "regrow")).toBe(2); // 4 − 2 for the other stage
    expect(c.regrow(1, "shrink")).toBe(1); // not growth: no budget involved

    const waiting = setup({ minWorkers: 0, maxWorkers: 8 }, 1, true);
    expect(waiting.c.regrow(0, "to zero")).toBe(1);
    expect(waiting.c.regrow(3, "up")).toBe(3);
    const quiet = setup({ minWorkers: 0, maxWorkers: 8 }, 1, false);
    expect(quiet.c.regrow(0, "to zero")).toBe(0);
  });
});
