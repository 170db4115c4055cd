import { describe, expect, it } from "vitest";
import { SlowStartMove } from "../../../src/scaling/knee/slow-start.js";
import { Rig } from "./slow-start-rig.js";

const { Off, Grow } = SlowStartMove;

describe("slow start when new workers empty the queue", () => {
  it("goes on when new workers empty the queue for a moment after a step", () => {
    // Workers just added take every queued item at once; the source refills the queue a few
    // ms later. That is not demand becoming visible: the slow start goes on, its reference kept.
    const rig = new Rig();
    rig.run(15);
    expect(rig.changes).toEqual([[15, Grow, 4]]);
    rig.st.queueLength = 0;
    rig.run(3);
    rig.st.queueLength = 64;
    rig.run(40);
    expect(rig.moves.filter(([, m]) => m === Off)).toEqual([]);
    expect(rig.changes.map(([, , n]) => n)).toEqual([4, 16, 64]);
  });

  it("still ends when the queue stays low past a call time after a step", () => {
    const rig = new Rig();
    rig.run(15);
    rig.st.queueLength = 0;
    rig.run(12);
    expect(rig.moves.at(-1)?.[1]).toBe(Off);
    expect(rig.ss.active).toBe(false);
  });
});

describe("the unloaded call time slow start hands over with its cut", () => {
  /** 40 slots behind 10 ms calls, from 2 workers: a cut to 44 after rounds of 100/s a worker. */
  const cut = (rig: Rig) => {
    rig.n = 2;
    rig.rate = (n) => Math.min(n, 40) * 100;
    rig.run(200);
    expect(rig.changes.at(-1)?.[1]).toBe(SlowStartMove.Cut);
    return rig.ss.cutUnloadedS;
  };

  it("is the last good round's time a worker when the call times seen are longer (a stale mean)", () => {
    const rig = new Rig();
    rig.planMs = 20;
    rig.timing = false;
    expect(cut(rig)).toBeCloseTo(10, 9);
  });

  it("is the least call time seen when that is shorter", () => {
    const rig = new Rig();
    rig.callMs = () => 8;
    expect(cut(rig)).toBe(8);
  });
});
