import {
  type Attributes,
  type BatchObservableCallback,
  type Histogram,
  type Meter,
  type Observable,
  ValueType,
} from "@opentelemetry/api";
import { FlowConfigError } from "../errors.js";
import type { Flow } from "../flow/flow.js";
import { checkFlow } from "./check-flow.js";
import { tapTimings } from "../flow/observe.js";
import { isCallable } from "../internal/callable.js";
import { describeValue } from "../internal/describe.js";
import { FlowReader } from "./flow-reader.js";
import { SampleReservoir } from "./sample-reservoir.js";
import { DEFAULT_BUCKETS, FLOW_ATTRIBUTE, METRICS, type MetricDef, STAGE_ATTRIBUTE } from "./metric-set.js";

/**
 * The most timing samples recorded per stage and kind per collection. `Histogram.record` costs
 * about 2 µs (the SDK hashes the attributes each call), so recording every timed call would cost
 * more per item than the flow itself; a uniform sample of this many per export interval keeps
 * the histograms' shape at a bounded cost (at a 60 s interval, 7,680 samples an hour per stage).
 */
export const SAMPLES_PER_COLLECTION = 128;

const METER_METHODS = [
  "createHistogram",
  "createObservableCounter",
  "createObservableUpDownCounter",
  "createObservableGauge",
  "addBatchObservableCallback",
  "removeBatchObservableCallback",
] as const;

function checkArguments(flow: unknown, meter: unknown): asserts meter is Meter {
  checkFlow("observeMetrics", flow);
  const missing =
    typeof meter === "object" && meter !== null
      ? METER_METHODS.filter((m) => !isCallable((meter as Record<string, unknown>)[m]))
      : METER_METHODS;
  if (missing.length > 0)
    throw new FlowConfigError(
      `observeMetrics: meter = ${describeValue(meter)}: expected an OpenTelemetry Meter (metrics.getMeter("…") or meterProvider.getMeter("…")); missing ${missing.join(", ")}`,
      { option: "meter" },
    );
}

function create(meter: Meter, def: MetricDef): Observable | Histogram {
  const options = {
    description: def.description,
    unit: def.unit,
    valueType: def.unit === "s" ? ValueType.DOUBLE : ValueType.INT,
  };
  switch (def.kind) {
    case "counter":
      return meter.createObservableCounter(def.name, options);
    case "updown":
      return meter.createObservableUpDownCounter(def.name, options);
    case "gauge":
      return meter.createObservableGauge(def.name, options);
    case "histogram":
      return meter.createHistogram(def.name, {
        ...options,
        advice: { explicitBucketBoundaries: [...DEFAULT_BUCKETS] },
      });
  }
}

/**
 * Exports a flow's metrics through an OpenTelemetry `Meter`: workers by state, queue length and
 * capacity, items by outcome, retries, scale events by reason, processing-time and queue-wait
 * histograms, per stage, and the flow's totals (the table is in docs/observability.md). Every
 * series carries `flowrhythm.flow.name` (the flow's `name` option); stage series carry
 * `flowrhythm.stage.name`.
 *
 * Nothing is recorded per item. One batch callback reads `flow.stats()` once per collection
 * and observes every instrument from it. The histograms hold the timed calls (one in
 * `timingSampleEvery`), at most 128 per stage per collection, a
 * uniform sample of them beyond that: they give the distribution, not the number of calls (read
 * that from `flowrhythm.stage.items`). Counters count from this call on, across runs of the
 * flow; before the flow starts there are no stage series. Bucket bounds are only advice (half a
 * millisecond to five minutes): a View in the SDK overrides them.
 *
 * Only `@opentelemetry/api` is used: the SDK, its readers and exporters stay the application's.
 * Give each observed flow its own `name`: two flows with one name report the same series.
 *
 * @param flow - the flow to observe, running or not.
 * @param meter - where the instruments are created (`metrics.getMeter("my-app")`).
 * @returns A function that removes the callback and stops feeding the histograms (the SDK keeps
 * what they recorded); calling it again does nothing.
 * @throws FlowConfigError when `flow` is not a `Flow` or `meter` not a `Meter`.
 *
 * @example
 * ```ts
 * import { metrics } from "@opentelemetry/api";
 * import { observeMetrics } from "flowrhythm/opentelemetry";
 *
 * const flow = new Flow({ name: "ingest" }).addTransformer(parse).setConsumer(store);
 * const stop = observeMetrics(flow, metrics.getMeter("my-app"));
 * await flow.run(source);
 * stop();
 * ```
 */
export function observeMetrics(flow: Flow<any, any>, meter: Meter): () => void {
  checkArguments(flow, meter);
  const instruments = new Map<MetricDef, Observable | Histogram>();
  for (const def of METRICS) instruments.set(def, create(meter, def));
  const observables = [...instruments]
    .filter(([d]) => d.kind !== "histogram")
    .map(([, i]) => i as Observable);
  const reader = new FlowReader(flow);
  const flowName = reader.flowName;
  const flowAttrs: Attributes = { [FLOW_ATTRIBUTE.attribute]: flowName };

  // One attribute set per stage, shared by its samples: stage names are bounded by the flow's structure.
  const stageAttrs = new Map<string, Attributes>();
  const attributesOf = (stage: string): Attributes => {
    let attrs = stageAttrs.get(stage);
    if (!attrs) stageAttrs.set(stage, (attrs = { ...flowAttrs, [STAGE_ATTRIBUTE.attribute]: stage }));
    return attrs;
  };

  const histograms = {
    processing: instruments.get(
      METRICS.find((d) => d.scope === "stage" && d.timing === "processing")!,
    ) as Histogram,
    queueWait: instruments.get(
      METRICS.find((d) => d.scope === "stage" && d.timing === "queueWait")!,
    ) as Histogram,
  };
  // Each stage's samples since the last collection, by kind: bounded by the flow's stages.
  const reservoirs = new Map<string, { processing: SampleReservoir; queueWait: SampleReservoir }>();
  const untap = tapTimings(flow, (stage, kind, samplesMs, count) => {
    let r = reservoirs.get(stage);
    if (!r) {
      r = {
        processing: new SampleReservoir(SAMPLES_PER_COLLECTION),
        queueWait: new SampleReservoir(SAMPLES_PER_COLLECTION),
      };
      reservoirs.set(stage, r);
    }
    r[kind].add(samplesMs, count);
  });

  const callback: BatchObservableCallback = (result) => {
    // Reading the stats also hands over the samples timed since the last tick.
    reader.read((def, stage, value, n) => {
      const attrs = { ...(stage === null ? flowAttrs : attributesOf(stage)) };
      if (value !== null) attrs[def.split!.attribute] = value;
      result.observe(instruments.get(def) as Observable, n, attrs);
    });
    // Recorded during the collection, the samples are part of it: the SDK runs the callbacks
    // before it reads the synchronous instruments.
    for (const [stage, r] of reservoirs) {
      const attrs = attributesOf(stage);
      r.processing.drain((s) => histograms.processing.record(s, attrs));
      r.queueWait.drain((s) => histograms.queueWait.record(s, attrs));
    }
  };

  meter.addBatchObservableCallback(callback, observables);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    meter.removeBatchObservableCallback(callback, observables);
    untap();
    reader.close();
  };
}
