import { describe, expect, it } from "vitest";
import { eventsAt, mutableStats, tickAt, Wish } from "./wish-strategy.js";

// A one-millisecond growth period keeps the growth limit out of the way of these tests.
const options = { maxWorkers: 100, growthPeriodMs: 1 };

describe("when the policy layer evaluates", () => {
  it("evaluates on the 16th enqueue when only enqueues arrive", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 1 });
    s.want = 3;
    expect(eventsAt(s, st, 0, 15, "enqueue")).toEqual([]);
    expect(eventsAt(s, st, 0, 1, "enqueue")).toEqual([2]);
    expect(s.seen).toHaveLength(1);
  });

  it("evaluates on the 16th dequeue when only dequeues arrive", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 1 });
    s.want = 3;
    expect(eventsAt(s, st, 0, 15, "dequeue")).toEqual([]);
    expect(eventsAt(s, st, 0, 1, "dequeue")).toEqual([2]);
  });

  it("counts enqueues and dequeues together", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 1 });
    s.want = 3;
    expect(eventsAt(s, st, 0, 8, "enqueue")).toEqual([]);
    expect(eventsAt(s, st, 0, 7, "dequeue")).toEqual([]);
    expect(eventsAt(s, st, 0, 1, "enqueue")).toEqual([2]);
  });

  it.each(["enqueue", "dequeue"] as const)(
    "lets item events (%s) evaluate again only 10 ms after the last evaluation",
    (kind) => {
      const s = new Wish(options);
      const st = mutableStats({ activeWorkers: 1 });
      s.want = 1;
      expect(tickAt(s, st, -10)).toBe(0); // the first tick came
      s.want = 3;
      expect(eventsAt(s, st, 0, 16, kind)).toEqual([2]);
      s.want = 6;
      expect(eventsAt(s, st, 9, 16, kind)).toEqual([]); // the 32nd event, 9 ms later: skipped
      expect(s.seen).toHaveLength(2); // the tick's and the 16th event's
      expect(eventsAt(s, st, 10, 16, kind)).toEqual([3]); // the 48th, 10 ms later
    },
  );

  it("before the first tick, lets item events look 1 ms apart, and the 4th event after one too soon", () => {
    // A job queued at once: its events come within a few ms, then far apart.
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 1 });
    s.want = 3;
    expect(eventsAt(s, st, 0, 16, "enqueue")).toEqual([2]);
    s.want = 6;
    expect(eventsAt(s, st, 0, 16, "enqueue")).toEqual([]); // the 32nd, at once: too soon
    expect(eventsAt(s, st, 1, 3, "enqueue")).toEqual([]);
    expect(eventsAt(s, st, 1, 1, "enqueue")).toEqual([3]); // the 4th after it, 1 ms later
    expect(tickAt(s, st, 100)).toBe(0);
    s.want = 10;
    // From the first tick on: 10 ms apart, and the 16th event after one too soon.
    expect(eventsAt(s, st, 101, 16, "enqueue")).toEqual([]);
    expect(eventsAt(s, st, 110, 4, "enqueue")).toEqual([]);
    expect(eventsAt(s, st, 110, 12, "enqueue")).toEqual([4]);
  });

  it("lets only the first 512 events that came too soon before the first tick look again early", () => {
    // A clock that never moves (no tick ever): after 512 early retries, back to every 16th event.
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 1 });
    s.want = 1;
    // The 16th event looks; from the 32nd on every 4th is too soon and retries, 512 of them.
    eventsAt(s, st, 0, 32 + 511 * 4, "enqueue");
    expect(eventsAt(s, st, 0, 4, "enqueue")).toEqual([]); // too soon, and no retry left
    s.want = 3;
    expect(eventsAt(s, st, 1, 4, "enqueue")).toEqual([]); // so the 4th after it does not look
    expect(eventsAt(s, st, 1, 12, "enqueue")).toEqual([2]); // the 16th does
  });

  it("evaluates on every tick, however recent the last evaluation", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 1 });
    s.want = 3;
    expect(eventsAt(s, st, 0, 16)).toEqual([2]);
    s.want = 6;
    expect(tickAt(s, st, 1)).toBe(3);
    expect(tickAt(s, st, 1)).toBe(0);
    expect(s.seen).toHaveLength(3);
  });

  it("counts a tick as an evaluation for the 10 ms gap of item events", () => {
    const s = new Wish(options);
    const st = mutableStats({ activeWorkers: 1 });
    s.want = 1;
    tickAt(s, st, 0);
    s.want = 3;
    expect(eventsAt(s, st, 5, 16)).toEqual([]);
    expect(eventsAt(s, st, 10, 16)).toEqual([2]);
  });
});
