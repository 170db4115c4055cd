import { describe, expect, it } from "vitest";
import { KneeHistory } from "../../../src/scaling/knee/knee-history.js";

describe("KneeHistory (the counts the knee guard measured under a backlog)", () => {
  it("remembers the last count, and forgets everything on clear", () => {
    const h = new KneeHistory(1000);
    expect(h.last).toBe(-1);
    h.remember(10, 1000, 0);
    h.remember(20, 1900, 10);
    expect(h.last).toBe(20);
    expect(h.knee(1900, 20, 1900)).toBe(20);
    expect(h.knee(1000, 40, 1000)).toBe(20); // 20 gave the best seen
    h.clear();
    expect(h.last).toBe(-1);
    expect(h.knee(1000, 40, 1000)).toBe(40); // nothing remembered: the count it came from
  });

  it("takes the fewest workers that gave 95 % of the best seen, the current reading included", () => {
    const h = new KneeHistory(1000);
    h.remember(10, 940, 0);
    h.remember(20, 1000, 1);
    h.remember(30, 950, 2);
    // 95 % of 1,000 is 950: 30 is in (exactly 95 %), 10 is not (94 %); 20 and 30 in, 20 the fewest.
    expect(h.knee(1000, 40, 1000)).toBe(20);
    // A best above every count remembered: only n0, if it gave it.
    expect(h.knee(2000, 40, 1000)).toBe(40);
    expect(h.knee(900, 40, 2000)).toBe(40);
    // n0 gave 95 % exactly, and is fewer than every count that did.
    expect(h.knee(1000, 5, 950)).toBe(5);
    // The best is the most seen, not the least: with x and x0 low, the history's 1,000 sets it.
    expect(h.knee(500, 40, 500)).toBe(20);
    // A count equal to the knee so far does not replace it; a higher best moves it.
    h.remember(15, 1100, 3);
    expect(h.knee(1000, 40, 1000)).toBe(15);
  });

  it("forgets counts older than its hold, and keeps at most 16", () => {
    const h = new KneeHistory(100);
    h.remember(10, 1000, 0);
    h.remember(20, 1000, 100); // 100 ms later: the first is still within the hold
    expect(h.knee(1000, 40, 1000)).toBe(10);
    h.remember(30, 1000, 101); // now the first is older than the hold
    expect(h.knee(1000, 40, 1000)).toBe(20);
    const many = new KneeHistory(1000);
    for (let i = 1; i <= 17; i++) many.remember(i, 1000, i);
    // The 17th pushed the 1st out: the fewest within 95 % is now 2.
    expect(many.knee(1000, 40, 1000)).toBe(2);
    const sixteen = new KneeHistory(1000);
    for (let i = 1; i <= 16; i++) sixteen.remember(i, 1000, i);
    expect(sixteen.knee(1000, 40, 1000)).toBe(1);
  });

  it("finds growth that fell short as one step against counts at most 2/3 as large", () => {
    const h = new KneeHistory(1000);
    h.remember(20, 1000, 0);
    // 20 → 30 is 1.5 ×: it needs η·0.5 = 15 % with η = 0.3.
    expect(h.shortSince(30, 1100, 0, 0.3)).toBe(true); // 10 %
    expect(h.shortSince(30, 1160, 0, 0.3)).toBe(false); // 16 %: met
    expect(h.shortSince(30, 1100, 0.05, 0.3)).toBe(false); // within the noise
    expect(h.shortSince(29, 1000, 0, 0.3)).toBe(false); // under 1.5 ×: not judged as one
    // η scales the need: with η = 0.1 the same growth needs 5 %.
    expect(h.shortSince(30, 1060, 0, 0.1)).toBe(false);
    expect(h.shortSince(30, 1040, 0, 0.1)).toBe(true);
    // The need grows with the step: 20 → 40 needs 30 %.
    expect(h.shortSince(40, 1250, 0, 0.3)).toBe(true);
    expect(h.shortSince(40, 1300, 0, 0.3)).toBe(false);
  });
});
