import { describe, expect, it } from "vitest";
import { RingBuffer } from "../../src/internal/ring-buffer.js";

describe("RingBuffer", () => {
  it("keeps FIFO order with stamps across growth and wrap-around", () => {
    const r = new RingBuffer<number>(2);
    for (let i = 0; i < 10; i++) r.push(i, i * 10, i + 1000);
    for (let i = 0; i < 5; i++) expect(r.shift()).toBe(i);
    for (let i = 10; i < 40; i++) r.push(i, i * 10, i + 1000);
    expect(r.length).toBe(35);
    expect(r.headStamp()).toBe(50);
    expect(r.tailStamp()).toBe(390);
    expect([r.headId(), r.tailId()]).toEqual([1005, 1039]);
    const out: number[] = [];
    while (r.length > 0) {
      expect(r.headId()).toBe(1000 + r.headStamp() / 10);
      out.push(r.shift());
    }
    expect(out).toEqual(Array.from({ length: 35 }, (_, i) => i + 5));
  });

  it("pops from the tail for LIFO use", () => {
    const r = new RingBuffer<string>();
    r.push("a", 1, 11);
    r.push("b", 2, 12);
    r.push("c", 3, 13);
    expect(r.tailId()).toBe(13);
    expect(r.pop()).toBe("c");
    expect(r.shift()).toBe("a");
    expect(r.pop()).toBe("b");
    expect(r.length).toBe(0);
  });
});
