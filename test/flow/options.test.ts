import { describe, expect, it } from "vitest";
import { batch } from "../../src/index.js";
import { fanOut } from "../../src/index.js";
import { Flow } from "../../src/index.js";
import { router } from "../../src/index.js";
import { FlowConfigError } from "../../src/index.js";
import { FixedScaling } from "../../src/index.js";

function thrown(fn: () => unknown): FlowConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FlowConfigError);
    return e as FlowConfigError;
  }
  throw new Error("expected a FlowConfigError");
}

const id = (x: unknown) => x;

describe("option validation", () => {
  it.each([
    [{ queueSize: 0 }, "queueSize", "0"],
    [{ queueSize: -5 }, "queueSize", "-5"],
    [{ queueSize: 1.5 }, "queueSize", "1.5"],
    [{ queueSize: Number.NaN }, "queueSize", "NaN"],
    [{ queueSize: "10" }, "queueSize", '"10"'],
    [{ queue: "random" }, "queue", '"random"'],
    [{ queue: { priority: 3 } }, "queue.priority", "3"],
    [{ name: "" }, "name", '""'],
    [{ name: 7 }, "name", "7"],
    [{ scalingStrategy: {} }, "scalingStrategy", "{}"],
    [{ scalingStrategy: () => 3 }, "scalingStrategy", "function"],
    [{ workers: 4 }, "workers", "4"],
  ])("a stage option %j throws naming %s and the value", (options, option, value) => {
    const e = thrown(() => new Flow().addTransformer(id, options as never));
    expect(e.message).toMatch(/^addTransformer, stage "(id|stage1)": /);
    expect(e.option).toBe(option);
    expect(e.message).toContain(option);
    expect(e.message).toContain(value);
    expect(e.message).toMatch(/expected|unknown option/);
    expect(e.code).toBe("ERR_FLOW_CONFIG");
    expect(e.cause).toBeDefined();
  });

  it.each([
    [{ tickMs: 0 }, "tickMs"],
    [{ tickMs: Number.POSITIVE_INFINITY }, "tickMs"],
    [{ statsIntervalMs: -1 }, "statsIntervalMs"],
    [{ timingSampleEvery: 0 }, "timingSampleEvery"],
    [{ clock: { now: () => 0 } }, "clock"],
    [{ defaultScalingStrategy: 5 }, "defaultScalingStrategy"],
    [{ errorHandler: "log" }, "errorHandler"],
    [{ handleSignalz: true }, "handleSignalz"],
  ])("a flow option %j throws naming %s", (options, option) => {
    const e = thrown(() => new Flow(options as never));
    expect(e.option).toBe(option);
    expect(e.message).toMatch(/^Flow options: /);
  });

  it.each([
    ["a number", 42],
    ["a string", "abc"],
    ["null", null],
    ["a plain object", { a: 1 }],
  ])("setProducer rejects %s", (_label, source) => {
    expect(thrown(() => new Flow().setProducer(source as never)).message).toMatch(
      /expected an AsyncIterable, an Iterable/,
    );
  });

  it.each([
    ["a generator object", (function* () {})()],
    ["a number", 1],
    ["an object", { process: () => 1 }],
  ])("addTransformer and setConsumer reject %s where a function is needed", (_label, fn) => {
    expect(thrown(() => new Flow().addTransformer(fn as never)).message).toMatch(
      /fn = .*: expected a stage function, perWorker\(\.\.\.\), a Flow, or a router \/ fanOut \/ batch/,
    );
    expect(thrown(() => new Flow().setConsumer(fn as never)).message).toMatch(
      /fn = .*: expected a function, perWorker\(factory\) or batch\(\.\.\.\)/,
    );
  });

  it("names the stage being configured", () => {
    const f = new Flow().addTransformer(id, { name: "parse" });
    expect(thrown(() => f.configure("parse", { queueSize: -1 })).message).toMatch(
      /^configure, stage "parse": option "queueSize" = -1/,
    );
  });

  it("rejects bad setErrorHandler, setDefaultScalingStrategy and dump arguments", () => {
    expect(() => new Flow().setErrorHandler(3 as never)).toThrow(FlowConfigError);
    expect(() => new Flow().setDefaultScalingStrategy({} as never)).toThrow(FlowConfigError);
    expect(() => new Flow().dump({ mode: "graph" as never })).toThrow(/option "mode" = "graph"/);
    expect(() => new Flow().dump({ mode: "stats", format: "mermaid" })).toThrow(FlowConfigError);
    expect(() => new Flow().setDefaultScalingStrategy(new FixedScaling({ workers: 2 }))).not.toThrow();
  });

  it("rejects a run() signal that is not an AbortSignal", async () => {
    await expect(new Flow().setConsumer(id).run([1], { signal: {} as never })).rejects.toThrow(
      /expected an AbortSignal/,
    );
  });

  it.each([
    ["router without a classifier function", () => router("kind" as never, { a: id }), "classify", '"kind"'],
    [
      "router with a generator object as classifier",
      () => router((function* () {})() as never, { a: id }),
      "classify",
      "a generator object",
    ],
    ["router with arms that are not an object", () => router(id, [id] as never), "arms", "array(1)"],
    ["router with no arms", () => router(id, {}), "arms", "{}"],
    ["router with an arm that is not a stage", () => router(id, { a: 5 as never }), "arms.a", "5"],
    [
      "router with an unknown option",
      () => router(id, { a: id }, { fallback: id } as never),
      "fallback",
      "function id",
    ],
    [
      "router with a default that is not a stage",
      () => router(id, { a: id }, { default: "x" as never }),
      "default",
      '"x"',
    ],
    [
      "router with an arm named default and a default",
      () => router(id, { default: id }, { default: id }),
      "arms.default",
      "default",
    ],
    ["router with an empty name", () => router(id, { a: id }, { name: "" }), "name", '""'],
    ["fanOut without branches", () => fanOut([] as never, id as never), "branches", "array(0)"],
    [
      "fanOut with a branch that is not a stage",
      () => fanOut([id, null] as never, id as never),
      "branches.1",
      "null",
    ],
    ["fanOut without a merge function", () => fanOut([id], "merge" as never), "merge", '"merge"'],
    ["fanOut with an unknown option", () => fanOut([id], id as never, { size: 2 } as never), "size", "2"],
    ["batch without a size", () => batch(id as never, {} as never), "size", "undefined"],
    ["batch with a fractional size", () => batch(id as never, { size: 2.5 }), "size", "2.5"],
    ["batch with flushMs NaN", () => batch(id as never, { size: 2, flushMs: Number.NaN }), "flushMs", "NaN"],
    ["batch with a non-function", () => batch(42 as never, { size: 2 }), "fn", "42"],
    [
      "ordered that is not a boolean",
      () => new Flow().addTransformer(id, { ordered: "yes" as never }),
      "ordered",
      '"yes"',
    ],
    [
      "a batch queue smaller than a batch",
      () => new Flow().addTransformer(batch(id as never, { size: 8 }), { queueSize: 4 }),
      "queueSize",
      "4",
    ],
    [
      "a sub-flow given stage options",
      () => new Flow().addTransformer(new Flow().addTransformer(id), { ordered: true }),
      "ordered",
      "ordered",
    ],
    [
      "a consumer that is a router",
      () => new Flow().setConsumer(router(id, { a: id }) as never),
      "fn",
      "Router",
    ],
  ])("rejects %s", (_label, make, option, value) => {
    const e = thrown(make);
    expect(e.option).toBe(option);
    expect(e.message).toContain(value);
    expect(e.message).toMatch(/expected|does not apply|rename|unknown option/);
  });
});
