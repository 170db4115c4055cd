import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StageQueue, Taker } from "../../src/runtime/queue/stage-queue.js";

/** Builds an empty FIFO queue of `capacity` for one test. */
export type MakeQueue = (capacity: number) => StageQueue<number>;

const END = Symbol("end");

/** A taker that records what it was handed (or that it was released). */
function recorder(): Taker<number> & { got: (number | typeof END)[]; ids: number[] } {
  const got: (number | typeof END)[] = [];
  const ids: number[] = [];
  return {
    got,
    ids,
    deliver: (entry, _stamp, id) => {
      got.push(entry);
      ids.push(id);
    },
    release: () => got.push(END),
  };
}

/** The id each test gives entry `n`: whatever holds the entries must keep it beside them. */
const idOf = (n: number): number => n * 10 + 7;

/** Drains `q` through `shutDown`, checking that each entry comes with its own id. */
function shutDownAll(q: StageQueue<number>): number[] {
  const out: number[] = [];
  q.shutDown((entry, id) => {
    expect(id).toBe(idOf(entry));
    out.push(entry);
  });
  return out;
}

/** Takes the next entry, checking that its id came with it. */
function take(q: StageQueue<number>): number {
  const entry = q.take();
  expect(q.queue.takenId).toBe(idOf(entry));
  return entry;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/**
 * What every {@link StageQueue} must do, whatever holds its entries: bounded, exactly once,
 * in order, takers served at once, close and shutdown as documented. A new implementation
 * registers its own run of this suite.
 */
export function stageQueueContract(name: string, make: MakeQueue): void {
  describe(`StageQueue contract: ${name}`, () => {
    it("is bounded: accepts capacity entries, then refuses offer and reports no room", () => {
      const q = make(3);
      expect([1, 2, 3, 4].map((n) => q.offer(n, idOf(n)))).toEqual([true, true, true, false]);
      expect(q.queue.length).toBe(3);
      expect(q.hasRoom()).toBe(false);
    });

    it("makes a writer wait while full and lets it in, in order, once a take makes room", async () => {
      const q = make(2);
      q.offer(1, idOf(1));
      q.offer(2, idOf(2));
      let accepted: boolean | null = null;
      void q.put(3, idOf(3)).then((a) => {
        accepted = a;
      });
      await settle();
      expect(accepted).toBeNull();
      expect(q.waitingWriters).toBe(1);
      expect(take(q)).toBe(1);
      await settle();
      expect(accepted).toBe(true);
      expect([take(q), take(q)]).toEqual([2, 3]);
    });

    it("hands an entry to a waiting taker at once, without queueing it", () => {
      const q = make(2);
      const t = recorder();
      expect(q.wait(t)).toBe(true);
      expect(q.offer(7, idOf(7))).toBe(true);
      expect(t.got).toEqual([7]);
      expect(t.ids).toEqual([idOf(7)]);
      expect(q.queue.length).toBe(0);
    });

    it("still hands out what is queued after close, then refuses takers and releases waiting ones", () => {
      const q = make(4);
      q.offer(1, idOf(1));
      q.close();
      expect(q.closed).toBe(true);
      expect(take(q)).toBe(1);
      const t = recorder();
      expect(q.wait(t)).toBe(false);
      const q2 = make(4);
      const waiting = recorder();
      q2.wait(waiting);
      q2.close();
      expect(waiting.got).toEqual([END]);
    });

    it("shuts down: returns what was queued, answers waiting writers false, accepts nothing more", async () => {
      const q = make(1);
      q.offer(1, idOf(1));
      const late = q.put(2, idOf(2));
      const drained = shutDownAll(q);
      expect(drained).toEqual([1]);
      expect(await late).toBe(false);
      expect(q.shut).toBe(true);
      expect(q.offer(3, idOf(3))).toBe(false);
      expect(await q.put(4, idOf(4))).toBe(false);
    });

    it("withdraws the longest-waiting taker and releases it", () => {
      const q = make(1);
      const a = recorder();
      const b = recorder();
      q.wait(a);
      q.wait(b);
      expect(q.withdrawFirst()).toBe(a);
      expect(a.got).toEqual([END]);
      expect(b.got).toEqual([]);
    });

    it("withdraws a writer whose signal aborts before it got in (the entry stays the writer's)", async () => {
      const q = make(1);
      q.offer(1, idOf(1));
      const ac = new AbortController();
      const p = q.put(2, idOf(2), ac.signal);
      ac.abort();
      expect(await p).toBe(false);
      expect(take(q)).toBe(1);
      expect(q.queue.length).toBe(0);
    });

    it("gives every accepted entry out exactly once, in order, never over capacity (random operations)", async () => {
      type Op =
        | { op: "offer" }
        | { op: "put"; abort: boolean }
        | { op: "take" }
        | { op: "wait" }
        | { op: "withdraw" }
        | { op: "close" }
        | { op: "shutDown" };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.constant({ op: "offer" } as const),
        fc.record({ op: fc.constant("put" as const), abort: fc.boolean() }),
        fc.constant({ op: "take" } as const),
        fc.constant({ op: "wait" } as const),
        fc.constant({ op: "withdraw" } as const),
        fc.constant({ op: "close" } as const),
        fc.constant({ op: "shutDown" } as const),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          fc.array(op, { maxLength: 60 }),
          async (cap, ops) => {
            const q = make(cap);
            let next = 0;
            const accepted: number[] = [];
            const out: number[] = [];
            const takers: ReturnType<typeof recorder>[] = [];
            for (const o of ops) {
              const n = next++;
              switch (o.op) {
                case "offer":
                  if (q.offer(n, idOf(n))) accepted.push(n);
                  break;
                case "put": {
                  const ac = new AbortController();
                  void q.put(n, idOf(n), ac.signal).then((ok) => ok && accepted.push(n));
                  if (o.abort) ac.abort();
                  break;
                }
                case "take":
                  if (q.queue.length > 0) out.push(take(q));
                  break;
                case "wait": {
                  // As a worker does: it waits only when it found nothing queued.
                  if (q.queue.length > 0) break;
                  const t = recorder();
                  if (q.wait(t)) takers.push(t);
                  break;
                }
                case "withdraw":
                  q.withdrawFirst();
                  break;
                case "close":
                  q.close();
                  break;
                case "shutDown":
                  out.push(...shutDownAll(q));
                  break;
              }
              await settle();
              expect(q.queue.length).toBeLessThanOrEqual(cap);
            }
            out.push(...shutDownAll(q));
            await settle();
            expect(q.queue.length).toBe(0);
            const delivered = takers.flatMap((t) => t.got.filter((g): g is number => g !== END));
            for (const t of takers)
              expect(t.ids).toEqual(t.got.filter((g): g is number => g !== END).map(idOf));
            const all = [...delivered, ...out];
            // Exactly once: everything accepted came out once, nothing else came out.
            expect([...all].sort((a, b) => a - b)).toEqual([...accepted].sort((a, b) => a - b));
            // In order: what went through the queue left in the order it was accepted.
            const order = accepted.filter((n) => out.includes(n));
            expect(out.filter((n) => order.includes(n))).toEqual(order);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}
