import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { Flow } from "../../../src/index.js";
import { range, sleep, VirtualClock } from "../../helpers.js";

const CHILD = new URL("../../fixtures/signal-child.ts", import.meta.url).pathname;
const TWO_FLOWS = new URL("../../fixtures/two-flows-child.ts", import.meta.url).pathname;

interface Summary {
  code: number;
  state: string;
  itemsIn: number;
  consumed: number;
  failed: number;
  dropped: number;
  ended: number;
  distinct: number;
  allBelowItemsIn: boolean;
  setups: number;
  closes: number;
  flushedPartial: boolean;
}

/**
 * Runs the child, sends the first of `signals` once it prints "ready" and each next one once it
 * printed that the previous one arrived; returns its exit code and summary.
 */
function runChild<S = Summary>(
  args: string[],
  signals: NodeJS.Signals[],
  file = CHILD,
): Promise<{ code: number | null; summary: S }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      // A child that does not exit on its own fails the test instead of outliving it.
      timeout: 50_000,
      killSignal: "SIGKILL",
    });
    let out = "";
    let err = "";
    let sent = 0;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const arrived = out.split("\n").filter((l) => l.startsWith("got ")).length;
      if (sent < signals.length && out.includes("ready") && arrived === sent) child.kill(signals[sent++]);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve({ code, summary: JSON.parse(line) as S });
      } catch {
        reject(new Error(`child printed no summary (exit ${code}):\n${out}\n${err}`));
      }
    });
  });
}

describe("handleSignals", () => {
  it("SIGTERM drains: every item taken is consumed or reported, batches flush, every close runs, exit 0", async () => {
    const { code, summary } = await runChild([], ["SIGTERM"]);
    expect(code).toBe(0);
    expect(summary.state).toBe("drained");
    expect(summary.itemsIn).toBeGreaterThanOrEqual(30);
    expect(summary.ended).toBe(summary.itemsIn);
    expect(summary.distinct).toBe(summary.itemsIn);
    expect(summary.allBelowItemsIn).toBe(true);
    expect(summary.consumed + summary.failed + summary.dropped).toBe(summary.itemsIn);
    expect(summary.dropped).toBe(0);
    expect(summary.failed).toBeGreaterThan(0);
    expect(summary.closes).toBe(summary.setups);
    expect(summary.flushedPartial).toBe(true);
  }, 60_000);

  for (const variant of ["both exit", "exit-false"]) {
    it(`two flows in one process (${variant}): SIGTERM drains both; the process exits only once both are done`, async () => {
      interface Report {
        state: string;
        endedBy: string;
        itemsIn: number;
        outcomes: number;
        ended: number;
        distinct: number;
        setups: number;
        closes: number;
      }
      const { code, summary } = await runChild<{ code: number; quick: Report; slow: Report }>(
        variant === "exit-false" ? ["exit-false"] : [],
        ["SIGTERM"],
        TWO_FLOWS,
      );
      expect(code).toBe(0);
      for (const r of [summary.quick, summary.slow]) {
        expect(r).toMatchObject({ state: "drained", endedBy: "SIGTERM" });
        expect(r.itemsIn).toBeGreaterThan(0);
        expect(r.outcomes).toBe(r.itemsIn);
        expect(r.ended).toBe(r.itemsIn);
        expect(r.distinct).toBe(r.itemsIn);
        expect(r.closes).toBe(r.setups);
      }
    }, 60_000);
  }

  it("a second signal stops at once: in-flight items are dropped and reported, exit 128 + signal", async () => {
    const { code, summary } = await runChild(["slow"], ["SIGINT", "SIGINT"]);
    expect(code).toBe(130);
    expect(summary.state).toBe("stopped");
    expect(summary.dropped).toBeGreaterThan(0);
    expect(summary.ended).toBe(summary.itemsIn);
    expect(summary.distinct).toBe(summary.itemsIn);
    expect(summary.closes).toBe(summary.setups);
  }, 60_000);

  it("nothing keeps the process alive after stop(): retry backoffs and timeouts are cleared", async () => {
    const { code, summary } = await runChild(["stop"], []);
    expect(code).toBe(0);
    expect(summary.state).toBe("stopped");
    expect(summary.ended).toBe(summary.itemsIn);
    expect(summary.distinct).toBe(summary.itemsIn);
    expect(summary.closes).toBe(summary.setups);
    expect(summary.dropped).toBeGreaterThan(0); // items were waiting out a backoff when it stopped
  }, 60_000);

  it("flow.handleSignals({ exit: false }) drains on the first signal, stops on the second, and unlistens when done", async () => {
    const clock = new VirtualClock();
    const before = process.listenerCount("SIGTERM");
    const f = new Flow({ clock, errorHandler: () => {} })
      .setProducer(function* () {
        for (let i = 0; ; i++) yield i;
      })
      .setConsumer((_x: number, ctx) => sleep(clock, 100, ctx.signal), { queueSize: 4 });
    await f.start();
    f.handleSignals({ exit: false });
    expect(process.listenerCount("SIGTERM")).toBe(before + 1);
    await clock.advance(250);
    process.emit("SIGTERM", "SIGTERM");
    expect(f.stats().state).toBe("draining");
    await clock.advance(150);
    process.emit("SIGINT", "SIGINT");
    await f.wait();
    expect(f.stats()).toMatchObject({ state: "stopped", inFlight: 0 });
    expect(f.stats().consumed).toBeGreaterThanOrEqual(3);
    expect(process.listenerCount("SIGTERM")).toBe(before);
  });

  it("removes its listeners after a run that ended without a signal", async () => {
    const before = process.listenerCount("SIGINT");
    const f = new Flow({ handleSignals: true }).setConsumer(() => {});
    await f.run(range(3));
    await Promise.resolve();
    expect(process.listenerCount("SIGINT")).toBe(before);
    expect(() => f.handleSignals({ exit: "yes" } as never)).toThrow(
      /handleSignals: option "exit" = "yes": expected true or false/,
    );
  });
});
