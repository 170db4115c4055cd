import { describe, expect, it } from "vitest";
import { textWidth } from "../../src/internal/terminal-text.js";
import { renderStats, renderStatsTable } from "../../src/stats/render-stats.js";
import { flowStats, stageStats } from "../helpers.js";

/** A running flow of these stages, `overrides` on top. */
const flowStatsOf = (stages: ReturnType<typeof stageStats>[], overrides = {}) =>
  flowStats({ stages, ...overrides });

const LONG = "enrich-with-a-stage-name-far-too-long-to-fit-beside-the-numbers-of-a-table";

describe("the stats table", () => {
  it("fits 80 columns with every column of a busy stage", () => {
    const busy = stageStats({
      stageName: "fetch",
      busyWorkers: 24,
      idleWorkers: 3,
      blockedWorkers: 2,
      retryingWorkers: 1,
      rateLimitedWorkers: 5,
      totalWorkers: 35,
      queueLength: 1024,
      queueCapacity: 1024,
      arrivalRate: 12_345.6,
      throughput: 12_001.2,
      processed: 9_876_543,
      errors: 12_345,
      retries: 54_321,
      overloads: 999,
      dropped: 77,
      latency: { p50: 12.345, p90: 50, p99: 250.5, max: 900, mean: 20, count: 100 },
      queueWait: { p50: 1, p90: 2, p99: 1234.56, max: 2000, mean: 3, count: 100 },
    });
    const lines = renderStatsTable([busy, stageStats({ stageName: "store" })]).split("\n");
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    const text = lines.join("\n");
    for (const value of ["24", "35", "1024/1024", "12346", "12001", "9876543", "12345", "54321", "999", "77"])
      expect(text).toContain(value);
    expect(text).toContain("250.50");
    expect(text).toContain("1234.56");
  });

  it("puts a name too long for its column on a line of its own, above its numbers", () => {
    const lines = renderStatsTable([
      stageStats({ stageName: "fetch" }),
      stageStats({ stageName: LONG, processed: 42 }),
    ]).split("\n");
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    const at = lines.indexOf(LONG);
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^\s+0\s+0\s+0\s+0\s+0\s+0\s+0\/100$/);
    // The short names keep a short column: the numbers stay next to them.
    expect(lines[1]).toMatch(/^fetch {5}/);
    expect(lines.find((l) => l.startsWith("items"))).toBeDefined();
    expect(lines.some((l) => /^\s+0\s+0\s+42\s+0\s+0\s+0\s+0$/.test(l))).toBe(true);
  });

  it("cuts only a name wider than the whole table, and measures wide characters in columns", () => {
    const huge = "x".repeat(200);
    const cjk = "配送センター".repeat(3);
    const lines = renderStatsTable([stageStats({ stageName: huge }), stageStats({ stageName: cjk })]).split(
      "\n",
    );
    for (const line of lines) expect(textWidth(line), line).toBeLessThanOrEqual(80);
    expect(lines).toContain(`${"x".repeat(79)}…`);
    expect(lines.some((l) => l.startsWith(cjk))).toBe(true);
  });

  it("shows control characters and escape sequences in names neutralised", () => {
    const text = renderStatsTable([stageStats({ stageName: "red\x1b[31m\x1b[2J\nnext" })]);
    expect(text).not.toContain("\x1b");
    expect(text).toContain("red?next");
    expect(text.split("\n")).toHaveLength(6);
  });

  it("wraps the header line rather than pass 80 columns", () => {
    const big = 1_000_000_000_000;
    const text = renderStats(
      flowStatsOf([stageStats({ stageName: "a" })], {
        itemsIn: big,
        consumed: big,
        failed: big,
        dropped: big,
        skipped: big,
        expanded: big,
        children: big,
        inFlight: big,
      }),
      "text",
    );
    const lines = text.split("\n");
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^state=running in=1000000000000 /);
    expect(lines[1]).toMatch(/=1000000000000/);
    expect(lines.join(" ")).toContain(`children=${big} inFlight=${big}`);
  });
});
