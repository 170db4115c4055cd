import { spawn } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const CHILD = new URL("../../fixtures/chaos-child.ts", import.meta.url).pathname;
// `npm run chaos` raises these: CHAOS_SIGNAL_RUNS children, from CHAOS_SEED.
const RUNS = Number(process.env.CHAOS_SIGNAL_RUNS ?? 8);
const SEED = Number(process.env.CHAOS_SEED ?? 20261130);

interface FlowReport {
  state: string;
  endedBy: string | null;
  itemsIn: number;
  inFlight: number;
  consumed: number[];
  failed: number[];
  dropped: number[];
  /** Ids of the flow's `skip` events, and its `skipped` counter. */
  skipped: number[];
  skippedCount: number;
  /** Ids of the flow's `expand` events' items, the children its flatMaps made, and its `children` counter. */
  expanded: number[];
  children: number[];
  childrenCount: number;
  opened: number;
  closed: number;
  listenerErrors: number;
  listenerCalls: number;
}

/** Starts a child with one or two random flows, sends SIGTERM `afterMs` after it is ready. */
function runChild(
  seed: number,
  flows: number,
  afterMs: number,
): Promise<{ code: number | null; flows: FlowReport[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, String(seed), String(flows)], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000,
      killSignal: "SIGKILL",
    });
    let out = "";
    let err = "";
    let armed = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!armed && out.includes("ready")) {
        armed = true;
        setTimeout(() => child.kill("SIGTERM"), afterMs);
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve({ code, flows: (JSON.parse(line) as { flows: FlowReport[] }).flows });
      } catch {
        reject(new Error(`child printed no summary (exit ${code}):\n${out}\n${err}`));
      }
    });
  });
}

describe("chaos with a real SIGTERM (child processes)", () => {
  it(
    "one or two random flows in one process, SIGTERM at a random moment: the process exits 0 once every flow has drained, each item with exactly one outcome and every setup closed",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            seed: fc.nat(),
            flows: fc.constantFrom(1, 2),
            afterMs: fc.integer({ min: 0, max: 300 }),
          }),
          async ({ seed, flows, afterMs }) => {
            const r = await runChild(seed, flows, afterMs);
            expect(r.code).toBe(0);
            for (const f of r.flows) {
              const all = [...f.consumed, ...f.failed, ...f.dropped, ...f.skipped, ...f.expanded].sort(
                (a, b) => a - b,
              );
              expect(all).toEqual([...Array.from({ length: f.itemsIn }, (_, i) => i), ...f.children]);
              expect(f.skippedCount).toBe(f.skipped.length);
              expect(f.childrenCount).toBe(f.children.length);
              expect(f.inFlight).toBe(0);
              expect(f.closed).toBe(f.opened);
              expect(f.listenerErrors).toBe(f.listenerCalls);
              expect(["drained", "stopped"]).toContain(f.state);
              // Drained by the signal, unless the flow ended itself first (a stage's Last).
              expect(["SIGTERM", "last"]).toContain(f.endedBy);
            }
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    Math.max(120_000, RUNS * 15_000),
  );
});
