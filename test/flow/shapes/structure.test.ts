import { describe, expect, it } from "vitest";
import { batch } from "../../../src/index.js";
import { fanOut } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { router } from "../../../src/index.js";
import { renderStats } from "../../../src/stats/render-stats.js";
import { range } from "../../helpers.js";

const classify = (x: number) => (x % 2 ? "odd" : "even");
const build = () =>
  new Flow()
    .setProducer(range(10))
    .addTransformer(
      router(
        classify,
        { odd: (x: number) => x, even: new Flow<number>().addTransformer((x: number) => x, { name: "a" }) },
        {
          default: (x: number) => x,
        },
      ),
    )
    .addTransformer(
      fanOut(
        [
          function geo(x: number) {
            return x;
          },
          (x: number) => x,
        ],
        ([a]) => a,
        { name: "enrich" },
      ),
      {
        ordered: true,
      },
    )
    .setConsumer(
      batch(() => {}, { size: 5, flushMs: 200 }),
      { name: "store" },
    );

describe("dump({ mode: 'structure' })", () => {
  it("shows classifiers, arms, fan-outs, merges and batch stages as text", () => {
    expect(build().dump()).toBe(
      [
        "[producer] producer",
        "  -> [router] classify  queue=1024 fifo  workers=FixedScaling [1..1]",
        '       arm "odd":',
        "         -> [transformer] classify.odd  queue=1024 fifo  workers=FixedScaling [1..1]",
        '       arm "even":',
        "         -> [transformer] classify.even.a  queue=1024 fifo  workers=FixedScaling [1..1]",
        "       default (any other label):",
        "         -> [transformer] classify.default  queue=1024 fifo  workers=FixedScaling [1..1]",
        "  -> [fan-out] enrich: every item to each branch, then merged",
        '       branch "geo":',
        "         -> [transformer] enrich.geo  queue=1024 fifo  workers=FixedScaling [1..1]",
        '       branch "branch2":',
        "         -> [transformer] enrich.branch2  queue=1024 fifo  workers=FixedScaling [1..1]",
        "     -> [merge] enrich  queue=1024 fifo ordered  workers=FixedScaling [1..1]",
        "  -> [batch consumer] store  size=5 flushMs=200  queue=1024 fifo  workers=FixedScaling [1..1]",
      ].join("\n"),
    );
  });

  it("gives JSON stages and the edges items take, arms labelled", () => {
    const { stages, edges } = JSON.parse(build().dump({ format: "json" }));
    expect(stages.map((s: { name: string; kind: string }) => `${s.kind}:${s.name}`)).toEqual([
      "producer:producer",
      "classifier:classify",
      "transformer:classify.odd",
      "transformer:classify.even.a",
      "transformer:classify.default",
      "transformer:enrich.geo",
      "transformer:enrich.branch2",
      "merge:enrich",
      "consumer:store",
    ]);
    expect(stages.at(-1)).toMatchObject({ batchSize: 5, flushMs: 200 });
    expect(edges).toContainEqual({ from: "producer", to: "classify" });
    expect(edges).toContainEqual({ from: "classify", to: "classify.odd", label: "odd" });
    expect(edges).toContainEqual({ from: "classify", to: "classify.default", label: "default" });
    // Every arm end feeds every fan-out branch; every branch feeds the merge.
    expect(edges.filter((e: { to: string }) => e.to === "enrich.geo")).toHaveLength(3);
    expect(edges).toContainEqual({ from: "enrich.branch2", to: "enrich" });
    expect(edges).toContainEqual({ from: "enrich", to: "store" });
    expect(edges).toHaveLength(1 + 3 + 6 + 2 + 1);
  });

  it("draws a mermaid flowchart with a diamond per classifier and labelled arms", () => {
    const m = build().dump({ format: "mermaid" });
    expect(m.split("\n")[0]).toBe("flowchart LR");
    expect(m).toContain('s1{"classify<br/>router');
    expect(m).toContain("s1 -->|odd| s2");
    expect(m).toContain('s7[["enrich<br/>merge');
    expect(m).toContain("s6 --> s7");
  });

  it("lists router arms and batch stages among the live stats", async () => {
    const f = build();
    await f.run();
    const text = renderStats(f.stats(), "text");
    for (const name of ["classify.odd", "classify.even.a", "enrich.geo", "enrich", "store"])
      expect(text).toContain(name);
    expect(f.stageStats("store")).toMatchObject({ processed: 10, batches: 2 });
    expect(f.stageStats("classify.odd")!.processed).toBe(5);
  });
});
