import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  InMemoryMetricExporter,
  type MetricData,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Flow, FlowConfigError, Skip, UtilizationScaling } from "../../src/index.js";
import type { FlowStats, ScaleEvent, StageStats } from "../../src/index.js";
import {
  DEFAULT_BUCKETS,
  METRICS,
  type MetricDef,
  SCALE_REASON_KINDS,
  scaleReasonKind,
} from "../../src/observe/metric-set.js";
import { observeMetrics, SAMPLES_PER_COLLECTION } from "../../src/observe/otel-metrics.js";
import { range, runVirtual, sleep, VirtualClock } from "../helpers.js";

/** A MeterProvider whose metrics are read on demand into an in-memory exporter. */
function sdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter("flowrhythm-test");
  return {
    meter,
    provider,
    /** Collects once and returns the flowrhythm metrics by name. */
    async collect(): Promise<Map<string, MetricData>> {
      exporter.reset();
      await reader.forceFlush();
      const out = new Map<string, MetricData>();
      for (const rm of exporter.getMetrics())
        for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
      return out;
    },
  };
}

let providers: MeterProvider[] = [];
afterEach(async () => {
  for (const p of providers) await p.shutdown();
  providers = [];
});
function newSdk() {
  const s = sdk();
  providers.push(s.provider);
  return s;
}

const FLOW_NAME = "orders";
/** A name no exporter should mangle: quotes, a backslash, a newline, braces and digits. */
const HOSTILE = 'we"ird\\stage\n{x="1"} 42';

/** Three stages and a consumer: one scales, one fails every 7th item, one skips every 5th. */
function build(clock: VirtualClock) {
  const scales: ScaleEvent[] = [];
  const flow = new Flow({ name: FLOW_NAME, clock })
    .addTransformer(
      async (x: number) => {
        await sleep(clock, 5);
        return x;
      },
      { name: "parse", scalingStrategy: new UtilizationScaling({ maxWorkers: 6, cooldownMs: 0 }) },
    )
    .addTransformer(
      async (x: number) => {
        await sleep(clock, 1);
        if (x % 7 === 0) throw new Error(`bad ${x}`);
        return x;
      },
      { name: HOSTILE },
    )
    .addTransformer((x: number) => (x % 5 === 0 ? Skip : x), { name: "filter" })
    .setConsumer(async () => {}, { name: "store" })
    .setErrorHandler(() => {});
  flow.on("scale", (e) => scales.push(e));
  return { flow, scales };
}

const byName = new Map(METRICS.map((d) => [d.name, d]));
type Point = { attributes: Record<string, unknown>; value: unknown };
const points = (m: MetricData): Point[] => m.dataPoints as Point[];
const sumOf = (m: MetricData | undefined, match: Record<string, string>): number | undefined => {
  const found = m && points(m).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  if (!found || found.length === 0) return undefined;
  expect(found).toHaveLength(1);
  return found[0]!.value as number;
};
const flowAttrs = { "flowrhythm.flow.name": FLOW_NAME };
const stageAttrs = (stage: string) => ({ ...flowAttrs, "flowrhythm.stage.name": stage });

