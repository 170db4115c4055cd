import { describe, expect, it } from "vitest";
import { batch } from "../../src/index.js";
import { fanOut } from "../../src/index.js";
import { Flow } from "../../src/index.js";
import { perWorker } from "../../src/index.js";
import { router } from "../../src/index.js";
import { FlowConfigError } from "../../src/index.js";
import { FixedScaling } from "../../src/index.js";
import { UtilizationScaling } from "../../src/index.js";
import { AdaptiveScaling } from "../../src/index.js";
import { LatencyBudgetScaling } from "../../src/index.js";
import { TargetUtilizationScaling } from "../../src/index.js";
import { ThroughputScaling } from "../../src/index.js";
import { parseScenario } from "../../src/simulate/index.js";
import { withHole } from "../helpers.js";
import { VirtualClock } from "../../src/index.js";

const id = (x: unknown) => x;
const stage = (options: unknown) => () => new Flow().addTransformer(id, options as never);
const flowWith = (options: unknown) => () => new Flow(options as never);
function startedGenerator(): Generator<number> {
  const g = (function* () {
    yield 1;
    yield 2;
  })();
  g.next();
  return g;
}

/**
 * Every public entry point that takes options, given something wrong: [what, call, the option
 * the error must name, how the bad value must appear in the message].
 */
