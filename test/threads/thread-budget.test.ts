import { describe, expect, it, vi } from "vitest";
import { Flow, threaded } from "../../src/index.js";
import type { Job } from "../fixtures/threads/modes.worker.js";

// Node 20's availableParallelism() ignores a container's CPU quota; here it is made to be wrong
// the other way round, reporting 32 cores on this machine, as it would on a 32-core host that
// gives the process only a few.
vi.mock("node:os", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:os")>();
  return { ...real, availableParallelism: () => 32, default: { ...real, availableParallelism: () => 32 } };
});

const realCores = async () =>
  (await vi.importActual<typeof import("node:os")>("node:os")).availableParallelism();

/** Runs `f` to its end, sampling the threaded stage's workers every 20 ms. */
async function peakOf(f: Flow<any, any>, stage: string): Promise<{ peak: number; late: number[] }> {
  const counts: number[] = [];
  const timer = setInterval(() => counts.push(f.stageStats(stage)?.activeWorkers ?? 0), 20);
  try {
    for await (const _ of f.stream()) {
    }
  } finally {
    clearInterval(timer);
  }
  return { peak: Math.max(0, ...counts), late: counts.slice(Math.floor(counts.length / 2)) };
}

describe("the thread budget when the core count is wrong", () => {
  it("holds a CPU-bound stage near the cores the process gets, not the 32 Node reports", async () => {
    const cores = await realCores();
    const f = new Flow<number>()
      .setProducer(() => Array.from({ length: 3000 }, (_, i) => i))
      .addTransformer(
        threaded<typeof import("../fixtures/threads/cpu.worker.js")>(
          new URL("../fixtures/threads/cpu.worker.ts", import.meta.url),
        ),
        {
          name: "hash",
        },
      );
    const { peak, late } = await peakOf(f, "hash");
    expect(f.stats().consumed).toBe(3000);
    expect(peak).toBeLessThanOrEqual(cores + 1);
    expect(Math.max(...late)).toBeLessThanOrEqual(cores + 1);
    // It did use threads: more than one once the cores showed they were there.
    if (cores >= 2) expect(peak).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("lets threads that wait (async work, idle event loops) grow past the cores, up to the reported count", async () => {
    const cores = await realCores();
    const f = new Flow<Job>()
      .setProducer(() => Array.from({ length: 400 }, (_, n) => ({ n, mode: "sleep", ms: 40 })))
      .addTransformer(threaded(new URL("../fixtures/threads/modes.worker.ts", import.meta.url)), {
        name: "wait",
      });
    const { peak } = await peakOf(f, "wait");
    expect(f.stats().consumed).toBe(400);
    expect(peak).toBeGreaterThan(cores + 1);
  }, 60_000);
});
