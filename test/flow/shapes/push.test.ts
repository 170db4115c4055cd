import { describe, expect, it } from "vitest";
import type { FlowErrorEvent } from "../../../src/index.js";
import { fanOut } from "../../../src/index.js";
import { Flow } from "../../../src/index.js";
import { FlowConfigError } from "../../../src/index.js";
import { range, sleep, VirtualClock } from "../../helpers.js";

describe("push()", () => {
  it("starts the flow, and send() waits while the first queue is full", async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const f = new Flow({ clock }).setConsumer(
      async (x: number) => {
        await sleep(clock, 10);
        seen.push(x);
      },
      { queueSize: 2 },
    );
    const input = f.push();
    expect(f.stats().state).toBe("running");
    const sent: number[] = [];
    const sends = range(6).map((x) => input.send(x).then(() => sent.push(x)));
    await clock.advance(0);
    // One item in the worker, two queued: the rest wait for room.
    expect(sent).toEqual([0, 1, 2]);
    await clock.advance(10);
    expect(sent).toEqual([0, 1, 2, 3]);
    await clock.runUntil(() => sent.length === 6);
    await Promise.all(sends);
    const done = input.complete();
    await clock.runUntil(() => f.stats().state === "drained");
    await done;
    expect(seen).toEqual(range(6));
  });

  it("completes idempotently, resolving once every item reached a terminal state", async () => {
    const out: number[] = [];
    const f = new Flow().addTransformer((x: number) => x + 1).setConsumer((x) => void out.push(x));
    const input = f.push();
    for (const x of range(5)) await input.send(x);
    const [a, b] = [input.complete(), input.complete()];
    await Promise.all([a, b]);
    expect(out).toEqual([1, 2, 3, 4, 5]);
    expect(f.stats()).toMatchObject({ state: "drained", itemsIn: 5, consumed: 5 });
  });

  it("rejects send() after complete() with a clear error, without counting the item", async () => {
    const f = new Flow().setConsumer(() => {});
    const input = f.push();
    await input.send(1);
    void input.complete();
    const err = await input.send(2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlowConfigError);
    expect((err as FlowConfigError).code).toBe("ERR_FLOW_STATE");
    expect(String(err)).toMatch(/send\(\): called after complete\(\)/);
    await f.wait();
    expect(f.stats().itemsIn).toBe(1);
  });

  it("completes and drains when an `await using` block ends", async () => {
    const out: number[] = [];
    const f = new Flow().addTransformer(async (x: number) => x * 2).setConsumer((x) => void out.push(x));
    {
      await using input = f.push();
      for (const x of range(4)) await input.send(x);
    }
    expect(out).toEqual([0, 2, 4, 6]);
    expect(f.stats().state).toBe("drained");
  });

  it("returns the same handle while pushing, and refuses to push into a flow running from a producer", async () => {
    const clock = new VirtualClock();
    const f = new Flow({ clock }).setConsumer(async () => sleep(clock, 1));
    const a = f.push();
    expect(f.push()).toBe(a);
    await a.complete();
    const g = new Flow({ clock }).setProducer(range(3)).setConsumer(async () => sleep(clock, 1));
    await g.start();
    expect(() => g.push()).toThrow(/push\(\): the flow is already running from a producer/);
    await clock.runUntil(() => g.stats().state === "drained");
  });

  it("on stop, says which sends were queued and which dropped, then refuses further sends", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const f = new Flow({ clock })
      .setConsumer(async (_x: number, ctx) => sleep(clock, 100, ctx.signal), { queueSize: 1 })
      .setErrorHandler((e) => void events.push(e));
    const input = f.push();
    const sends = range(4).map((x) => input.send(x));
    await clock.advance(1);
    await f.stop();
    // 0 went to the worker, 1 into the queue; 2 and 3 waited for room and were dropped.
    expect(await Promise.all(sends)).toEqual([
      { status: "queued" },
      { status: "queued" },
      { status: "dropped", reason: "STOPPED" },
      { status: "dropped", reason: "STOPPED" },
    ]);
    expect(await input.send(9)).toEqual({ status: "refused", reason: "STOPPED" });
    expect(input.trySend(9)).toEqual({ status: "refused", reason: "STOPPED" });
    expect(f.stats()).toMatchObject({ itemsIn: 4, consumed: 0, dropped: 4, inFlight: 0 });
    expect(events.every((e) => e.type === "Dropped" && e.reason === "STOPPED")).toBe(true);
  });

  it("lets a send caught half-way through a fan-out finish when the flow is drained under it", async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const f = new Flow({ clock })
      .addTransformer(
        fanOut(
          [
            async function slow(x: number) {
              await sleep(clock, 10);
              return x;
            },
            function fast(x: number) {
              return x;
            },
          ],
          ([a]) => a,
          { name: "fo" },
        ),
      )
      .configure("fo.slow", { queueSize: 1 })
      .setConsumer((x: number) => void seen.push(x));
    const restarts: string[] = [];
    f.on("scale", (e) => void (e.reason.startsWith("liveness") && restarts.push(e.stage)));
    const input = f.push();
    const sends = range(4).map((x) => input.send(x));
    await clock.advance(1);
    // Items 2 and 3 wait for room in the slow branch, before the split reaches the fast one;
    // the fast branch has nothing left and would finish if the input were cut under them.
    const drained = f.drain();
    await clock.runUntil(() => f.stats().state === "drained");
    await Promise.all([drained, ...sends]);
    expect(seen.sort()).toEqual(range(4));
    expect(f.stats()).toMatchObject({ itemsIn: 4, consumed: 4, inFlight: 0 });
    // No stage got items after its input had ended (which would take the liveness guard to notice).
    expect(restarts).toEqual([]);
  });

  it("send({ signal }) withdraws an item that still waits for room, and reports it as WITHDRAWN", async () => {
    const clock = new VirtualClock();
    const events: FlowErrorEvent[] = [];
    const seen: number[] = [];
    const f = new Flow<number>({ clock, errorHandler: (e) => void events.push(e) }).setConsumer(
      async (x: number) => {
        await sleep(clock, 10);
        seen.push(x);
      },
      { queueSize: 1 },
    );
    const input = f.push();
    const a = input.send(0); // to the worker
    const b = input.send(1); // into the queue
    const gaveUp = new AbortController();
    const c = input.send(2, { signal: gaveUp.signal }); // waits for room
    await clock.advance(1);
    gaveUp.abort();
    expect(await Promise.all([a, b, c])).toEqual([
      { status: "queued" },
      { status: "queued" },
      { status: "dropped", reason: "WITHDRAWN" },
    ]);
    // A signal already aborted refuses the item before it enters.
    expect(await input.send(3, { signal: AbortSignal.abort() })).toEqual({
      status: "refused",
      reason: "ABORTED",
    });
    const done = input.complete();
    await clock.runUntil(() => f.stats().state === "drained");
    await done;
    expect(seen).toEqual([0, 1]);
    expect(events).toMatchObject([{ type: "Dropped", item: 2, reason: "WITHDRAWN" }]);
    expect(f.stats()).toMatchObject({ itemsIn: 3, consumed: 2, dropped: 1, inFlight: 0 });
  });

  it("trySend() never waits: it queues while there is room and refuses with FULL after", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock }).setConsumer(async () => sleep(clock, 10), { queueSize: 2 });
    const input = f.push();
    await clock.advance(0);
    const results = range(5).map((x) => input.trySend(x).status);
    // One goes to the waiting worker, two into the queue, then there is no room.
    expect(results).toEqual(["queued", "queued", "queued", "refused", "refused"]);
    expect(input.trySend(9)).toEqual({ status: "refused", reason: "FULL" });
    const done = input.complete();
    expect(() => input.trySend(9)).toThrow(FlowConfigError);
    await clock.runUntil(() => f.stats().state === "drained");
    await done;
    expect(f.stats()).toMatchObject({ itemsIn: 3, consumed: 3 });
  });

  it("trySend() into a fan-out queues only when every branch has room", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock })
      .addTransformer(
        fanOut([async (x: number) => sleep(clock, 10).then(() => x), (x: number) => x], ([a]) => a, {
          name: "fo",
        }),
      )
      .configure("fo.branch1", { queueSize: 1 })
      .setConsumer(() => {});
    const input = f.push();
    await clock.advance(0);
    const statuses = range(4).map((x) => input.trySend(x).status);
    expect(statuses).toEqual(["queued", "queued", "refused", "refused"]);
    const done = input.complete();
    await clock.runUntil(() => f.stats().state === "drained");
    await done;
    expect(f.stats()).toMatchObject({ itemsIn: 2, consumed: 2, inFlight: 0 });
  });

  it("bounds the sends waiting for room: one more than maxWaitingSends rejects, naming the option", async () => {
    const clock = new VirtualClock();
    const f = new Flow<number>({ clock, errorHandler: () => {} }).setConsumer(
      async (_x, ctx) => sleep(clock, 10, ctx.signal),
      { queueSize: 1 },
    );
    const input = f.push({ maxWaitingSends: 3 });
    await clock.advance(0);
    const sends = range(5).map((x) => input.send(x)); // the worker, the queue, then 3 wait
    await expect(input.send(5)).rejects.toMatchObject({ name: "FlowConfigError", option: "maxWaitingSends" });
    await f.stop();
    expect((await Promise.all(sends)).map((r) => r.status)).toEqual([
      "queued",
      "queued",
      "dropped",
      "dropped",
      "dropped",
    ]);
    expect(() => new Flow().setConsumer(() => {}).push({ maxWaitingSends: 0 })).toThrow(/maxWaitingSends/);
  });

  it("checks send()'s options and trySend()'s arguments (a typo must not pass for a signal)", async () => {
    const f = new Flow<number>().setConsumer(() => {});
    const input = f.push();
    const ac = new AbortController();
    await expect(input.send(1, { sigal: ac.signal } as never)).rejects.toMatchObject({
      name: "FlowConfigError",
      option: "sigal",
    });
    await expect(input.send(2, "x" as never)).rejects.toMatchObject({
      name: "FlowConfigError",
      option: "options",
    });
    await expect(input.send(3, { signal: 5 } as never)).rejects.toThrow(
      /option "signal" = 5: expected an AbortSignal/,
    );
    expect(() => (input.trySend as (x: number, y: unknown) => unknown)(4, "x")).toThrow(/takes one item/);
    await input.complete();
    expect(f.stats()).toMatchObject({ itemsIn: 0 });
  });
});
