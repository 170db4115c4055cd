import { describe, expectTypeOf, it } from "vitest";
import { batch } from "../../src/index.js";
import { fanOut } from "../../src/index.js";
import { Flow } from "../../src/index.js";
import { Last, Skip, type Unskip } from "../../src/index.js";
import type { PushHandle } from "../../src/index.js";
import { router } from "../../src/index.js";
import { flow } from "../../src/index.js";
import { acked, flatMap } from "../../src/index.js";
import { perWorker, threaded } from "../../src/index.js";
import type { Job } from "../fixtures/threads/modes.worker.js";
import type { StageContext } from "../../src/index.js";

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

  it("unwraps Last(...) from a stage's output type", () => {
    const f = new Flow().setProducer([1]).addTransformer((x: number) => (x > 3 ? Last(`${x}`) : `${x}`));
    expectTypeOf(f).toEqualTypeOf<Flow<number, string>>();
    const g = new Flow().setProducer([1]).addTransformer(async (x: number) => Last(x > 1));
    expectTypeOf(g).toEqualTypeOf<Flow<number, boolean>>();
  });

  it("removes Skip from a stage's output type, in functions, perWorker, batch and fan-out merges", () => {
    const f = new Flow().setProducer([1]).addTransformer((x: number) => (x > 3 ? Skip : `${x}`));
    expectTypeOf(f).toEqualTypeOf<Flow<number, string>>();
    const g = new Flow()
      .setProducer([1])
      .addTransformer(async (x: number) => (x > 1 ? Skip : x > 0 ? Last(true) : false));
    expectTypeOf(g).toEqualTypeOf<Flow<number, boolean>>();
    const h = new Flow()
      .setProducer([1])
      .addTransformer(perWorker(() => ({ process: (x: number) => (x ? `${x}` : Skip) })))
      .addTransformer(batch((xs: string[]) => xs.map((x) => (x ? x.length : Skip)), { size: 4 }))
      .addTransformer(fanOut([(n: number) => n, (n: number) => `${n}`], ([a, b]) => (a ? b : Skip)));
    expectTypeOf(h).toEqualTypeOf<Flow<number, string>>();
    expectTypeOf<Unskip<number | typeof Skip>>().toEqualTypeOf<number>();
  });

  it("types a router: the classifier's input, the union of the arms' outputs", () => {
    const f = new Flow().setProducer([1, 2]).addTransformer(
      router((x: number) => (x % 2 ? "odd" : "even"), {
        odd: (x: number) => `${x}`,
        even: async (x: number) => x > 0,
      }),
    );
    expectTypeOf(f).toEqualTypeOf<Flow<number, string | boolean>>();
    const withDefault = router(
      (x: number) => String(x),
      { a: (x: number) => x },
      { default: (x: number) => [x] },
    );
    expectTypeOf(new Flow<number>().addTransformer(withDefault)).toEqualTypeOf<
      Flow<number, number | number[]>
    >();
    // @ts-expect-error the arm takes strings, the classifier numbers
    router((x: number) => String(x), { a: (s: string) => s });
  });

  it("types a fan-out: merge gets a tuple of the branch outputs", () => {
    const f = new Flow().setProducer(["a"]).addTransformer(
      fanOut([(s: string) => s.length, async (s: string) => s.toUpperCase()], ([n, u]) => {
        expectTypeOf(n).toEqualTypeOf<number>();
        expectTypeOf(u).toEqualTypeOf<string>();
        return { n, u };
      }),
    );
    expectTypeOf(f).toEqualTypeOf<Flow<string, { n: number; u: string }>>();
  });

  it("types a batch stage item by item, and a batch consumer", () => {
    const f = new Flow()
      .setProducer([1])
      .addTransformer(batch((xs: number[]) => xs.map(String), { size: 10 }))
      .setConsumer(
        batch(
          async (rows: string[]) => {
            expectTypeOf(rows).toEqualTypeOf<string[]>();
          },
          { size: 5 },
        ),
      );
    expectTypeOf(f).toEqualTypeOf<Flow<number, string>>();
  });

  it("composes sub-flows by their types, and rejects a mismatch", () => {
    const sub = new Flow<number>().addTransformer((x: number) => `${x}`);
    expectTypeOf(sub).toEqualTypeOf<Flow<number, string>>();
    const f = new Flow()
      .setProducer([1])
      .addTransformer(sub)
      .addTransformer((s: string) => s.length);
    expectTypeOf(f).toEqualTypeOf<Flow<number, number>>();
    // @ts-expect-error the sub-flow takes numbers, the producer gives strings
    new Flow().setProducer(["x"]).addTransformer(sub);
    expectTypeOf(flow(parse, sub as unknown as Flow<number, string>, parse)).toEqualTypeOf<
      Flow<string, number>
    >();
    // @ts-expect-error the sub-flow takes numbers, not rows
    flow(enrich, sub);
  });

  it("types push(): send takes the flow's input type", () => {
    const f = new Flow().setConsumer((x: number) => void x);
    expectTypeOf(f).toEqualTypeOf<Flow<number, unknown>>();
    const input = f.push();
    expectTypeOf(input).toEqualTypeOf<PushHandle<number>>();
    // @ts-expect-error strings are not numbers
    void input.send("one");
  });

  it("types flatMap's children as the next stage's items, in arms, sub-flows and push", () => {
    const f = new Flow()
      .setProducer(["a b", "c"])
      .addTransformer(flatMap((line: string) => line.split(" ")))
      .addTransformer((word: string, ctx) => ({ word, id: ctx.id, parent: ctx.parentId }));
    expectTypeOf(f).toEqualTypeOf<Flow<string, { word: string; id: number; parent: number | undefined }>>();
    const g = new Flow<number>().addTransformer(
      flatMap(async function* (n: number) {
        yield n;
        yield `${n}`;
      }),
    );
    expectTypeOf(g).toEqualTypeOf<Flow<number, number | string>>();
    const r = new Flow<number>().addTransformer(
      router((n: number) => (n ? "many" : "one"), {
        many: flatMap((n: number) => new Set([n, n])),
        one: (n: number) => n,
      }),
    );
    expectTypeOf(r).toEqualTypeOf<Flow<number, number>>();
    // @ts-expect-error a flatMap's function returns an iterable, not one value
    flatMap((n: number) => n + 1);
    const words = new Flow().setProducer(["x"]).addTransformer(flatMap((s: string) => [s]));
    // @ts-expect-error the children are strings, the next stage wants numbers
    words.addTransformer((n: number) => n);
  });

  it("takes acked items from a source or a push, and types the flow by what they wrap", () => {
    const f = new Flow()
      .setProducer([acked(1, { ack() {}, nack() {} })])
      .addTransformer((n: number) => `${n}`);
    expectTypeOf(f).toEqualTypeOf<Flow<number, string>>();
    const input = new Flow<number>().setConsumer(() => {}).push();
    void input.send(acked(2, { ack() {}, nack() {} }));
    // @ts-expect-error an acked string is not a number
    void input.send(acked("2", { ack() {}, nack() {} }));
  });

  it("types a threaded stage by its module's default export", () => {
    type Hash = typeof import("../fixtures/threads/cpu.worker.js");
    const f = new Flow<number>().addTransformer(threaded<Hash>(new URL("file:///x.js")));
    expectTypeOf(f).toEqualTypeOf<Flow<number, string>>();
    type Modes = typeof import("../fixtures/threads/modes.worker.js");
    const g = new Flow<Job>()
      .addTransformer(threaded<Modes>(new URL("file:///x.js")))
      .addTransformer((x: unknown) => x);
    expectTypeOf(g).toEqualTypeOf<Flow<Job, unknown>>();
    // @ts-expect-error the module hashes numbers, the producer gives strings
    new Flow().setProducer(["a"]).addTransformer(threaded<Hash>(new URL("file:///x.js")));
    const h = new Flow<number>().addTransformer(threaded<Hash>(new URL("file:///x.js")));
    // @ts-expect-error its results are strings, the next stage wants numbers
    h.addTransformer((n: number) => n);
    const b = new Flow<number>().addTransformer(
      batch(threaded<{ default: (xs: number[]) => string[] }>(new URL("file:///x.js")), { size: 4 }),
    );
    expectTypeOf(b).toEqualTypeOf<Flow<number, string>>();
  });
});
