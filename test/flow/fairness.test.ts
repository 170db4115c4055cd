import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

const CHILD = new URL("../fixtures/fair-child.ts", import.meta.url).pathname;

interface Report {
  code: number;
  ticks: number;
  elapsedMs: number;
  consumed: number;
  state: string;
  endedBy: string;
  itemsIn: number;
  inFlight: number;
  maxDelayMs: number;
}

/** Runs the child until its timer has fired 5 times, then SIGTERM; a child that ignores it is killed at 30 s. */
function run(mode: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
      killSignal: "SIGKILL",
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) {
        out = out.replace("ready", "");
        setTimeout(() => child.kill("SIGTERM"), 300);
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as Report);
      } catch {
        reject(new Error(`child printed no report (exit ${code}, ${signal}):\n${out}\n${err}`));
      }
    });
  });
}

describe("a flow whose items never wait leaves the event loop its turns", () => {
  for (const mode of ["fast", "cpu", "unbounded"]) {
    it(`${mode}: timers fire, SIGTERM drains and exits 0, the loop's delay stays bounded`, async () => {
      const r = await run(mode);
      expect(r.code).toBe(0);
      expect(r).toMatchObject({ state: "drained", endedBy: "SIGTERM", inFlight: 0 });
      expect(r.consumed).toBe(r.itemsIn);
      expect(r.consumed).toBeGreaterThan(0);
      // The 20 ms timer fired at least the five times that made the child ready, went on, and
      // kept at least a quarter of its pace over the whole run (a starved loop fires it once).
      expect(r.ticks).toBeGreaterThan(5);
      expect(r.ticks).toBeGreaterThan(r.elapsedMs / 20 / 4);
      // A generous bound (other tests load the machine): a turn is due every 10 ms; before, none
      // came until SIGKILL.
      expect(r.maxDelayMs).toBeLessThan(1000);
    }, 40_000);
  }
});

describe("workers that wait for the event loop's turn", () => {
  it("read as ready, not starting, while a sibling's synchronous work keeps the turn (real timers)", async () => {
    const { Flow } = await import("../../src/index.js");
    let grown = false;
    // One worker at first, a second one asked for on the first item: it is spawned while the
    // first spins through synchronous work and may not get a turn before the deadline.
    const strategy = {
      initialWorkers: () => 1,
      onEnqueue: () => {
        if (grown) return 0;
        grown = true;
        return 1;
      },
      onDequeue: () => 0,
      onTick: () => 0,
    };
    const seen: number[] = [];
    const f = new Flow()
      .setProducer(Array.from({ length: 400 }, (_, i) => i))
      .addTransformer(
        (n: number) => {
          const until = performance.now() + 1;
          while (performance.now() < until) {}
          return n;
        },
        { name: "spin", scalingStrategy: strategy },
      )
      .setConsumer(() => {});
    const timer = setInterval(() => {
      const s = f.stageStats("spin");
      if (s && s.totalWorkers === 2) seen.push(s.startingWorkers);
    }, 20);
    await f.start();
    await f.wait();
    clearInterval(timer);
    await f.stop();
    expect(seen.length).toBeGreaterThan(3);
    // Once the second worker exists, it is never reported as starting for long: at most the first sample.
    expect(seen.slice(1).every((n) => n === 0)).toBe(true);
  });
});
