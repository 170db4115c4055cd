import { describe, expect, it } from "vitest";
import {
  type Expanded,
  FixedScaling,
  Flow,
  type FlowErrorEvent,
  FlowConfigError,
  fanOut,
  flatMap,
  router,
  Skip,
  type TransformerError,
} from "../../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../../helpers.js";

const workers = (n: number) => ({ scalingStrategy: new FixedScaling({ workers: n }) });

/** `n` children of `x`: `x.0`, `x.1`, … */
function* kids(x: number, n: number): Generator<string> {
  for (let i = 0; i < n; i++) yield `${x}.${i}`;
}

describe("flatMap", () => {
  it("sends each child on as a new item with its own id and ctx.parentId; the parent ends expanded", async () => {
    const clock = new VirtualClock();
    const seen: { value: string; id: number; parentId: number | undefined }[] = [];
    const parents = new Map<number, number>(); // item → its id in the flatMap stage
    const f = new Flow<number>({ clock })
      .setProducer(range(4))
      .addTransformer(
        flatMap((x: number, ctx) => {
          parents.set(x, ctx.id);
          expect(ctx.parentId).toBeUndefined();
          return kids(x, x);
        }),
        { name: "expand" },
      )
      .setConsumer((value: string, ctx) => void seen.push({ value, id: ctx.id, parentId: ctx.parentId }));
    const expands: Expanded[] = [];
    f.on("expand", (e) => void expands.push(e));
    await runVirtual(f, clock);

    expect(seen.map((s) => s.value).sort()).toEqual(["1.0", "2.0", "2.1", "3.0", "3.1", "3.2"]);
    for (const s of seen) expect(s.parentId).toBe(parents.get(Number(s.value.split(".")[0])));
    const ids = [...parents.values(), ...seen.map((s) => s.id)];
    expect(new Set(ids).size).toBe(ids.length); // unique within the run
    expect(expands.map((e) => [e.item, e.children, e.id, e.stage]).sort()).toEqual(
      [0, 1, 2, 3].map((x) => [x, x, parents.get(x), "expand"]).sort(),
    );
    // produced + children = consumed + failed + dropped + skipped + expanded
    expect(f.stats()).toMatchObject({ itemsIn: 4, children: 6, consumed: 6, expanded: 4, inFlight: 0 });
    expect(f.stageStats("expand")).toMatchObject({ received: 4, expanded: 4, children: 6 });
  });

  it("takes arrays, sets and async iterables; a result that is not iterable fails the item", async () => {
    const clock = new VirtualClock();
    const errors: FlowErrorEvent[] = [];
    const out: number[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void errors.push(e) })
      .setProducer(range(4))
      .addTransformer(
        flatMap((x: number) => {
          if (x === 0) return [1, 2];
          if (x === 1) return new Set([3]);
          if (x === 2)
            return (async function* () {
              await sleep(clock, 5);
              yield 4;
            })();
          return 42 as unknown as number[];
        }),
        { name: "fm" },
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(out.sort()).toEqual([1, 2, 3, 4]);
    expect(errors).toHaveLength(1);
    const e = errors[0] as TransformerError;
    expect(e).toMatchObject({ type: "TransformerError", item: 3, stage: "fm" });
    expect(String(e.error)).toMatch(/flatMap stage "fm" returned 42; expected an iterable/);
    expect(f.stats()).toMatchObject({ itemsIn: 4, children: 4, consumed: 4, expanded: 3, failed: 1 });
  });

  it("keeps children in order under ordered: true, with memory bounded while an early item expands 100,000-fold", async () => {
    const clock = new VirtualClock();
    const BIG = 100_000;
    const out: string[] = [];
    let maxInFlight = 0;
    const f = new Flow<number>({ clock })
      .setProducer(range(20))
      .addTransformer(
        flatMap(async function* (x: number) {
          await sleep(clock, 1 + ((x * 7) % 5)); // later items finish their call first
          if (x === 0) for (let i = 0; i < BIG; i++) yield `0.${i}`;
          else yield* kids(x, 3);
        }),
        { name: "fm", ordered: true, queueSize: 16, ...workers(4) },
      )
      .addTransformer((s: string) => s, { name: "pass", queueSize: 16, ...workers(2) })
      .setConsumer(
        (s: string) => {
          out.push(s);
          if ((out.length & 1023) === 0) maxInFlight = Math.max(maxInFlight, f.stats().inFlight);
        },
        { queueSize: 16 },
      );
    await runVirtual(f, clock);
    const expected = [
      ...Array.from({ length: BIG }, (_, i) => `0.${i}`),
      ...range(19).flatMap((k) => [...kids(k + 1, 3)]),
    ];
    expect(out.length).toBe(expected.length);
    expect(out).toEqual(expected);
    // Bounded by the queues and workers (the first stage's 16 queued + 4 in hand, 16 + 2 and 16 + 1
    // downstream), never by the children: a buffer of children would put this in the thousands.
    expect(maxInFlight).toBeLessThan(80);
    expect(f.stats()).toMatchObject({ children: BIG + 57, consumed: BIG + 57, expanded: 20, inFlight: 0 });
  });

  it("fails the parent when its iterator throws half-way; the children already sent go on", async () => {
    const clock = new VirtualClock();
    const errors: TransformerError[] = [];
    const out: string[] = [];
    const boom = new Error("page 3 unreadable");
    const f = new Flow<number>({ clock, errorHandler: (e) => void errors.push(e as TransformerError) })
      .setProducer([7])
      .addTransformer(
        flatMap(function* (x: number) {
          yield* kids(x, 3);
          throw boom;
        }),
        { name: "pages", retry: { attempts: 3 } },
      )
      .setConsumer((s: string) => void out.push(s));
    await runVirtual(f, clock);
    expect(out).toEqual(["7.0", "7.1", "7.2"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ type: "TransformerError", item: 7, stage: "pages", attempt: 1 });
    expect((errors[0]!.error as Error).message).toBe(
      'flatMap stage "pages": the iterator threw after 3 children',
    );
    expect((errors[0]!.error as Error).cause).toBe(boom);
    expect(f.stats()).toMatchObject({
      itemsIn: 1,
      children: 3,
      consumed: 3,
      failed: 1,
      expanded: 0,
      inFlight: 0,
    });
  });

  it("retries the call that returns the iterable, under retry and timeoutMs", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const out: number[] = [];
    const f = new Flow<number>({ clock })
      .setProducer([1])
      .addTransformer(
        flatMap(async (x: number) => {
          if (++calls < 3) throw new Error("503");
          return [x, x + 1];
        }),
        { retry: { attempts: 3, backoff: { baseMs: 1 } } },
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(calls).toBe(3);
    expect(out).toEqual([1, 2]);
  });

  it("bounds each pull with timeoutMs: a pull that hangs fails the parent after the children before it", async () => {
    const clock = new VirtualClock();
    const errors: TransformerError[] = [];
    const out: number[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void errors.push(e as TransformerError) })
      .setProducer([1])
      .addTransformer(
        flatMap(async function* (_x: number, ctx) {
          yield 1;
          await new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
          );
        }),
        { name: "slow", timeoutMs: 50 },
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(out).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect((errors[0]!.error as Error).message).toMatch(/after 1 children/);
    expect(((errors[0]!.error as Error).cause as Error).name).toBe("TimeoutError");
  });

  it("stop() closes the iterator promptly (real timers); the parent is dropped, every child sent has an outcome", async () => {
    let closed = false;
    let pulled = 0;
    const f = new Flow<number>()
      .setProducer([1])
      .addTransformer(
        flatMap(function* () {
          try {
            for (;;) yield ++pulled;
          } finally {
            closed = true;
          }
        }),
        { name: "endless", queueSize: 4 },
      )
      .setConsumer(() => new Promise<void>((resolve) => setTimeout(resolve, 2)), { queueSize: 4 });
    await f.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await f.stop();
    expect(closed).toBe(true);
    const s = f.stats();
    expect(pulled).toBeGreaterThan(3);
    expect(s.children).toBe(pulled);
    expect(s.droppedByReason.STOPPED).toBeGreaterThanOrEqual(1); // the parent, at least
    expect(s.expanded).toBe(0);
    expect(s.itemsIn + s.children).toBe(s.consumed + s.failed + s.dropped + s.skipped + s.expanded);
    expect(s.inFlight).toBe(0);
  });

  it("works in a router arm, in a sub-flow, after a fan-out's merge, nested, and in push mode", async () => {
    const clock = new VirtualClock();
    const out: string[] = [];
    const sub = new Flow<string>().addTransformer(flatMap((s: string) => [`${s}a`, `${s}b`]));
    const f = new Flow<number>({ clock })
      .setProducer(range(4))
      .addTransformer(
        router((x: number) => (x % 2 ? "odd" : "even"), {
          odd: flatMap((x: number) => kids(x, 2)),
          even: (x: number) => `${x}`,
        }),
      )
      .addTransformer(fanOut([(s: string) => s, (s: string) => s.length], ([s, n]) => `${s}/${n}`))
      .addTransformer(sub)
      .addTransformer(flatMap((s: string) => (s.startsWith("3") ? [s, s] : [s])))
      .setConsumer((s: string) => void out.push(s));
    await runVirtual(f, clock);
    expect(out.sort()).toEqual(
      ["0/1", "1.0/3", "1.1/3", "2/1", "3.0/3", "3.0/3", "3.1/3", "3.1/3"]
        .flatMap((s) => [`${s}a`, `${s}b`])
        .sort(),
    );
    const s = f.stats();
    expect(s.itemsIn + s.children).toBe(s.consumed + s.expanded);

    const pushed: number[] = [];
    const g = new Flow<number>({ clock })
      .addTransformer(flatMap((x: number) => [x, x * 10]))
      .setConsumer((x: number) => void pushed.push(x));
    const input = g.push();
    await input.send(1);
    await input.send(2);
    await input.complete();
    expect(pushed.sort((a, b) => a - b)).toEqual([1, 2, 10, 20]);
  });

  it("counts a Skip among the children's later stages, keeping conservation", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock })
      .setProducer(range(5))
      .addTransformer(flatMap((x: number) => range(x)))
      .addTransformer((x: number) => (x === 0 ? Skip : x))
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(f.stats()).toMatchObject({ itemsIn: 5, children: 10, skipped: 4, consumed: 6, expanded: 5 });
  });

  it("in a fan-out branch, merges each child with the other branches' results for its parent (a lateral join)", async () => {
    const clock = new VirtualClock();
    const out: string[] = [];
    const f = new Flow<number>({ clock })
      .setProducer(range(4))
      .addTransformer(
        fanOut(
          [
            async (x: number) => {
              await sleep(clock, 20); // the other branch is slower: children wait for it at the join
              return `meta${x}`;
            },
            flatMap((x: number) => kids(x, x)),
          ],
          ([meta, page]) => `${meta}/${page}`,
        ),
        { name: "crawl" },
      )
      .setConsumer((s: string) => void out.push(s));
    const expands: Expanded[] = [];
    f.on("expand", (e) => void expands.push(e));
    await runVirtual(f, clock);
    expect(out.sort()).toEqual([
      "meta1/1.0",
      "meta2/2.0",
      "meta2/2.1",
      "meta3/3.0",
      "meta3/3.1",
      "meta3/3.2",
    ]);
    expect(expands.map((e) => [e.item, e.stage, e.children]).sort()).toEqual([
      [0, "crawl", 0],
      [1, "crawl", 1],
      [2, "crawl", 2],
      [3, "crawl", 3],
    ]);
    expect(f.stats()).toMatchObject({ itemsIn: 4, children: 6, consumed: 6, expanded: 4, inFlight: 0 });
  });

  it("in a fan-out branch, gives the children their parent's fate when another branch fails or skips it", async () => {
    const clock = new VirtualClock();
    const errors: FlowErrorEvent[] = [];
    const out: string[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void errors.push(e) })
      .setProducer(range(3))
      .addTransformer(
        fanOut(
          [
            async (x: number) => {
              await sleep(clock, 20);
              if (x === 1) throw new Error("no meta for 1");
              return x === 2 ? Skip : `meta${x}`;
            },
            flatMap((x: number) => kids(x, 2)),
          ],
          ([meta, page]) => `${meta}/${page}`,
        ),
        { name: "crawl" },
      )
      .setConsumer((s: string) => void out.push(s));
    await runVirtual(f, clock);
    expect(out.sort()).toEqual(["meta0/0.0", "meta0/0.1"]);
    // The first child of 1 waited at the join and failed with 1's error, that of 2 was skipped; no
    // more children are made once the parent is spoiled; the parents themselves were expanded.
    expect(errors.map((e) => (e.type === "TransformerError" ? [e.item, String(e.error)] : e.type))).toEqual([
      ["1.0", "Error: no meta for 1"],
    ]);
    expect(f.stats()).toMatchObject({
      itemsIn: 3,
      children: 4,
      consumed: 2,
      failed: 1,
      skipped: 1,
      expanded: 3,
      inFlight: 0,
    });
  });

  it("in a fan-out branch, makes no child for an item another branch ended while a pull waited", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock, errorHandler: () => {} })
      .setProducer([0, 1])
      .addTransformer(
        fanOut(
          [
            flatMap(async function* (x: number) {
              await sleep(clock, 10);
              yield `${x}:0`;
            }),
            async (x: number) => {
              if (x === 0) throw new Error("other branch failed first");
              return x;
            },
          ],
          ([child]) => child,
        ),
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(f.stats()).toMatchObject({
      itemsIn: 2,
      failed: 1,
      children: 1,
      consumed: 1,
      expanded: 1,
      inFlight: 0,
    });
  });

  it("stop() drops a parent whose child waits at the join for a branch that ignores its signal (real timers)", async () => {
    const f = new Flow<number>({ closeTimeoutMs: 50 })
      .setProducer([1])
      .addTransformer(fanOut([flatMap((x: number) => [x]), () => new Promise<number>(() => {})], ([a]) => a))
      .setConsumer(() => {});
    await f.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await f.stop();
    expect(f.stats()).toMatchObject({ itemsIn: 1, children: 1, dropped: 2, expanded: 0, inFlight: 0 });
  });

  it("refuses two expanding branches, an expanding fan-out in another's branch, and a flatMap consumer", () => {
    const expand = () => flatMap((x: number) => [x]);
    expect(() => new Flow().addTransformer(fanOut([expand(), expand()], ([a]) => a))).toThrow(
      /flatMap stages in 2 branches .* only one branch may expand/,
    );
    const inner = fanOut([expand(), (x: number) => x], ([a]) => a);
    expect(() => new Flow().addTransformer(fanOut([inner, (x: number) => x], ([a]) => a))).toThrow(
      FlowConfigError,
    );
    expect(() => new Flow().setConsumer(flatMap((x: number) => [x]) as never)).toThrow(
      /a flatMap gives items: add it with addTransformer/,
    );
    expect(() => flatMap(42 as never)).toThrow(/flatMap: fn = 42: expected a function/);
  });

  it("retries an iterator that fails before its first child, and reports the attempts made", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const out: number[] = [];
    const errors: TransformerError[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void errors.push(e as TransformerError) })
      .setProducer([1, 2])
      .addTransformer(
        flatMap(async function* (x: number, ctx) {
          calls++;
          if (x === 1 && ctx.attempt < 3) throw new Error("503 before the first page");
          yield x;
          if (x === 2) throw new Error("page 2 unreadable");
        }),
        { name: "pages", retry: { attempts: 3, backoff: { baseMs: 1 } }, ...workers(1) },
      )
      .setConsumer((x: number) => void out.push(x));
    await runVirtual(f, clock);
    expect(out.sort()).toEqual([1, 2]);
    expect(calls).toBe(4); // item 1: three attempts; item 2: one (a child was sent: final)
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ item: 2, attempt: 1 });

    // A call retried twice, then an iterator that throws after a child: attempt 3 is reported.
    let n = 0;
    const late: TransformerError[] = [];
    const g = new Flow<number>({ clock, errorHandler: (e) => void late.push(e as TransformerError) })
      .setProducer([1])
      .addTransformer(
        flatMap((x: number) => {
          if (++n < 3) throw new Error("503");
          return (function* () {
            yield x;
            throw new Error("broke");
          })();
        }),
        { retry: { attempts: 3, backoff: { baseMs: 1 } } },
      )
      .setConsumer(() => {});
    await runVirtual(g, clock);
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ attempt: 3 });
  });

  it("skips the item when its function returns Skip, in or out of order", async () => {
    const clock = new VirtualClock();
    for (const ordered of [false, true]) {
      const out: string[] = [];
      const f = new Flow<number>({ clock })
        .setProducer(range(6))
        .addTransformer(
          flatMap((x: number) => (x % 2 ? Skip : kids(x, 2))),
          { ordered, ...workers(3) },
        )
        .setConsumer((s: string) => void out.push(s));
      await runVirtual(f, clock);
      expect(out.sort()).toEqual(["0.0", "0.1", "2.0", "2.1", "4.0", "4.1"]);
      expect(f.stats()).toMatchObject({ skipped: 3, expanded: 3, children: 6, inFlight: 0 });
    }
  });

  it("stop() does not wait for a pull that never settles, and closes its iterator (real timers)", async () => {
    let returned = 0;
    const f = new Flow<number>({ closeTimeoutMs: 3_600_000 })
      .setProducer([1])
      .addTransformer(
        flatMap(() => ({
          [Symbol.asyncIterator]: () => ({
            next: () => new Promise<IteratorResult<number>>(() => {}), // a subscription that never delivers
            return: async () => {
              returned++;
              return { done: true as const, value: undefined };
            },
          }),
        })),
        { name: "subscribe" },
      )
      .setConsumer(() => {});
    await f.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await f.stop(); // an hour's closeTimeoutMs: finishing at all is the check
    expect(returned).toBe(1);
    expect(f.stats()).toMatchObject({ dropped: 1, droppedByReason: { STOPPED: 1 }, inFlight: 0 });
  });

  it("gives a fan-out branch its item's parentId even after another branch settled the item", async () => {
    const clock = new VirtualClock();
    const seen: (number | undefined)[] = [];
    let parent = 0;
    const f = new Flow<number>({ clock, errorHandler: () => {} })
      .setProducer([1])
      .addTransformer(
        flatMap((x: number, ctx) => {
          parent = ctx.id;
          return [x];
        }),
      )
      .addTransformer(
        fanOut(
          [
            (): number => {
              throw new Error("fails first");
            },
            async (x: number, ctx) => {
              await sleep(clock, 10);
              seen.push(ctx.parentId);
              return x;
            },
          ],
          ([a]) => a,
        ),
      )
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(seen).toEqual([parent]);
    expect(f.stats()).toMatchObject({ failed: 1, expanded: 1, inFlight: 0 });
  });

  it("gives up after the last attempt when an ordered stage's iterator always fails before its first child", async () => {
    const clock = new VirtualClock();
    const errors: TransformerError[] = [];
    const out: string[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void errors.push(e as TransformerError) })
      .setProducer(range(4))
      .addTransformer(
        flatMap(function* (x: number) {
          if (x % 2 === 0) throw new Error(`no pages for ${x}`);
          yield* kids(x, 2);
        }),
        { name: "pages", ordered: true, retry: { attempts: 3, backoff: { baseMs: 1 } }, ...workers(2) },
      )
      .setConsumer((s: string) => void out.push(s));
    await runVirtual(f, clock);
    expect(out).toEqual(["1.0", "1.1", "3.0", "3.1"]);
    expect(errors.map((e) => [e.item, e.attempt])).toEqual([
      [0, 3],
      [2, 3],
    ]);
    expect(f.stageStats("pages")).toMatchObject({ retries: 4, expanded: 2, errors: 2 });
  });
});
