import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { METRICS, prometheusName } from "../../src/observe/metric-set.js";
import { parseExposition, sampleOf } from "./prometheus-text.js";

const example = fileURLToPath(new URL("../../examples/prometheus.ts", import.meta.url));
let child: ChildProcess | null = null;

afterEach(() => {
  // A failed assertion must not leave the server running.
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = null;
});

/** Resolves with the address the example prints once it serves; rejects if it exits first. */
function address(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const url = /serving (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(out)?.[1];
      if (url) resolve(url);
    });
    proc.once("exit", (code) => reject(new Error(`the example exited (${code}) before serving: ${out}`)));
  });
}

describe("examples/prometheus.ts", () => {
  it("serves /metrics over HTTP while its flow runs: every line parses, every metric is there, and SIGTERM ends it", async () => {
    child = spawn(process.execPath, ["--import", "tsx", example], {
      env: { ...process.env, FLOWRHYTHM_METRICS_SERVE: "1" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const url = await address(child);
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));

    // Two scrapes: the counters only grow between them, while the flow keeps running.
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    const a = parseExposition(await first.text());
    await new Promise((r) => setTimeout(r, 200));
    const b = parseExposition(await (await fetch(url)).text());

    for (const def of METRICS) expect(b.has(prometheusName(def)), def.name).toBe(true);
    const arrivals = (f: typeof a) => sampleOf(f, "flowrhythm_flow_arrivals_total", { flow: "orders" })!;
    expect(arrivals(a)).toBeGreaterThan(0);
    expect(arrivals(b)).toBeGreaterThan(arrivals(a));
    const stages = new Set(b.get("flowrhythm_stage_workers")!.samples.map((s) => s.labels.stage));
    expect([...stages].sort()).toEqual(["fetch", "filter", "store"]);
    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 30_000);
});
