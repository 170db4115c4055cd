import { describe, expect, it, vi } from "vitest";
import {
  acked,
  Flow,
  FlowConfigError,
  flatMap,
  Last,
  type NackReason,
  router,
  Skip,
} from "../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../helpers.js";

/** A source of `n` acknowledged items, recording each ack and nack (with what had happened by then). */
function ackedSource(n: number) {
  const told: string[] = [];
  const items = range(n).map((i) =>
    acked(i, { ack: () => void told.push(`ack ${i}`), nack: () => void told.push(`nack ${i}`) }),
  );
  return { told, items };
}

describe("acknowledging sources", () => {
  it("acks consumed, skipped and expanded items and nacks failed and dropped ones, once each", async () => {
    const clock = new VirtualClock();
    const { told, items } = ackedSource(6);
    const f = new Flow<number>({ clock, errorHandler: () => {} })
      .setProducer(items)
      .addTransformer(
        router((x: number) => (x === 5 ? "nowhere" : "on"), {
          on: (x: number) => {
            if (x === 1) throw new Error("bad row");
            return x === 2 ? Skip : x;
          },
        }),
      )
      .addTransformer(flatMap((x: number) => (x === 3 ? [x, x] : [x])))
      .setConsumer(() => {});
    await runVirtual(f, clock);
    expect(told.sort()).toEqual(["ack 0", "ack 2", "ack 3", "ack 4", "nack 1", "nack 5"]);
    // 0, 3 (two children) and 4 expand; 1 fails, 2 is skipped, 5 has no arm.
    expect(f.stats()).toMatchObject({ consumed: 4, failed: 1, dropped: 1, skipped: 1, expanded: 3 });
  });

  it("settles a flatMap parent only once every child has an outcome; one failed child nacks it", async () => {
    const clock = new VirtualClock();
    const told: string[] = [];
    const done: string[] = [];
    const f = new Flow<number>({ clock, errorHandler: () => {} })
      .setProducer([
        acked(1, { ack: () => told.push(`ack 1 after ${done.length}`), nack: () => told.push("nack 1") }),
        acked(2, { ack: () => told.push("ack 2"), nack: () => told.push(`nack 2 after ${done.length}`) }),
      ])
      .addTransformer(flatMap((x: number) => [`${x}a`, `${x}b`, `${x}c`]))
      .setConsumer(async (s: string) => {
        await sleep(clock, s.endsWith("c") ? 50 : 5); // the last child ends last
        done.push(s);
        if (s === "2b") throw new Error("child failed");
      });
    await runVirtual(f, clock);
    // One consumer worker: 1a, 1b, 1c, then 2a, 2b (fails), 2c — each parent is told after its last child.
    expect(told).toEqual(["ack 1 after 3", "nack 2 after 6"]);
  });

  it("nacks what stop() drops, and acks in push mode; a throwing ack is logged and changes nothing", async () => {
    const clock = new VirtualClock();
    const { told, items } = ackedSource(20);
    const f = new Flow<number>({ clock })
      .setProducer(items)
      .setConsumer(async () => sleep(clock, 10), { queueSize: 4 });
    await f.start();
    await clock.advance(25);
    const stopping = f.stop();
    await clock.advance(10_000);
    await stopping;
    const s = f.stats();
    expect(told.filter((t) => t.startsWith("ack"))).toHaveLength(s.consumed);
    expect(told.filter((t) => t.startsWith("nack"))).toHaveLength(s.dropped);
    expect(told).toHaveLength(s.itemsIn);

    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const pushed: string[] = [];
    const g = new Flow<number>({ clock }).setConsumer((x: number) => {
      if (x === 2) return Last(undefined);
    });
    const input = g.push();
    await input.send(acked(1, { ack: () => pushed.push("ack 1"), nack: () => pushed.push("nack 1") }));
    await input.send(
      acked(2, {
        ack: () => {
          throw new Error("broker gone");
        },
        nack: () => pushed.push("nack 2"),
      }),
    );
    await input.complete();
    expect(pushed).toEqual(["ack 1"]);
    expect(g.stats()).toMatchObject({ consumed: 2 });
    expect(errors.mock.calls.some((c) => String(c[0]).includes("ack() for item 2 failed"))).toBe(true);
    errors.mockRestore();
  });

  it("tells nack why: the item (or child) that failed or was dropped first, where, and how", async () => {
    const clock = new VirtualClock();
    const whys = new Map<number, NackReason>();
    const boom = new Error("child 2b failed");
    let badChild = 0;
    const f = new Flow<number>({ clock, errorHandler: () => {} })
      .setProducer([1, 2, 3].map((n) => acked(n, { ack: () => {}, nack: (why) => void whys.set(n, why) })))
      .addTransformer(
        router((n: number) => (n === 3 ? "none" : "kids"), {
          kids: flatMap((n: number) => [`${n}a`, `${n}b`]),
        }),
        {
          name: "route",
        },
      )
      .setConsumer(
        (s: string, ctx) => {
          if (s === "2b") {
            badChild = ctx.id;
            throw boom;
          }
        },
        { name: "store" },
      );
    await runVirtual(f, clock);
    expect([...whys.keys()].sort()).toEqual([2, 3]);
    expect(whys.get(2)).toEqual({ outcome: "failed", id: badChild, stage: "store", error: boom });
    expect(whys.get(3)).toEqual({ outcome: "dropped", id: 3, stage: "route", reason: "ROUTER_MISS" });
  });

  it("nacks a failed item only once the error handler and the dead-letter sink are done with it", async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const f = new Flow<number>({
      clock,
      errorHandler: () => void order.push("handler"),
      deadLetter: async () => {
        await sleep(clock, 20);
        order.push("dead letter stored");
      },
    })
      .setProducer([acked(1, { ack: () => order.push("ack"), nack: () => order.push("nack") })])
      .setConsumer((): void => {
        throw new Error("bad");
      });
    f.on("itemError", () => void order.push("itemError"));
    await runVirtual(f, clock);
    expect(order).toEqual(["itemError", "handler", "dead letter stored", "nack"]);
  });

  it("refuses acked() without two functions", () => {
    expect(() => acked(1, {} as never)).toThrow(FlowConfigError);
    expect(() => acked(1, { ack: () => {} } as never)).toThrow(
      /expected \{ ack: \(\) => …, nack: \(\) => … \}/,
    );
    expect(() => acked(1, null as never)).toThrow(/acked: callbacks = null: expected \{ ack/);
    expect(() => acked(1, { ack: () => {} } as never)).toThrow(
      /acked: callbacks\.nack = undefined: expected a function/,
    );
    expect(() => acked(1, { ack: 1, nack: () => {} } as never)).toThrow(
      /acked: callbacks\.ack = 1: expected a function/,
    );
  });
});
