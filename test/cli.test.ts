import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const CLI = join(import.meta.dirname, "..", "src", "cli.ts");

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe("flowrhythm simulate", () => {
  const dir = mkdtempSync(join(tmpdir(), "flowrhythm-cli-"));

  it("runs a user's scenario file and prints the metrics table", async () => {
    const file = join(dir, "mine.json");
    writeFileSync(
      file,
      JSON.stringify({
        id: "mine",
        title: "my workload",
        serviceMs: 20,
        phases: [{ durationS: 5, rate: 200, nRef: 6 }],
      }),
    );
    const { code, out, err } = await run(["simulate", file, "--strategy", "adaptive,fixed", "--seeds", "1"]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/^mine — my workload \(virtual time, means of 1 seed\)/);
    expect(out).toMatch(/strategy\s+thr\s+T90 s\s+cost/);
    expect(out).toMatch(/\nadaptive\s+\d\.\d{3}/);
    expect(out).toMatch(/\nfixed\s+\d\.\d{3}/);
  }, 60_000);

  it("prints JSON with --json", async () => {
    const { code, out } = await run(["simulate", "S1", "--seeds", "1", "--json"]);
    expect(code).toBe(0);
    const json = JSON.parse(out) as Record<string, { throughputRatio: number }>;
    expect(json.adaptive!.throughputRatio).toBeGreaterThan(0.98);
  }, 60_000);

  it("names the bad field of a scenario file, with exit code 2 and no stack", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ id: "bad", phases: [{ durationS: 5, rate: -3, nRef: 2 }] }));
    const { code, err } = await run(["simulate", file]);
    expect(code).toBe(2);
    expect(err).toContain(`${file}: option "phases.0.rate" = -3: expected a finite rate ≥ 0`);
    expect(err).not.toMatch(/\n\s+at /);
  }, 60_000);

  it("rejects an unknown strategy and an unknown command", async () => {
    const a = await run(["simulate", "S1", "--strategy", "magic"]);
    expect(a.code).toBe(2);
    expect(a.err).toContain('unknown strategy "magic"');
    const b = await run(["simulat", "S1"]);
    expect(b.code).toBe(2);
    expect(b.err).toContain('unknown command "simulat"');
  }, 60_000);
});
