// The workload `bench/instructions/run.mjs` counts under callgrind: 3 stages × 4 workers over N
// items, ROUNDS times (default 2) on one flow, on a VirtualClock that is never advanced (no tick, no
// timer: only the items run). WARM items first (default 0), through the same flow with the same
// things attached: STEADY counts start after them, with the kind's own code already compiled (at
// a 1 % sample, a tracer's code is called a hundredth as often as the flow's, and compiles late).
// Plain JavaScript against dist/, so that nothing but node runs under valgrind.
// `lean` runs the hand-written pipeline of bench/lean-pipeline.mjs instead: the architecture's floor.
// `metrics`: FixedScaling with the flow's OpenTelemetry metrics on (the SDK's MeterProvider and an
// in-memory exporter) and EXPORTS exports (default 1) after each round: outside the items' path,
// where a real reader's timer runs them (an export awaited inside a stage would stall the
// pipeline and count the queues filling and draining, not the export). ROUNDS=4 less ROUNDS=2,
// less the same for `fixed`, is the cost of two rounds' exports. `traced`: FixedScaling with
// `traceItems` at a 1 % sample, through the SDK's tracer, a batch span processor (its timer
// never fires here: a batch goes at 512 spans, by count, so the count repeats) and an exporter
// that drops the batches. `sdk-spans`: no tracer, but stage `a` makes, for the same 1 % of items,
// the four spans a traced item gets (the item's, and one per stage with three attributes): the
// SDK's own cost, the floor under `traced`. `traced-api`: `traceItems` at 1 % with no SDK (the
// API's no-op tracer); `traced-zero`: `traceItems` at 0 %: what an item left out pays.
// `traced-als`: `traced` with the async-hooks context manager registered (as the Node SDK does, so
// that users' spans nest); `als`: FixedScaling with only that context manager.
// `sdk`: FixedScaling with the metrics SDK and flowrhythm/opentelemetry imported and nothing
// attached: what loading them costs the items (a bigger heap for every GC to cross).
import { AdaptiveScaling, FixedScaling, Flow, VirtualClock } from "../../dist/index.js";
import { leanPipeline } from "../lean-pipeline.mjs";

const [kind, n] = process.argv.slice(2);
const items = Array.from({ length: Number(n) }, (_, i) => i);
let sink = 0;
let a = async (x) => x + 1;
const b = async (x) => x * 2;
const c = async (x) => {
  sink += x;
};
const EXPORTS = Number(process.env.EXPORTS ?? 1);
const clock = new VirtualClock();
let exportEvery = null;
let finish = null;
const observe = await observer(kind);
// One flow, observed once, run round after round (as an application runs its pipeline).
let flow = null;
const strategy = () =>
  kind === "adaptive"
    ? new AdaptiveScaling({ minWorkers: 4, maxWorkers: 4, initialWorkers: 4 })
    : new FixedScaling({ workers: 4 });
// The observed kinds are FixedScaling's flow with something attached.
const WARM = Number(process.env.WARM ?? 0);
if (WARM > 0)
  await runOnce(
    Array.from({ length: WARM }, (_, i) => i),
    true,
  );
sink = 0;
const ROUNDS = Number(process.env.ROUNDS ?? 2);
for (let round = 0; round < ROUNDS; round++) {
  if (kind === "lean") {
    await leanPipeline(items, [a, b, c], 4, 1024);
    continue;
  }
  await runOnce(items, false);
  if (exportEvery !== null) for (let e = 0; e < EXPORTS; e++) await exportEvery();
}
async function runOnce(items, warm) {
  if (kind === "lean") return leanPipeline(items, [a, b, c], 4, 1024);
  if (flow === null) {
    flow = new Flow({ clock })
      .addTransformer(a, { scalingStrategy: strategy() })
      .addTransformer(b, { scalingStrategy: strategy() })
      .setConsumer(c, { scalingStrategy: strategy() });
    observe?.(flow, warm);
  }
  await flow.run(items);
  if (warm && exportEvery !== null) await exportEvery();
}
await finish?.();
if (sink !== ROUNDS * items.reduce((s, x) => s + (x + 1) * 2, 0)) throw new Error(`wrong sum ${sink}`);

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
  if (kind === "sdk-spans") {
    const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
    const { ROOT_CONTEXT, trace } = await import("@opentelemetry/api");
    const drop = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
    const processor = new BatchSpanProcessor(drop, { scheduledDelayMillis: 2 ** 31 - 1 });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [processor] });
    finish = () => tracerProvider.shutdown();
    const tracer = tracerProvider.getTracer("flowrhythm");
    const threshold = Math.floor(0.01 * 2 ** 32);
    const attempt = (name, parent, id) =>
      tracer
        .startSpan(
          name,
          {
            attributes: { "flowrhythm.stage.name": name, "flowrhythm.item.id": id, "flowrhythm.attempt": 1 },
          },
          parent,
        )
        .end();
    // The four spans of a traced item, made in stage a for the items the tracer's hash would pick.
    a = async (x) => {
      if (Math.imul(x ^ 12345, 0x9e3779b1) >>> 0 < threshold) {
        const item = tracer.startSpan("flow item", {
          attributes: { "flowrhythm.flow.name": "flow", "flowrhythm.run.id": "r", "flowrhythm.item.id": x },
        });
        const parent = trace.setSpan(ROOT_CONTEXT, item);
        attempt("flow a", parent, x);
        attempt("flow b", parent, x);
        attempt("flow c", parent, x);
        item.setAttribute("flowrhythm.item.outcome", "consumed");
        item.end();
      }
      return x + 1;
    };
    return null;
  }
  if (kind === "traced-zero") {
    const { traceItems } = await import("../../dist/opentelemetry.js");
    return (flow) => traceItems(flow, { sampleRate: 0 });
  }
  if (kind === "traced-api") {
    const { traceItems } = await import("../../dist/opentelemetry.js");
    return (flow) => traceItems(flow, { sampleRate: 0.01 });
  }
  if (kind === "traced" || kind === "traced-als") {
    const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
    const { traceItems } = await import("../../dist/opentelemetry.js");
    const drop = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
    const processor = new BatchSpanProcessor(drop, { scheduledDelayMillis: 2 ** 31 - 1 });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [processor] });
    finish = () => tracerProvider.shutdown();
    return (flow) => traceItems(flow, { tracerProvider, sampleRate: 0.01 });
  }
  return null;
}
