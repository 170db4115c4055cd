// The workload `bench/instructions/run.mjs` counts under callgrind: 3 stages × 4 workers over N
// items, twice, on a VirtualClock that is never advanced (no tick, no timer: only the items run).
// Plain JavaScript against dist/, so that nothing but node runs under valgrind.
// `lean` runs the hand-written pipeline of bench/lean-pipeline.mjs instead: the architecture's floor.
// `metrics`: FixedScaling with the flow's OpenTelemetry metrics on (the SDK's MeterProvider and an
// in-memory exporter) and EXPORTS exports (default 1) after each round: outside the items' path,
// where a real reader's timer runs them (an export awaited inside a stage would stall the
// pipeline and count the queues filling and draining, not the export). `EXPORTS=11` less
// `EXPORTS=1` is the cost of 20 exports. `traced`:
// FixedScaling with `traceItems` at a 1 % sample, through the SDK's tracer, a batch span processor
// and an exporter that drops the batches. `traced-als`: the same with the async-hooks context
// manager registered (as the Node SDK does, so that users' spans nest); `als`: FixedScaling with
// only that context manager, to tell its cost (every promise's, on Node 20) from the tracer's.
// `sdk`: FixedScaling with the metrics SDK and flowrhythm/opentelemetry imported and nothing
// attached: what loading them costs the items (a bigger heap for every GC to cross).
// `traced-api`: `traceItems` at 1 % with no SDK at all (the API's no-op tracer): flowrhythm's own
// share of the tracing cost, the SDK's spans left out.
import { AdaptiveScaling, FixedScaling, Flow, VirtualClock } from "../../dist/index.js";
import { leanPipeline } from "../lean-pipeline.mjs";

const [kind, n] = process.argv.slice(2);
const items = Array.from({ length: Number(n) }, (_, i) => i);
let sink = 0;
const a = async (x) => x + 1;
const b = async (x) => x * 2;
const c = async (x) => {
  sink += x;
};
const EXPORTS = Number(process.env.EXPORTS ?? 1);
const clock = new VirtualClock();
let exportEvery = null;
let finish = null;
const observe = await observer(kind);
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
  if (exportEvery !== null) for (let e = 0; e < EXPORTS; e++) await exportEvery();
}
await finish?.();
if (sink !== 2 * items.reduce((s, x) => s + (x + 1) * 2, 0)) throw new Error(`wrong sum ${sink}`);

/** What the observed kinds attach to each flow (null: nothing). */
async function observer(kind) {
  if (kind === "als" || kind === "traced-als") {
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
  if (kind === "sdk") {
    await import("@opentelemetry/sdk-metrics");
    await import("../../dist/opentelemetry.js");
    return null;
  }
  if (kind === "traced-api") {
    const { traceItems } = await import("../../dist/opentelemetry.js");
    return (flow) => traceItems(flow, { sampleRate: 0.01 });
  }
  if (kind === "traced" || kind === "traced-als") {
    const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
    const { traceItems } = await import("../../dist/opentelemetry.js");
    const drop = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] });
    finish = () => tracerProvider.shutdown();
    return (flow) => traceItems(flow, { tracerProvider, sampleRate: 0.01 });
  }
  return null;
}
