import { describe, expect, it } from "vitest";
import type { FlowErrorEvent } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { flow } from "../../../src/index.js";
import { FixedScaling } from "../../../src/index.js";
import { UtilizationScaling } from "../../../src/index.js";
import { range } from "../../helpers.js";

const normalize = () =>
  new Flow<string>()
    .addTransformer((s: string) => s.trim(), { name: "trim", queueSize: 7 })
    .addTransformer((s: string) => s.toLowerCase(), {
      name: "lower",
      scalingStrategy: new FixedScaling({ workers: 2 }),
    });

describe("sub-flows", () => {
  it("inlines the stages under dotted names, keeping their own options", async () => {
    const out: string[] = [];
    const f = new Flow()
      .setProducer([" A", "B "])
      .addTransformer(normalize(), { name: "norm" })
      .setConsumer((s) => void out.push(s));
    await f.start();
    expect(f.stageStats("norm.trim")).toMatchObject({ queueCapacity: 7, totalWorkers: 1 });
    expect(f.stageStats("norm.lower")).toMatchObject({ totalWorkers: 2 });
    await f.wait();
    expect(out.sort()).toEqual(["a", "b"]);
  });

  it("names a sub-flow `sub` when not told otherwise, de-duplicating", () => {
    const f = new Flow().addTransformer(normalize()).addTransformer(normalize());
    expect(f.dump({ format: "json" })).toContain('"sub-2.lower"');
    expect(JSON.parse(f.dump({ format: "json" })).stages.map((s: { name: string }) => s.name)).toEqual([
      "producer",
      "sub.trim",
      "sub.lower",
      "sub-2.trim",
      "sub-2.lower",
    ]);
  });

  it("lets the parent configure a dotted name over the sub-flow's own option", async () => {
    const f = new Flow()
      .setProducer(["x"])
      .addTransformer(normalize(), { name: "norm" })
      .configure("norm.lower", { scalingStrategy: new FixedScaling({ workers: 5 }) })
      .setConsumer(() => {});
    await f.start();
    expect(f.stageStats("norm.lower")!.totalWorkers).toBe(5);
    expect(f.stageStats("norm.trim")!.queueCapacity).toBe(7);
    await f.wait();
  });

  it("gives the same output standalone and composed", async () => {
    const lines = range(30).map((i) => `  Line ${i} `);
    const standalone: string[] = [];
    for await (const s of normalize().stream(lines)) standalone.push(s);
    const composed: string[] = [];
    for await (const s of flow(
      (s: string) => s,
      normalize(),
      (s: string) => s,
    ).stream(lines))
      composed.push(s);
    // "lower" runs two workers, so order is not promised: the same items, in any order.
    expect([...composed].sort()).toEqual([...standalone].sort());
    expect(standalone).toContain("line 3");
    expect(composed).toHaveLength(30);
  });

  it("ignores the sub-flow's error handler once composed", async () => {
    const subEvents: FlowErrorEvent[] = [];
    const parentEvents: FlowErrorEvent[] = [];
    const sub = new Flow<number>()
      .addTransformer((x: number) => {
        if (x === 1) throw new Error("one");
        return x;
      })
      .setErrorHandler((e) => void subEvents.push(e));
    await new Flow()
      .setProducer(range(3))
      .addTransformer(sub, { name: "s" })
      .setConsumer(() => {})
      .setErrorHandler((e) => void parentEvents.push(e))
      .run();
    expect(subEvents).toEqual([]);
    expect(parentEvents).toEqual([
      expect.objectContaining({ type: "TransformerError", item: 1, stage: "s.stage1" }),
    ]);
  });

  it("applies the sub-flow's default strategy to its stages, the parent's elsewhere", async () => {
    const sub = new Flow<number>({ defaultScalingStrategy: new FixedScaling({ workers: 3 }) }).addTransformer(
      (x: number) => x,
      { name: "inner" },
    );
    const f = new Flow({ defaultScalingStrategy: new UtilizationScaling({ minWorkers: 2, maxWorkers: 4 }) })
      .setProducer([1])
      .addTransformer(sub, { name: "s" })
      .setConsumer(() => {});
    expect(f.dump()).toContain("-> [transformer] s.inner  queue=1024 fifo  workers=FixedScaling [3..3]");
    expect(f.dump()).toContain("-> [consumer] consumer  queue=1024 fifo  workers=UtilizationScaling [2..4]");
    await f.run();
  });

  it("refuses a sub-flow with a consumer, without stages, or with options other than its name", () => {
    expect(() => new Flow().addTransformer(new Flow().setConsumer(() => {}) as never)).toThrow(
      /the flow composed as "sub" has a consumer/,
    );
    expect(() => new Flow().addTransformer(new Flow())).toThrow(/has no stages/);
    expect(() => new Flow().addTransformer(normalize(), { queueSize: 3 })).toThrow(
      /option "queueSize" does not apply to a composed flow/,
    );
  });

  it("keeps a composed copy: changing the sub-flow later does not change the parent", async () => {
    const sub = new Flow<number>().addTransformer((x: number) => x + 1, { name: "inc" });
    const parent = new Flow().addTransformer(sub, { name: "p" });
    sub.addTransformer((x: number) => x * 100, { name: "big" });
    const out: number[] = [];
    await parent
      .setProducer([1, 2])
      .setConsumer((x) => void out.push(x))
      .run();
    expect(out).toEqual([2, 3]);
  });
});