/** Every exported value equals what `stats` (and, for the scale events, `scales`) says. */
function expectMatches(got: Map<string, MetricData>, stats: FlowStats, scales: readonly ScaleEvent[]) {
  for (const def of METRICS) {
    if (def.kind === "histogram") continue;
    const m = got.get(def.name);
    expect(m, def.name).toBeDefined();
    if (def.scope === "flow") {
      const values = def.split ? def.split.values : [null];
      for (const v of values) {
        const attrs = v === null ? flowAttrs : { ...flowAttrs, [def.split!.attribute]: v };
        const want = v === null ? def.read!(stats) : def.split!.read![v]!(stats);
        expect(sumOf(m, attrs), `${def.name} ${v}`).toBe(want);
      }
      continue;
    }
    for (const st of stats.stages) {
      const attrs = stageAttrs(st.stageName);
      if (def.scaleEvents) {
        for (const kind of SCALE_REASON_KINDS) {
          const want = scales.filter(
            (e) => e.stage === st.stageName && scaleReasonKind(e.reason) === kind,
          ).length;
          expect(sumOf(m, { ...attrs, "flowrhythm.scale.reason": kind }), `${def.name} ${kind}`).toBe(want);
        }
        continue;
      }
      if (def.split) {
        for (const v of def.split.values)
          expect(sumOf(m, { ...attrs, [def.split.attribute]: v }), `${def.name} ${v}`).toBe(
            def.split.read![v]!(st),
          );
        continue;
      }
      const want = def.read!(st);
      expect(sumOf(m, attrs), `${def.name} ${st.stageName}`).toBe(want ?? undefined);
    }
  }
}

/** Attribute keys are the fixed ones; values are the flow's name, a stage's name or a listed value: never a number. */
function expectBounded(got: Map<string, MetricData>, stages: readonly string[]) {
  for (const [name, m] of got) {
    const def = byName.get(name) as MetricDef;
    expect(def, name).toBeDefined();
    const allowed = new Map<string, readonly string[]>([["flowrhythm.flow.name", [FLOW_NAME]]]);
    if (def.scope === "stage") allowed.set("flowrhythm.stage.name", stages);
    if (def.split) allowed.set(def.split.attribute, def.split.values);
    for (const p of points(m)) {
      expect(Object.keys(p.attributes).sort(), name).toEqual([...allowed.keys()].sort());
      for (const [k, v] of Object.entries(p.attributes)) {
        expect(typeof v, `${name} ${k}`).toBe("string");
        expect(allowed.get(k), `${name} ${k}=${String(v)}`).toContain(v);
      }
    }
  }
}

function histogramOf(got: Map<string, MetricData>, name: string, stage: string) {
  const m = got.get(name) as HistogramMetricData | undefined;
  expect(m?.dataPointType).toBe(DataPointType.HISTOGRAM);
  const p = m!.dataPoints.filter((d) => d.attributes["flowrhythm.stage.name"] === stage);
  expect(p).toHaveLength(1);
  return p[0]!.value;
}