const BAD_INPUTS: [string, () => unknown, string, string][] = [
  // stage options: sizes and kinds
  ["queueSize 0", stage({ queueSize: 0 }), "queueSize", "0"],
  ["negative queueSize", stage({ queueSize: -5 }), "queueSize", "-5"],
  ["fractional queueSize", stage({ queueSize: 2.5 }), "queueSize", "2.5"],
  ["NaN queueSize", stage({ queueSize: Number.NaN }), "queueSize", "NaN"],
  ["queueSize as a string", stage({ queueSize: "10" }), "queueSize", '"10"'],
  ["an unknown queue discipline", stage({ queue: "random" }), "queue", '"random"'],
  ["a priority that is not a function", stage({ queue: { priority: 1 } }), "queue.priority", "1"],
  ["an empty stage name", stage({ name: "" }), "name", '""'],
  ["a strategy that is not one", stage({ scalingStrategy: {} }), "scalingStrategy", "{}"],
  ["ordered as a string", stage({ ordered: "yes" }), "ordered", '"yes"'],
  ["an unknown stage option", stage({ workers: 4 }), "workers", "4"],
  // retry
  ["retry as a number", stage({ retry: 3 }), "retry", "3"],
  ["retry.attempts 0", stage({ retry: { attempts: 0 } }), "retry.attempts", "0"],
  ["fractional retry.attempts", stage({ retry: { attempts: 1.5 } }), "retry.attempts", "1.5"],
  ["Infinity retry.attempts", stage({ retry: { attempts: Infinity } }), "retry.attempts", "Infinity"],
  ["negative baseMs", stage({ retry: { backoff: { baseMs: -1 } } }), "retry.backoff.baseMs", "-1"],
  [
    "maxMs below baseMs",
    stage({ retry: { backoff: { baseMs: 500, maxMs: 100 } } }),
    "retry.backoff.maxMs",
    "100",
  ],
  ["factor below 1", stage({ retry: { backoff: { factor: 0.5 } } }), "retry.backoff.factor", "0.5"],
  ["jitter above 1", stage({ retry: { backoff: { jitter: 2 } } }), "retry.backoff.jitter", "2"],
  ["NaN jitter", stage({ retry: { backoff: { jitter: Number.NaN } } }), "retry.backoff.jitter", "NaN"],
  ["retryOn that is not a function", stage({ retry: { retryOn: "always" } }), "retry.retryOn", '"always"'],
  ["an unknown retry key", stage({ retry: { tries: 3 } }), "retry.tries", "3"],
  ["an unknown backoff key", stage({ retry: { backoff: { delay: 5 } } }), "retry.backoff.delay", "5"],
  // timeouts and dead letters
  ["timeoutMs 0", stage({ timeoutMs: 0 }), "timeoutMs", "0"],
  ["negative timeoutMs", stage({ timeoutMs: -10 }), "timeoutMs", "-10"],
  ["Infinity timeoutMs", stage({ timeoutMs: Infinity }), "timeoutMs", "Infinity"],
  ["timeoutMs as a string", stage({ timeoutMs: "100" }), "timeoutMs", '"100"'],
  ["a stage deadLetter that is not a function", stage({ deadLetter: 5 }), "deadLetter", "5"],
  // flow options
  ["tickMs 0", flowWith({ tickMs: 0 }), "tickMs", "0"],
  ["Infinity tickMs", flowWith({ tickMs: Infinity }), "tickMs", "Infinity"],
  ["negative statsIntervalMs", flowWith({ statsIntervalMs: -1 }), "statsIntervalMs", "-1"],
  ["a clock without timers", flowWith({ clock: { now: () => 0 } }), "clock", "now"],
  ["an errorHandler that is not a function", flowWith({ errorHandler: "log" }), "errorHandler", '"log"'],
  ["a flow deadLetter that is an object", flowWith({ deadLetter: {} }), "deadLetter", "{}"],
  ["handlerTimeoutMs 0", flowWith({ handlerTimeoutMs: 0 }), "handlerTimeoutMs", "0"],
  ["NaN handlerTimeoutMs", flowWith({ handlerTimeoutMs: Number.NaN }), "handlerTimeoutMs", "NaN"],
  ["handleSignals as a string", flowWith({ handleSignals: "yes" }), "handleSignals", '"yes"'],
  [
    "handleSignals.exit that is not a boolean",
    flowWith({ handleSignals: { exit: 1 } }),
    "handleSignals.exit",
    "1",
  ],
  [
    "handleSignals() with an unknown key",
    () => new Flow().handleSignals({ quit: true } as never),
    "quit",
    "true",
  ],
  ["a misspelt flow option", flowWith({ handleSignal: true }), "handleSignal", "true"],
  // calls
  ["drain with a NaN deadline", () => new Flow().drain({ timeoutMs: Number.NaN }), "timeoutMs", "NaN"],
  ["a producer that is a number", () => new Flow().setProducer(42 as never), "producer", "42"],
  [
    "an already-started generator as a transformer",
    () => new Flow().addTransformer(startedGenerator() as never),
    "fn",
    "a generator object",
  ],
  [
    "an already-started generator as a perWorker factory",
    () => perWorker(startedGenerator() as never),
    "factory",
    "a generator object",
  ],
  [
    "an already-started generator as a classifier",
    () => router(startedGenerator() as never, { a: id }),
    "classify",
    "a generator object",
  ],
  ["a merge that is not a function", () => fanOut([id], 7 as never), "merge", "7"],
  ["a batch size of 0", () => batch(id as never, { size: 0 }), "size", "0"],
  ["a negative flushMs", () => batch(id as never, { size: 2, flushMs: -5 }), "flushMs", "-5"],
  // strategies
  ["FixedScaling with -1 workers", () => new FixedScaling({ workers: -1 }), "workers", "-1"],
  [
    "UtilizationScaling with min > max",
    () => new UtilizationScaling({ minWorkers: 5, maxWorkers: 2 }),
    "minWorkers",
    "5",
  ],
  [
    "UtilizationScaling with utilization 2",
    () => new UtilizationScaling({ upperUtilization: 2 }),
    "upperUtilization",
    "2",
  ],
  ["AdaptiveScaling with maxWorkers 0", () => new AdaptiveScaling({ maxWorkers: 0 }), "maxWorkers", "0"],
  [
    "AdaptiveScaling with min > max",
    () => new AdaptiveScaling({ minWorkers: 9, maxWorkers: 4 }),
    "minWorkers",
    "9",
  ],
  [
    "AdaptiveScaling with initialWorkers above max",
    () => new AdaptiveScaling({ maxWorkers: 4, initialWorkers: 8 }),
    "initialWorkers",
    "8",
  ],
  ["AdaptiveScaling with a negative headroom", () => new AdaptiveScaling({ headroom: -1 }), "headroom", "-1"],
  [
    "AdaptiveScaling with targetQueueWaitMs 0",
    () => new AdaptiveScaling({ targetQueueWaitMs: 0 }),
    "targetQueueWaitMs",
    "0",
  ],
  ["AdaptiveScaling with tolerance 1.5", () => new AdaptiveScaling({ tolerance: 1.5 }), "tolerance", "1.5"],
  [
    "AdaptiveScaling with kneeGuard 'yes'",
    () => new AdaptiveScaling({ kneeGuard: "yes" as never }),
    "kneeGuard",
    '"yes"',
  ],
  [
    "AdaptiveScaling with an unknown option",
    () => new AdaptiveScaling({ workers: 3 } as never),
    "workers",
    "3",
  ],
  [
    "TargetUtilizationScaling with target 0",
    () => new TargetUtilizationScaling({ target: 0 }),
    "target",
    "0",
  ],
  ["ThroughputScaling with step 0", () => new ThroughputScaling({ step: 0 }), "step", "0"],
  [
    "LatencyBudgetScaling without a budget",
    () => new LatencyBudgetScaling({} as never),
    "latencyBudgetMs",
    "undefined",
  ],
  [
    "LatencyBudgetScaling with decrease 1",
    () => new LatencyBudgetScaling({ latencyBudgetMs: 10, decrease: 1 }),
    "decrease",
    "1",
  ],
  ["maxTotalWorkers 0", flowWith({ maxTotalWorkers: 0 }), "maxTotalWorkers", "0"],
  ["maxTotalWorkers 2.5", flowWith({ maxTotalWorkers: 2.5 }), "maxTotalWorkers", "2.5"],
  ["VirtualClock with gridMs 0", () => new VirtualClock(0, { gridMs: 0 }), "gridMs", "0"],
  // issue 12: what got through before
  ["a Map as options", flowWith(new Map([["tickMs", 5]])), "options", "a Map"],
  ["a Date as stage options", stage(new Date(0)), "options", "a Date"],
  ["options with a symbol key", flowWith({ [Symbol("tick")]: 5 }), "Symbol(tick)", "symbol key"],
  [
    "a class instance as options",
    () => new AdaptiveScaling(new (class Opts {})() as never),
    "options",
    "a Opts",
  ],
  [
    "a string as run() options",
    () => new Flow().setConsumer(id).run([1], "opts" as never),
    "options",
    '"opts"',
  ],
  [
    "a getter that throws",
    flowWith({
      get tickMs(): number {
        throw new RangeError("no tick");
      },
    }),
    "tickMs",
    "RangeError: no tick",
  ],
  [
    "a Proxy whose traps throw",
    stage(
      new Proxy(
        { queueSize: 4 },
        {
          ownKeys: () => {
            throw new Error("keys");
          },
        },
      ),
    ),
    "options",
    "listing its keys threw Error: keys",
  ],
  ["a sparse fanOut branches array", () => fanOut(withHole(id, id) as never, id), "branches.1", "hole"],
  [
    "a strategy whose maxWorkers getter throws",
    stage({
      scalingStrategy: {
        initialWorkers: () => 1,
        onEnqueue: () => 0,
        onDequeue: () => 0,
        get maxWorkers(): number {
          throw new Error("max");
        },
      },
    }),
    "scalingStrategy.maxWorkers",
    "Error: max",
  ],
  ["a class as a perWorker factory", () => perWorker(class Conn {} as never), "factory", "class Conn"],
  ["a class as a transformer", () => new Flow().addTransformer(class Parse {} as never), "fn", "class Parse"],
  ["queueSize as a BigInt", stage({ queueSize: 10n }), "queueSize", "= 10n"],
  ["FixedScaling with 1e9 workers", () => new FixedScaling({ workers: 1e9 }), "workers", "1000000000"],
  ["maxWorkers 2^53", () => new AdaptiveScaling({ maxWorkers: 2 ** 53 }), "maxWorkers", "9007199254740992"],
  ["maxTotalWorkers 1e9", flowWith({ maxTotalWorkers: 1e9 }), "maxTotalWorkers", "1000000000"],
  [
    "a custom strategy declaring 1e9 workers",
    stage({
      scalingStrategy: { initialWorkers: () => 1, onEnqueue: () => 0, onDequeue: () => 0, maxWorkers: 1e9 },
    }),
    "scalingStrategy.maxWorkers",
    "1000000000",
  ],
  ["a 30-day timeoutMs", stage({ timeoutMs: 30 * 86_400_000 }), "timeoutMs", "2592000000"],
  ["a 2^31 ms drain deadline", () => new Flow().drain({ timeoutMs: 2 ** 31 }), "timeoutMs", "2147483648"],
  ["a 2^31 ms flushMs", () => batch(id as never, { size: 2, flushMs: 2 ** 31 }), "flushMs", "2147483648"],
  // scenarios (the simulator's input)
  [
    "a scenario phase with no nRef",
    () => parseScenario({ id: "x", phases: [{ durationS: 1, rate: 10 }] }),
    "phases.0.nRef",
    "undefined",
  ],
  [
    "a scenario with a negative rate",
    () => parseScenario({ id: "x", phases: [{ durationS: 1, rate: -1, nRef: 1 }] }),
    "phases.0.rate",
    "-1",
  ],
];

