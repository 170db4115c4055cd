import { describe, expect, it } from "vitest";
import type { ScaleEvent } from "../../../src/index.js";
import { ScalingController } from "../../../src/runtime/scaling/scaling-controller.js";
import { WorkerBudget } from "../../../src/runtime/scaling/worker-budget.js";
import type { StageStats } from "../../../src/index.js";
import { stageStats } from "../../helpers.js";

describe("WorkerBudget, unit by unit", () => {
  function stage(name: string, active: number, budget: WorkerBudget, stats: Partial<StageStats>) {
    const st = { ...stageStats(), ...stats } as { -readonly [K in keyof StageStats]: StageStats[K] };
    const pool = {
      activeWorkers: active,
      hasWork: true,
      done: false,
      resize(target: number) {
        pool.activeWorkers = target;
        return target;
      },
    };
    const strategy = {
      initialWorkers: () => active,
      onEnqueue: () => 0,
      onDequeue: () => 0,
      maxWorkers: 64,
    };
    const events: ScaleEvent[] = [];
    const c = new ScalingController(name, strategy, pool, st, {
      scaled: (e) => events.push(e),
      fault: () => {},
    });
    c.budgets.push(budget);
    budget.add(c);
    return { c, pool, st, events };
  }

  it("cuts growth to what is left, and moves a worker to the stage under pressure only on the tick it asks", () => {
    const budget = new WorkerBudget(4);
    const a = stage("a", 2, budget, { queueLength: 100, throughput: 10 }); // ~10 s of queue
    const b = stage("b", 2, budget, { queueLength: 0 });
    expect(a.c.apply(2, "tick")).toBe(2); // the budget is spent: no growth, a wish noted
    budget.rebalance(0);
    expect([a.pool.activeWorkers, b.pool.activeWorkers]).toEqual([3, 1]);
    expect(b.events.at(-1)?.reason).toBe("budget: 1 to a (expected queue wait 10000 ms)");
    budget.rebalance(100); // a did not ask again on this tick: nothing moves
    expect([a.pool.activeWorkers, b.pool.activeWorkers]).toEqual([3, 1]);
  });

  it("does not hand a worker straight back along a move made on pressure alone", () => {
    const budget = new WorkerBudget(4);
    const a = stage("a", 2, budget, { queueLength: 100, throughput: 10 });
    const b = stage("b", 2, budget, { queueLength: 0 });
    a.c.apply(1, "tick");
    budget.rebalance(0);
    expect([a.pool.activeWorkers, b.pool.activeWorkers]).toEqual([3, 1]);
    // Now b is the one under pressure and a looks calm.
    a.st.queueLength = 0;
    b.st.queueLength = 100;
    b.st.throughput = 10;
    b.st.now = 1000;
    b.c.apply(1, "tick");
    budget.rebalance(1000);
    expect([a.pool.activeWorkers, b.pool.activeWorkers]).toEqual([3, 1]); // held: within 5 s
    b.st.now = 6000;
    b.c.apply(1, "tick");
    budget.rebalance(6000);
    expect([a.pool.activeWorkers, b.pool.activeWorkers]).toEqual([2, 2]);
  });

  it("takes idle workers from a stage with an empty queue first, as many as needed", () => {
    const budget = new WorkerBudget(8);
    const a = stage("a", 2, budget, { queueLength: 100, throughput: 10 });
    const b = stage("b", 6, budget, { queueLength: 0, avgIdleWorkers: 4.5 });
    a.c.apply(6, "tick");
    budget.rebalance(0);
    expect([a.pool.activeWorkers, b.pool.activeWorkers]).toEqual([6, 2]);
  });
});
