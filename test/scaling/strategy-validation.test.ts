import { describe, expect, it } from "vitest";
import type { ScalingStrategy } from "../../src/index.js";
import {
  checkStrategy,
  inspectStrategy,
  MAX_WORKERS,
  workerCount,
  workerLimitsOf,
} from "../../src/scaling/worker-limits.js";

const hooks = () => ({ initialWorkers: () => 1, onEnqueue: () => 0, onDequeue: () => 0 });
const NOT_A_STRATEGY = /^a ScalingStrategy \(an object with initialWorkers, onEnqueue and onDequeue methods/;
const messages = (value: unknown) => inspectStrategy(value).issues.map((i) => [i.path ?? [], i.message]);

describe("a worker count option", () => {
  it("is a whole number from its minimum to MAX_WORKERS", () => {
    const count = workerCount(1);
    expect([1, 2, MAX_WORKERS].map((v) => count.safeParse(v).success)).toEqual([true, true, true]);
    expect([0, MAX_WORKERS + 1, 1.5, "2", Number.NaN].map((v) => count.safeParse(v).success)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("checking a custom scaling strategy", () => {
  it("wants an object with the three hooks", () => {
    for (const bad of [null, 5, "x", class {}]) {
      const { limits, issues } = inspectStrategy(bad);
      expect(limits).toEqual({ min: 1, max: 1024 });
      expect(issues.map((i) => i.message)).toEqual([expect.stringMatching(NOT_A_STRATEGY)]);
    }
    for (const hook of ["initialWorkers", "onEnqueue", "onDequeue"]) {
      const s: Record<string, unknown> = hooks();
      delete s[hook];
      expect(messages(s), hook).toEqual([[[], expect.stringMatching(NOT_A_STRATEGY)]]);
    }
    expect(messages(hooks())).toEqual([]);
  });

  it("takes onTick and clone as methods or nothing", () => {
    expect(messages({ ...hooks(), onTick: undefined, clone: () => hooks() })).toEqual([]);
    expect(messages({ ...hooks(), onTick: 5 })).toEqual([[["onTick"], "a method, or nothing"]]);
    expect(messages({ ...hooks(), clone: "x" })).toEqual([[["clone"], "a method, or nothing"]]);
  });

  it("reports a member whose getter throws, and reads no limits after a bad hook", () => {
    const throwing = {
      ...hooks(),
      get onTick(): never {
        throw new Error("boom");
      },
    };
    expect(messages(throwing)).toEqual([[["onTick"], expect.any(String)]]);
    const throwingHook = {
      ...hooks(),
      get onEnqueue(): never {
        throw new Error("boom");
      },
    };
    // One issue for the getter; the hook it could not read is not also called missing.
    expect(messages(throwingHook)).toEqual([[["onEnqueue"], expect.any(String)]]);
    let limitsRead = false;
    const badHook = {
      ...hooks(),
      onTick: 5,
      get maxWorkers() {
        limitsRead = true;
        return 4;
      },
    };
    expect(inspectStrategy(badHook).limits).toEqual({ min: 1, max: 1024 });
    expect(limitsRead).toBe(false);
  });

  it("reads minWorkers and maxWorkers, each a whole number in range, or takes 1 and 1024", () => {
    expect(inspectStrategy({ ...hooks(), minWorkers: 0, maxWorkers: 1 }).limits).toEqual({ min: 0, max: 1 });
    expect(inspectStrategy({ ...hooks(), minWorkers: 2000 }).limits).toEqual({ min: 2000, max: 2000 });
    expect(inspectStrategy({ ...hooks(), maxWorkers: MAX_WORKERS }).limits).toEqual({
      min: 1,
      max: MAX_WORKERS,
    });
    expect(messages({ ...hooks(), minWorkers: 1.5 })).toEqual([
      [["minWorkers"], "a whole number from 0 to 10000, or nothing"],
    ]);
    expect(messages({ ...hooks(), minWorkers: MAX_WORKERS + 1 })).toHaveLength(1);
    const maxProblem = "(minWorkers, at least 1) to 10000 (the most workers a stage may run), or nothing";
    expect(messages({ ...hooks(), minWorkers: 0, maxWorkers: 0 })).toEqual([
      [["maxWorkers"], `a whole number from 1 ${maxProblem}`],
    ]);
    expect(messages({ ...hooks(), minWorkers: 5, maxWorkers: 4 })).toEqual([
      [["maxWorkers"], `a whole number from 5 ${maxProblem}`],
    ]);
    expect(messages({ ...hooks(), maxWorkers: MAX_WORKERS + 1 })).toHaveLength(1);
  });
});

describe("the limits the controller applies", () => {
  it("are those read when the strategy was checked, never read again", () => {
    let reads = 0;
    const s = {
      ...hooks(),
      get maxWorkers() {
        reads++;
        return reads === 1 ? 8 : 2;
      },
    };
    expect(checkStrategy(s)).toEqual([]);
    expect(workerLimitsOf(s)).toEqual({ limits: { min: 1, max: 8 }, problem: null });
    expect(reads).toBe(1);
  });

  it("are read at once for a strategy never checked (a clone), the defaults standing in for what is unusable", () => {
    expect(workerLimitsOf({ ...hooks(), maxWorkers: 3 })).toEqual({
      limits: { min: 1, max: 3 },
      problem: null,
    });
    expect(workerLimitsOf({ ...hooks(), maxWorkers: 0 })).toEqual({
      limits: { min: 1, max: 1024 },
      problem:
        "maxWorkers is not a whole number from 1 (minWorkers, at least 1) to 10000 (the most workers a stage may run), or nothing; running with minWorkers 1, maxWorkers 1024",
    });
    const throwing = {
      ...hooks(),
      get minWorkers(): number {
        throw new Error("boom");
      },
    };
    expect(workerLimitsOf(throwing).problem).toBe(
      "minWorkers could not be read; running with minWorkers 1, maxWorkers 1024",
    );
    expect(workerLimitsOf(7 as unknown as ScalingStrategy).problem).toMatch(
      /^is not a ScalingStrategy .*; running with minWorkers 1, maxWorkers 1024$/,
    );
  });

  it("are not kept for a value that failed the check", () => {
    const bad = { ...hooks(), maxWorkers: 0 };
    expect(checkStrategy(bad)).toHaveLength(1);
    expect(workerLimitsOf(bad).problem).toMatch(/^maxWorkers is not/);
  });
});
