import { describe, expect, it } from "vitest";
import { BoundedQueue } from "../../src/runtime/queue/bounded-queue.js";

function drain<T>(q: BoundedQueue<T>): T[] {
  const out: T[] = [];
  while (q.length > 0) out.push(q.take());
  return out;
}

describe("BoundedQueue", () => {
  it("serves FIFO by default and reports full at capacity", () => {
    const q = new BoundedQueue<number>(3);
    q.push(1, 10, -1);
    q.push(2, 20, -1);
    expect(q.isFull()).toBe(false);
    q.push(3, 30, -1);
    expect(q.isFull()).toBe(true);
    expect(q.oldestStamp()).toBe(10);
    expect(q.take()).toBe(1);
    expect(q.takenStamp).toBe(10);
    expect(drain(q)).toEqual([2, 3]);
    expect(q.oldestStamp()).toBeNull();
  });

  it("serves LIFO newest first while the oldest stamp stays the first pushed", () => {
    const q = new BoundedQueue<number>(10, "lifo");
    for (const [i, v] of [1, 2, 3].entries()) q.push(v, i, v * 100);
    expect(q.oldestStamp()).toBe(0);
    expect(q.take()).toBe(3);
    expect(q.takenStamp).toBe(2);
    expect(q.takenId).toBe(300);
    expect(drain(q)).toEqual([2, 1]);
  });

  it("serves priority highest first, FIFO among equals", () => {
    const q = new BoundedQueue<{ id: string; p: number }>(10, { priority: (x) => x.p });
    const items = [
      { id: "a", p: 1 },
      { id: "b", p: 5 },
      { id: "c", p: 1 },
      { id: "d", p: 5 },
      { id: "e", p: 3 },
    ];
    for (const [i, x] of items.entries()) q.push(x, 100 + i, i);
    expect(q.oldestStamp()).toBe(100);
    const out: [string, number][] = [];
    while (q.length > 0) out.push([q.take().id, q.takenId]);
    // Each item's id leaves with it.
    expect(out).toEqual([
      ["b", 1],
      ["d", 3],
      ["e", 4],
      ["a", 0],
      ["c", 2],
    ]);
  });

  it("accepts Infinity as capacity and never reports full", () => {
    const q = new BoundedQueue<number>(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 5000; i++) q.push(i, i, -1);
    expect(q.isFull()).toBe(false);
    expect(q.length).toBe(5000);
  });
});
