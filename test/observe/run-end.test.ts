import { Registry, register } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { Flow, FlowConfigError } from "../../src/index.js";
import { registerFlowMetrics } from "../../src/prometheus.js";
import { parseExposition, sampleOf } from "./prometheus-text.js";

/** The `flowrhythm_flow_items_total{outcome="consumed"}` value of flow `name` in `text`. */
const consumed = (text: string, name: string): number | undefined =>
  sampleOf(parseExposition(text), "flowrhythm_flow_items_total", { flow: name, outcome: "consumed" });

afterEach(() => register.clear());

describe("Prometheus counters across runs, found by a trial", () => {
  it("keep every run's counts when a `drained` listener registered first starts the next run at once", async () => {
    const registry = new Registry();
    const f = new Flow<number>({ name: "restart" }).setConsumer(() => {});
    let runs = 0;
    let second: Promise<void> | null = null;
    // Registered before the metrics: it runs before any listener of theirs would.
    f.on("drained", () => {
      if (++runs === 1) second = f.run(Array.from({ length: 20 }, (_, i) => i));
    });
    registerFlowMetrics(f, { registry });
    const seen: number[] = [];
    await f.run(Array.from({ length: 20 }, (_, i) => i));
    seen.push(consumed(await registry.metrics(), "restart") ?? Number.NaN);
    await second;
    seen.push(consumed(await registry.metrics(), "restart") ?? Number.NaN);
    expect(seen[1]).toBe(40);
    expect(seen[0]).toBeGreaterThanOrEqual(20);
  });

  it("a registry cleared between registrations exports the flows registered after it (a test suite's `register.clear()`)", async () => {
    const first = new Flow<number>({ name: "global" }).setConsumer(() => {});
    registerFlowMetrics(first);
    await first.run([1, 2, 3]);
    expect(consumed(await register.metrics(), "global")).toBe(3);
    register.clear();
    const again = new Flow<number>({ name: "global" }).setConsumer(() => {});
    registerFlowMetrics(again);
    await again.run([1, 2, 3, 4]);
    expect(consumed(await register.metrics(), "global")).toBe(4);
  });

  it("refuses sparse buckets (holes passed an every() check)", () => {
    let error: unknown;
    try {
      registerFlowMetrics(new Flow({ name: "b" }), { registry: new Registry(), buckets: new Array(3) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlowConfigError);
    expect((error as FlowConfigError).option).toBe("buckets");
  });
});