describe("bad input", () => {
  it("covers at least 40 cases", () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(BAD_INPUTS)(
    "%s throws a FlowConfigError naming the option and the value",
    async (_what, call, option, value) => {
      let error: unknown;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FlowConfigError);
      const e = error as FlowConfigError;
      expect(e.option).toBe(option);
      expect(e.message).toContain(option.split(".").pop()!);
      expect(e.message).toContain(value);
      expect(e.message).toMatch(/expected|unknown option|could not be read/);
      // A boundary error, not a crash from deep inside: the stack starts at the check.
      expect(e.stack).not.toMatch(/[/\\](worker|stage|channel)\.ts/);
    },
  );
});

describe("a strategy's clone(), run when the flow starts", () => {
  const hooks = { initialWorkers: () => 1, onEnqueue: () => 0, onDequeue: () => 0 };

  it("that throws is a FlowConfigError of the start, naming the stage", async () => {
    const f = new Flow({
      defaultScalingStrategy: {
        ...hooks,
        clone: () => {
          throw new Error("no copy");
        },
      },
    }).addTransformer(id, { name: "parse" });
    const error = await f.run([1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowConfigError);
    expect((error as FlowConfigError).option).toBe("scalingStrategy.clone");
    expect((error as Error).message).toMatch(/stage "parse": .*clone\(\) threw Error: no copy/);
  });

  it("that returns no strategy, or one past the worker cap, is refused the same way", async () => {
    for (const copy of [{}, { ...hooks, maxWorkers: 1e9 }]) {
      const f = new Flow({ defaultScalingStrategy: { ...hooks, clone: () => copy as never } }).addTransformer(
        id,
      );
      const error = await f.run([1]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FlowConfigError);
      expect((error as Error).message).toMatch(/clone\(\) returned something that is not a ScalingStrategy/);
    }
  });
});