describe("observeMetrics (OpenTelemetry)", () => {
  it("exports every metric of a finished run exactly as flow.stats() reads it, with bounded attributes", async () => {
    const clock = new VirtualClock();
    const { flow, scales } = build(clock);
    const { meter, collect } = newSdk();
    const stop = observeMetrics(flow, meter);
    flow.setProducer(range(300));
    await runVirtual(flow, clock);
    const got = await collect();
    const stats = flow.stats();

    expect([...got.keys()].sort()).toEqual(METRICS.map((d) => d.name).sort());
    expectMatches(got, stats, scales);
    expectBounded(
      got,
      stats.stages.map((s) => s.stageName),
    );
    // The run did what the test needs: failures, skips, and scaling past the initial pool.
    expect(stats.failed).toBeGreaterThan(0);
    expect(stats.skipped).toBeGreaterThan(0);
    expect(
      scales.some((e) => e.stage === "parse" && scaleReasonKind(e.reason) !== "initial" && e.to > e.from),
    ).toBe(true);
    for (const d of METRICS) expect(got.get(d.name)?.descriptor.unit, d.name).toBe(d.unit);
    stop();
  });

  it("feeds the histograms with every timed call when collected often enough: counts equal the timed items, in seconds", async () => {
    const clock = new VirtualClock();
    const { flow } = build(clock);
    const { meter, collect } = newSdk();
    const stop = observeMetrics(flow, meter);
    flow.setProducer(range(200));
    await flow.start();
    // A collection every 50 ms of virtual time: fewer timed calls than the per-collection bound.
    while (flow.stats().state === "running") {
      await clock.advance(50);
      await collect();
    }
    const got = await collect();
    for (const st of flow.stats().stages) {
      const processing = histogramOf(got, "flowrhythm.stage.processing.duration", st.stageName);
      expect(processing.count, st.stageName).toBe(st.timedItems);
      expect(processing.sum).toBeCloseTo(st.timedMs / 1000, 9);
      expect(processing.buckets.boundaries).toEqual([...DEFAULT_BUCKETS]);
      const wait = histogramOf(got, "flowrhythm.stage.queue.wait.duration", st.stageName);
      expect(wait.count, st.stageName).toBe(st.queueWait.count);
    }
    // Virtual time: parse's calls take exactly 5 ms, so every sample falls in the (2.5 ms, 5 ms] bucket.
    const parse = histogramOf(got, "flowrhythm.stage.processing.duration", "parse");
    expect(parse.count).toBeGreaterThan(0);
    expect(parse.buckets.counts[DEFAULT_BUCKETS.indexOf(0.005)]).toBe(parse.count);
    stop();
  });

  it("records at most SAMPLES_PER_COLLECTION samples per stage and kind per collection, drawn from the timed calls", async () => {
    const clock = new VirtualClock();
    const { flow } = build(clock);
    const { meter, collect } = newSdk();
    const stop = observeMetrics(flow, meter);
    flow.setProducer(range(3000));
    await runVirtual(flow, clock);
    const got = await collect();
    const parse = flow.stats().stages[0]!;
    expect(parse.timedItems).toBeGreaterThan(SAMPLES_PER_COLLECTION);
    const processing = histogramOf(got, "flowrhythm.stage.processing.duration", "parse");
    expect(processing.count).toBe(SAMPLES_PER_COLLECTION);
    expect(processing.buckets.counts[DEFAULT_BUCKETS.indexOf(0.005)]).toBe(SAMPLES_PER_COLLECTION);
    expect(processing.sum).toBeCloseTo(SAMPLES_PER_COLLECTION * 0.005, 9);
    stop();
  });

  it("reads live gauges from one snapshot per collection, and nothing per item", async () => {
    const clock = new VirtualClock();
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const flow = new Flow({ name: FLOW_NAME, clock })
      .addTransformer(
        async (x: number) => {
          await gate;
          return x;
        },
        {
          name: "held",
          queueSize: 8,
          scalingStrategy: new UtilizationScaling({ minWorkers: 3, maxWorkers: 3 }),
        },
      )
      .setConsumer(() => {}, { name: "store" });
    const scales: ScaleEvent[] = [];
    flow.on("scale", (e) => scales.push(e));
    const { meter, collect } = newSdk();
    const stop = observeMetrics(flow, meter);
    for (const event of ["drop", "skip", "expand", "retry", "itemError"] as const)
      expect(flow.listenerCount(event), event).toBe(0);
    const stats = vi.spyOn(flow, "stats");
    const input = flow.push();
    for (let i = 0; i < 6; i++) input.trySend(i);
    await clock.advance(50);
    stats.mockClear();
    const got = await collect();
    expect(stats).toHaveBeenCalledTimes(1);
    const seen = stats.mock.results[0]!.value as FlowStats;
    const held = seen.stages.find((s) => s.stageName === "held") as StageStats;
    expect(held.busyWorkers).toBe(3);
    expect(held.queueLength).toBe(3);
    expectMatches(got, seen, scales);
    expect(
      sumOf(got.get("flowrhythm.stage.workers"), {
        ...stageAttrs("held"),
        "flowrhythm.worker.state": "busy",
      }),
    ).toBe(3);
    expect(sumOf(got.get("flowrhythm.flow.active_items"), flowAttrs)).toBe(6);
    open();
    input.complete();
    await clock.runUntil(() => flow.stats().state === "drained");
    stats.mockRestore();
    stop();
  });

  it("exports no stage series before the flow starts, and keeps counters monotonic across runs", async () => {
    const clock = new VirtualClock();
    const { flow, scales } = build(clock);
    const { meter, collect } = newSdk();
    const stop = observeMetrics(flow, meter);
    const before = await collect();
    expect(sumOf(before.get("flowrhythm.flow.arrivals"), flowAttrs)).toBe(0);
    for (const [name, m] of before)
      if (byName.get(name)!.scope === "stage") expect(points(m), name).toEqual([]);

    flow.setProducer(range(100));
    await runVirtual(flow, clock);
    const first = flow.stats();
    flow.setProducer(range(60));
    await runVirtual(flow, clock);
    const second = flow.stats();
    const got = await collect();
    // A counter is the sum of both runs' counts; a gauge is the last run's.
    const summed: FlowStats = {
      ...second,
      itemsIn: first.itemsIn + second.itemsIn,
      consumed: first.consumed + second.consumed,
      failed: first.failed + second.failed,
      dropped: first.dropped + second.dropped,
      skipped: first.skipped + second.skipped,
      expanded: first.expanded + second.expanded,
      children: first.children + second.children,
      listenerErrors: first.listenerErrors + second.listenerErrors,
      stages: second.stages.map((st, i) => {
        const a = first.stages[i]!;
        return {
          ...st,
          received: a.received + st.received,
          processed: a.processed + st.processed,
          errors: a.errors + st.errors,
          dropped: a.dropped + st.dropped,
          skipped: a.skipped + st.skipped,
          expanded: a.expanded + st.expanded,
          retries: a.retries + st.retries,
          overloads: a.overloads + st.overloads,
        };
      }),
    };
    expect(summed.itemsIn).toBe(160);
    expectMatches(got, summed, scales);
    const parse = histogramOf(got, "flowrhythm.stage.processing.duration", "parse");
    expect(parse.count).toBe(first.stages[0]!.timedItems + second.stages[0]!.timedItems);
    stop();
  });

  it("counts a run that ended before observation began", async () => {
    const clock = new VirtualClock();
    const { flow } = build(clock);
    flow.setProducer(range(40));
    await runVirtual(flow, clock);
    const { meter, collect } = newSdk();
    const stop = observeMetrics(flow, meter);
    const got = await collect();
    expect(sumOf(got.get("flowrhythm.flow.arrivals"), flowAttrs)).toBe(40);
    expect(sumOf(got.get("flowrhythm.stage.arrivals"), stageAttrs("parse"))).toBe(40);
    stop();
  });

  it("stops observing once unregistered", async () => {
    const clock = new VirtualClock();
    const { flow } = build(clock);
    const { meter, collect } = newSdk();
    const listeners = (["scale", "drained", "stopped"] as const).map((e) => flow.listenerCount(e));
    const stop = observeMetrics(flow, meter);
    flow.setProducer(range(20));
    await runVirtual(flow, clock);
    stop();
    stop();
    const stats = vi.spyOn(flow, "stats");
    const got = await collect();
    expect(stats).not.toHaveBeenCalled();
    for (const def of METRICS)
      if (def.kind !== "histogram") expect(got.get(def.name)?.dataPoints ?? [], def.name).toEqual([]);
    expect((["scale", "drained", "stopped"] as const).map((e) => flow.listenerCount(e))).toEqual(listeners);
  });

  it("refuses what is not a Flow or not a Meter, naming the argument", () => {
    const { meter } = newSdk();
    const clock = new VirtualClock();
    const { flow } = build(clock);
    const bad = (f: () => unknown, option: string) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(FlowConfigError);
        expect((e as FlowConfigError).option).toBe(option);
        expect((e as Error).message).toMatch(new RegExp(`observeMetrics: ${option} = .*expected`));
        return;
      }
      throw new Error("did not throw");
    };
    bad(() => observeMetrics({} as never, meter), "flow");
    bad(() => observeMetrics(flow, {} as never), "meter");
    bad(() => observeMetrics(flow, null as never), "meter");
  });
});
