import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { SharedListener } from "../../src/internal/shared-listener.js";

describe("SharedListener", () => {
  it("keeps one listener a target however many callbacks, and takes it off with the last", () => {
    const target = new EventEmitter();
    const shared = new SharedListener<EventEmitter>(
      (t, fire) => t.on("error", fire),
      (t, fire) => t.off("error", fire),
    );
    const calls: number[] = [];
    const fns = Array.from({ length: 30 }, (_, i) => () => void calls.push(i));
    for (const fn of fns) shared.add(target, fn);
    expect(target.listenerCount("error")).toBe(1);
    target.emit("error");
    expect(calls).toHaveLength(30);
    for (const fn of fns) shared.delete(target, fn);
    expect(target.listenerCount("error")).toBe(0);
    // Empty, then watched again: still one listener, never one per refill.
    for (let round = 0; round < 5; round++) {
      shared.add(target, fns[0]!);
      shared.delete(target, fns[0]!);
    }
    shared.add(target, fns[0]!);
    expect(target.listenerCount("error")).toBe(1);
  });

  it("lets a callback leave while the event is being handed out", () => {
    const signal = new AbortController();
    const shared = new SharedListener<AbortSignal>(
      (s, fire) => s.addEventListener("abort", fire, { once: true }),
      (s, fire) => s.removeEventListener("abort", fire),
    );
    const seen: string[] = [];
    const a = () => {
      seen.push("a");
      shared.delete(signal.signal, a);
      shared.delete(signal.signal, b);
    };
    const b = () => void seen.push("b");
    shared.add(signal.signal, a);
    shared.add(signal.signal, b);
    signal.abort();
    expect(seen).toEqual(["a", "b"]);
  });
});
