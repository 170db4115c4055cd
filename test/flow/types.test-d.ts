import { describe, expectTypeOf, it } from "vitest";
import { Flow } from "../../src/flow/flow.js";
import { flow } from "../../src/flow/flow-function.js";
import { perWorker } from "../../src/flow/per-worker.js";
import type { StageContext } from "../../src/flow/types.js";

const parse = (line: string) => line.length;
const enrich = async (n: number) => ({ n, even: n % 2 === 0 });
const store = (row: { n: number; even: boolean }) => `${row.n}`;

describe("types flow from producer to consumer", () => {
  it("infers each stage's input from the previous output in the builder", () => {
    const f = new Flow()
      .setProducer(["a", "bb"])
      .addTransformer(parse)
      .addTransformer(enrich)
      .addTransformer((row) => {
        expectTypeOf(row).toEqualTypeOf<{ n: number; even: boolean }>();
        return row.even;
      })
      .setConsumer((ok, ctx) => {
        expectTypeOf(ok).toEqualTypeOf<boolean>();
        expectTypeOf(ctx).toEqualTypeOf<StageContext>();
      });
    expectTypeOf(f).toEqualTypeOf<Flow<string, boolean>>();
  });

  it("types a flow built from stages before its producer", () => {
    const f = new Flow().addTransformer(parse).addTransformer(enrich);
    expectTypeOf(f).toEqualTypeOf<Flow<string, { n: number; even: boolean }>>();
    f.setProducer(["x"]);
    // @ts-expect-error the first stage takes strings
    f.setProducer([1, 2, 3]);
  });

  it("rejects a stage whose input does not match the previous output", () => {
    // @ts-expect-error enrich takes a number, the producer gives strings
    new Flow().setProducer(["a"]).addTransformer(enrich);
    // @ts-expect-error store takes rows, parse gives numbers
    new Flow().setProducer(["a"]).addTransformer(parse).setConsumer(store);
  });

  it("types the function form across any number of stages", () => {
    const f = flow(parse, enrich, store);
    expectTypeOf(f).toEqualTypeOf<Flow<string, string>>();
    const g = flow(parse, enrich, store, parse, enrich, store, parse, enrich, store, parse);
    expectTypeOf(g).toEqualTypeOf<Flow<string, number>>();
    expectTypeOf(flow(parse).stream(["a"])).toEqualTypeOf<AsyncIterable<number>>();
    // @ts-expect-error store does not take numbers
    flow(parse, store);
    // @ts-expect-error parse does not take rows (the 4th stage)
    flow(parse, enrich, store, store);
  });

  it("types perWorker stages like functions", () => {
    const f = new Flow()
      .setProducer([1, 2])
      .addTransformer(perWorker(() => ({ process: (x: number) => String(x) })))
      .setConsumer((s) => {
        expectTypeOf(s).toEqualTypeOf<string>();
      });
    expectTypeOf(f).toEqualTypeOf<Flow<number, string>>();
    // @ts-expect-error the resource takes strings, the producer gives numbers
    new Flow().setProducer([1]).addTransformer(perWorker(() => ({ process: (x: string) => x })));
  });

  it("types run() and stream() sources by the first stage's input", () => {
    const f = flow(parse);
    void f.run(["a"]);
    // @ts-expect-error numbers are not strings
    void f.run([1]);
  });
});
