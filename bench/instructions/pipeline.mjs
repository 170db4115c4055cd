// The workload `bench/instructions/run.mjs` counts under callgrind: 3 stages × 4 workers over N
// items, twice, on a VirtualClock that is never advanced (no tick, no timer: only the items run).
// Plain JavaScript against dist/, so that nothing but node runs under valgrind.
// `lean` runs the hand-written pipeline of bench/lean-pipeline.mjs instead: the architecture's floor.
// `metrics`: FixedScaling with the flow's OpenTelemetry metrics on (the SDK's MeterProvider, an
// in-memory exporter, an export every EXPORT_EVERY items: at 100,000 items/s a real export
// interval of 15–60 s is one in millions; run.mjs also prints the cost of one export). `traced`: FixedScaling with `traceItems` at a 1 % sample, through the SDK's
// tracer, a batch span processor and an exporter that drops the batches, with the async-hooks
// context manager registered (as the Node SDK does). `als`: FixedScaling with only that context
// manager registered, to tell its cost from the tracer's.
import { AdaptiveScaling, FixedScaling, Flow, VirtualClock } from "../../dist/index.js";
import { leanPipeline } from "../lean-pipeline.mjs";

const [kind, n] = process.argv.slice(2);
const items = Array.from({ length: Number(n) }, (_, i) => i);
let sink = 0;
const a = async (x) => x + 1;
const b = async (x) => x * 2;
let seen = 0;
const plainC = async (x) => {
  sink += x;
};
// The metrics kind's consumer also exports every EXPORT_EVERY items (the other kinds keep theirs plain).
const EXPORT_EVERY = 10_000;
const exportingC = async (x) => {
  sink += x;
  if (++seen % EXPORT_EVERY === 0) await exportEvery();
};
const clock = new VirtualClock();
let exportEvery = null;
let finish = null;
const observe = await observer(kind);
const c = exportEvery === null ? plainC : exportingC;
const strategy = () =>
  kind === "adaptive"
    ? new AdaptiveScaling({ minWorkers: 4, maxWorkers: 4, initialWorkers: 4 })
    : new FixedScaling({ workers: 4 });
// The observed kinds are FixedScaling's flow with something attached.
for (let round = 0; round < 2; round++) {
  if (kind === "lean") {
    await leanPipeline(items, [a, b, c], 4, 1024);
    continue;
  }
  const flow = new Flow({ clock });
  observe?.(flow);
  await flow
    .setProducer(items)
    .addTransformer(a, { scalingStrategy: strategy() })
    .addTransformer(b, { scalingStrategy: strategy() })
    .setConsumer(c, { scalingStrategy: strategy() })
    .run();
}
await finish?.();
if (sink !== 2 * items.reduce((s, x) => s + (x + 1) * 2, 0)) throw new Error(`wrong sum ${sink}`);

/** What the observed kinds attach to each flow (null: nothing). */
async function observer(kind) {
  if (kind === "als" || kind === "traced") {
    const { context } = await import("@opentelemetry/api");
    const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  if (kind === "metrics") {
    const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } =
      await import("@opentelemetry/sdk-metrics");
    const { observeMetrics } = await import("../../dist/opentelemetry.js");
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 2 ** 31 - 1 });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter("bench");
    finish = () => provider.shutdown();
    exportEvery = async () => {
      await reader.forceFlush();
      exporter.reset();
    };
    return (flow) => observeMetrics(flow, meter);
  }
  if (kind === "traced") {
    const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
    const { traceItems } = await import("../../dist/opentelemetry.js");
    const drop = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] });
    finish = () => tracerProvider.shutdown();
    return (flow) => traceItems(flow, { tracerProvider, sampleRate: 0.01 });
  }
  return null;
}
