import { Counter, type OpenMetricsContentType, Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { Flow, Skip, UtilizationScaling } from "../../src/index.js";
import type { FlowStats, ScaleEvent } from "../../src/index.js";
import { DEFAULT_BUCKETS, METRICS, prometheusName, scaleReasonKind } from "../../src/observe/metric-set.js";
import { registerFlowMetrics } from "../../src/prometheus.js";
import { configErrorOf, range, runVirtual, sleep, VirtualClock } from "../helpers.js";
import { type Family, parseExposition, sampleOf } from "./prometheus-text.js";

/** A stage name that needs every escape of the format: quotes, backslashes, a newline. */
const HOSTILE = 'say "hi"\\path\nnext} 7';

function build(clock: VirtualClock, name = "orders") {
  const scales: ScaleEvent[] = [];
  const flow = new Flow({ name, clock })
    .addTransformer(
      async (x: number) => {
        await sleep(clock, 4);
        return x;
      },
      { name: "parse", scalingStrategy: new UtilizationScaling({ maxWorkers: 5, cooldownMs: 0 }) },
    )
    .addTransformer(
      async (x: number) => {
        await sleep(clock, 1);
        if (x % 6 === 0) throw new Error("bad");
        return x;
      },
      { name: HOSTILE },
    )
    .addTransformer((x: number) => (x % 4 === 0 ? Skip : x), { name: "filter" })
    .setConsumer(() => {}, { name: "store", queueSize: Number.POSITIVE_INFINITY })
    .setErrorHandler(() => {});
  flow.on("scale", (e) => scales.push(e));
  return { flow, scales };
}

const TYPE = { counter: "counter", updown: "gauge", gauge: "gauge", histogram: "histogram" } as const;

/** Every metric's HELP, TYPE and samples agree with `stats` (and `scales` for the scale events). */
function expectMatches(
  families: Map<string, Family>,
  stats: FlowStats,
  scales: readonly ScaleEvent[],
  prefix = "",
) {
  const flow = stats.name;
  for (const def of METRICS) {
    const name = prometheusName(def, prefix);
    const f = families.get(name);
    expect(f, name).toBeDefined();
    expect(f!.type, name).toBe(TYPE[def.kind]);
    expect(f!.help, name).toBe(def.description);
    if (def.kind === "histogram") continue;
    if (def.scope === "flow") {
      if (def.split)
        for (const v of def.split.values)
          expect(sampleOf(families, name, { flow, [def.split.label]: v }), `${name} ${v}`).toBe(
            def.split.read![v]!(stats),
          );
      else expect(sampleOf(families, name, { flow }), name).toBe(def.read!(stats));
      continue;
    }
    for (const st of stats.stages) {
      const labels = { flow, stage: st.stageName };
      if (def.scaleEvents)
        for (const kind of def.split!.values) {
          const want = scales.filter(
            (e) => e.stage === st.stageName && scaleReasonKind(e.reason) === kind,
          ).length;
          expect(sampleOf(families, name, { ...labels, reason: kind }), `${name} ${kind}`).toBe(want);
        }
      else if (def.split)
        for (const v of def.split.values)
          expect(sampleOf(families, name, { ...labels, [def.split.label]: v }), `${name} ${v}`).toBe(
            def.split.read![v]!(st),
          );
      else
        expect(sampleOf(families, name, labels), `${name} ${st.stageName}`).toBe(def.read!(st) ?? undefined);
    }
  }
}

describe("registerFlowMetrics (Prometheus)", () => {
  it("writes every metric as valid exposition text whose values equal flow.stats(), escaping hostile stage names", async () => {
    const clock = new VirtualClock();
    const { flow, scales } = build(clock);
    const registry = new Registry();
    const unregister = registerFlowMetrics(flow, { registry });
    flow.setProducer(range(240));
    await runVirtual(flow, clock);
    const text = await registry.metrics();
    const families = parseExposition(text);
    const stats = flow.stats();

    expect([...families.keys()].sort()).toEqual(METRICS.map((d) => prometheusName(d)).sort());
    expectMatches(families, stats, scales);
    // The hostile name went through escaped and came back whole.
    expect(text).toContain('stage="say \\"hi\\"\\\\path\\nnext} 7"');
    expect(
      families.get("flowrhythm_stage_items_total")!.samples.some((s) => s.labels.stage === HOSTILE),
    ).toBe(true);
    // An unbounded queue has no capacity series; the bounded ones have theirs.
    expect(
      sampleOf(families, "flowrhythm_stage_queue_capacity", { flow: "orders", stage: "store" }),
    ).toBeUndefined();
    expect(sampleOf(families, "flowrhythm_stage_queue_capacity", { flow: "orders", stage: "parse" })).toBe(
      1024,
    );
    expect(stats.failed).toBeGreaterThan(0);
    expect(stats.skipped).toBeGreaterThan(0);
    expect(
      scales.some((e) => scaleReasonKind(e.reason) === "dequeue" || scaleReasonKind(e.reason) === "enqueue"),
    ).toBe(true);
    unregister();
  });

  it("writes histograms of the timed calls, in seconds, with cumulative buckets up to +Inf", async () => {
    const clock = new VirtualClock();
    const { flow } = build(clock);
    const registry = new Registry();
    const unregister = registerFlowMetrics(flow, { registry });
    flow.setProducer(range(2000));
    await runVirtual(flow, clock);
    const families = parseExposition(await registry.metrics());
    const name = "flowrhythm_stage_processing_duration_seconds";
    for (const st of flow.stats().stages) {
      const labels = { flow: "orders", stage: st.stageName };
      expect(sampleOf(families, name, labels, `${name}_count`), st.stageName).toBe(st.timedItems);
      expect(sampleOf(families, name, labels, `${name}_sum`)).toBeCloseTo(st.timedMs / 1000, 9);
      const buckets = families
        .get(name)!
        .samples.filter((s) => s.name === `${name}_bucket` && s.labels.stage === st.stageName);
      expect(buckets.map((b) => b.labels.le)).toEqual([...DEFAULT_BUCKETS.map(String), "+Inf"]);
      for (let i = 1; i < buckets.length; i++)
        expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      expect(buckets.at(-1)!.value).toBe(st.timedItems);
      const wait = "flowrhythm_stage_queue_wait_duration_seconds";
      expect(sampleOf(families, wait, labels, `${wait}_count`)).toBe(st.queueWait.count);
    }
    // Virtual time: parse's calls take exactly 4 ms.
    expect(
      sampleOf(families, name, { flow: "orders", stage: "parse", le: "0.005" }, `${name}_bucket`) as number,
    ).toBe(flow.stats().stages[0]!.timedItems);
    expect(sampleOf(families, name, { flow: "orders", stage: "parse", le: "0.0025" }, `${name}_bucket`)).toBe(
      0,
    );
    unregister();
  });

  it("reads one snapshot per flow per scrape, and shares a registry between flows told apart by name", async () => {
    const clock = new VirtualClock();
    const a = build(clock, "a").flow;
    const b = build(clock, "b").flow;
    const registry = new Registry();
    const offA = registerFlowMetrics(a, { registry });
    const offB = registerFlowMetrics(b, { registry });
    a.setProducer(range(30));
    b.setProducer(range(50));
    await Promise.all([runVirtual(a, clock), runVirtual(b, clock)]);
    const spyA = vi.spyOn(a, "stats");
    const spyB = vi.spyOn(b, "stats");
    const families = parseExposition(await registry.metrics());
    expect(spyA).toHaveBeenCalledTimes(1);
    expect(spyB).toHaveBeenCalledTimes(1);
    expect(sampleOf(families, "flowrhythm_flow_arrivals_total", { flow: "a" })).toBe(30);
    expect(sampleOf(families, "flowrhythm_flow_arrivals_total", { flow: "b" })).toBe(50);
    expect(() => registerFlowMetrics(new Flow({ name: "a" }), { registry })).toThrow(
      expect.objectContaining({ name: "FlowConfigError", option: "flow" }),
    );
    // One flow leaves: its series go, the other's stay; the last one out takes the metrics.
    offA();
    const afterA = parseExposition(await registry.metrics());
    expect(afterA.get("flowrhythm_flow_arrivals_total")!.samples.map((s) => s.labels.flow)).toEqual(["b"]);
    expect(
      afterA.get("flowrhythm_stage_processing_duration_seconds")!.samples.every((s) => s.labels.flow === "b"),
    ).toBe(true);
    offB();
    offB();
    expect(await registry.metrics()).toBe("\n");
    spyA.mockRestore();
    spyB.mockRestore();
  });

  it("has no stage series before the flow starts, and keeps counters monotonic across runs", async () => {
    const clock = new VirtualClock();
    const { flow } = build(clock);
    const registry = new Registry();
    const off = registerFlowMetrics(flow, { registry, prefix: "app_" });
    const before = parseExposition(await registry.metrics());
    expect(sampleOf(before, "app_flowrhythm_flow_arrivals_total", { flow: "orders" })).toBe(0);
    expect(before.get("app_flowrhythm_stage_workers")!.samples).toEqual([]);
    flow.setProducer(range(20));
    await runVirtual(flow, clock);
    const first = flow.stats();
    flow.setProducer(range(30));
    await runVirtual(flow, clock);
    const families = parseExposition(await registry.metrics());
    expect(sampleOf(families, "app_flowrhythm_flow_arrivals_total", { flow: "orders" })).toBe(50);
    expect(
      sampleOf(families, "app_flowrhythm_stage_items_total", {
        flow: "orders",
        stage: "parse",
        outcome: "processed",
      }),
    ).toBe(first.stages[0]!.processed + flow.stats().stages[0]!.processed);
    off();
  });

  it("writes OpenMetrics when the registry does", async () => {
    const clock = new VirtualClock();
    const { flow } = build(clock);
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const off = registerFlowMetrics(flow, { registry });
    flow.setProducer(range(10));
    await runVirtual(flow, clock);
    const text = await registry.metrics();
    expect(text).toMatch(/^# TYPE flowrhythm_flow_arrivals counter$/m);
    expect(text).toMatch(/^flowrhythm_flow_arrivals_total\{flow="orders"\} 10$/m);
    expect(text.endsWith("# EOF\n")).toBe(true);
    off();
    expect(registry.getMetricsAsArray()).toEqual([]);
  });

  it("refuses bad options, naming the option, the value and what was expected", () => {
    const flow = new Flow({ name: "x" });
    const registry = new Registry();
    const bad = (f: () => unknown, option: string, expected: RegExp) => {
      const error = configErrorOf(f);
      expect(error.option).toBe(option);
      expect(error.message).toMatch(/^registerFlowMetrics: /);
      expect(error.message).toMatch(expected);
    };
    bad(() => registerFlowMetrics({} as never), "flow", /expected a Flow/);
    bad(
      () => registerFlowMetrics(flow, { registry: {} as never }),
      "registry",
      /expected a prom-client Registry/,
    );
    bad(
      () => registerFlowMetrics(flow, { registry, prefix: "9lives_" }),
      "prefix",
      /"9lives_".*letters, digits/,
    );
    bad(() => registerFlowMetrics(flow, { registry, prefix: "my-app_" }), "prefix", /letters, digits/);
    bad(() => registerFlowMetrics(flow, { registry, buckets: [1, 0.5] }), "buckets", /strictly increasing/);
    bad(() => registerFlowMetrics(flow, { registry, buckets: [] }), "buckets", /non-empty/);
    bad(() => registerFlowMetrics(flow, { registry, prefx: "a" } as never), "prefx", /unknown option/);
    bad(() => registerFlowMetrics(flow, "x" as never), "options", /expected an options object/);
    new Counter({ name: "flowrhythm_flow_arrivals_total", help: "someone else's", registers: [registry] });
    bad(
      () => registerFlowMetrics(flow, { registry }),
      "prefix",
      /already has a metric named flowrhythm_flow_arrivals_total/,
    );
    const other = new Registry();
    const off = registerFlowMetrics(flow, { registry: other });
    bad(
      () => registerFlowMetrics(new Flow({ name: "y" }), { registry: other, buckets: [1] }),
      "buckets",
      /share/,
    );
    off();
    expect(registry.getMetricsAsArray()).toHaveLength(1);
  });
});
