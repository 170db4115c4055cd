import { execFileSync } from "node:child_process";
import { cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs npm quietly in `cwd`, the dependencies from npm's cache where it has them. */
export function npm(args: string[], cwd: string): string {
  return execFileSync("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
}

/** A tiny flow in each module system, and one on virtual time: both must print [2,4,6] and see the other entries. */
export const CONSUMERS = {
  "consumer.cjs": `
const { Flow, flow, FixedScaling, FlowConfigError, threaded } = require("flowrhythm");
const { simulate } = require("flowrhythm/simulate");
const { runVirtual, VirtualClock } = require("flowrhythm/testing");
const out = [];
const virtual = [];
const inThreads = [];
const clock = new VirtualClock();
const timed = new Flow({ clock })
  .setProducer([1, 2, 3])
  .addTransformer((x) => new Promise((r) => clock.setTimeout(() => r(x * 2), 1000)))
  .setConsumer((x) => { virtual.push(x); });
flow((x) => x * 2)
  .setConsumer((x) => { out.push(x); })
  .run([1, 2, 3])
  .then(() => runVirtual(timed, clock))
  .then(() => new Flow().addTransformer(threaded(require("node:path").join(__dirname, "double.worker.mjs"))).setConsumer((x) => { inThreads.push(x); }).run([1, 2, 3]))
  .then(() => {
    let refused = false;
    try { new FixedScaling({ workers: 0 }); } catch (e) { refused = e instanceof FlowConfigError; }
    console.log(JSON.stringify({ out, simulate: typeof simulate, refused, virtual, inThreads: inThreads.sort() }));
  });
`,
  "consumer.mjs": `
import { Flow, flow, FixedScaling, FlowConfigError, threaded } from "flowrhythm";
import { simulate } from "flowrhythm/simulate";
import { runVirtual, VirtualClock } from "flowrhythm/testing";
const out = [];
await flow((x) => x * 2).setConsumer((x) => { out.push(x); }).run([1, 2, 3]);
const virtual = [];
const clock = new VirtualClock();
await runVirtual(
  new Flow({ clock })
    .setProducer([1, 2, 3])
    .addTransformer((x) => new Promise((r) => clock.setTimeout(() => r(x * 2), 1000)))
    .setConsumer((x) => { virtual.push(x); }),
  clock,
);
let refused = false;
try { new FixedScaling({ workers: 0 }); } catch (e) { refused = e instanceof FlowConfigError; }
const inThreads = [];
await new Flow()
  .addTransformer(threaded(new URL("./double.worker.mjs", import.meta.url)))
  .setConsumer((x) => { inThreads.push(x); })
  .run([1, 2, 3]);
console.log(JSON.stringify({ out, simulate: typeof simulate, refused, virtual, inThreads: inThreads.sort() }));
`,
};

/** The worker module the consumers' threaded stage loads (its threads import flowrhythm's build). */
const WORKER = `import { threadId } from "node:worker_threads";
export default (x) => (threadId > 0 ? x * 2 : -1);
`;

/** Runs the consumers in `app` (where flowrhythm is installed) and returns what each printed. */
/**
 * The observability entries as a user reaches them, with the optional peers installed: OpenTelemetry
 * metrics and traces through the SDK, and Prometheus text through prom-client.
 */
export const OBSERVING = `
import { Flow } from "flowrhythm";
import { observeMetrics, traceItems } from "flowrhythm/opentelemetry";
import { registerFlowMetrics } from "flowrhythm/prometheus";
import { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { Registry } from "prom-client";
const flow = new Flow({ name: "pkg" }).addTransformer((x) => x * 2, { name: "double" }).setConsumer(() => {}, { name: "sink" });
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60000 });
const meters = new MeterProvider({ readers: [reader] });
observeMetrics(flow, meters.getMeter("pkg"));
const spans = new InMemorySpanExporter();
traceItems(flow, { tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }), sampleRate: 1 });
const registry = new Registry();
registerFlowMetrics(flow, { registry });
await flow.run([1, 2, 3]);
await reader.forceFlush();
const names = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));
const text = await registry.metrics();
await meters.shutdown();
console.log(JSON.stringify({
  otel: names.includes("flowrhythm.stage.items"),
  spans: spans.getFinishedSpans().filter((s) => s.name === "pkg item").length,
  prometheus: /flowrhythm_stage_items_total{[^}]*stage="double"[^}]*} 3/.test(text),
}));
`;

/** flowrhythm/redis as a user reaches it: one stage's queue in Redis, the feeder serving it. */
export const REMOTE = `
import { Flow } from "flowrhythm";
import { distribute } from "flowrhythm/redis";
const out = [];
const flow = new Flow({ name: "pkg" }).addTransformer((x) => x * 2, { name: "double" }).addTransformer((x) => x + 1, { name: "inc" }).setConsumer((x) => { out.push(x); }, { name: "sink" });
const d = distribute(flow, { connection: { host: "127.0.0.1", port: 6379 }, remote: ["inc"], prefix: process.env.PREFIX });
await d.run([1, 2, 3]);
const s = d.stats();
await d.close();
console.log(JSON.stringify({ itemsIn: s.itemsIn, consumed: s.consumed, out: out.sort((a, b) => a - b) }));
`;

export function runConsumers(app: string): Record<string, unknown> {
  const printed: Record<string, unknown> = {};
  writeFileSync(join(app, "double.worker.mjs"), WORKER);
  for (const [file, text] of Object.entries(CONSUMERS)) {
    writeFileSync(join(app, file), text);
    const out = execFileSync(process.execPath, [file], {
      cwd: app,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    printed[file] = JSON.parse(out.trim().split("\n").pop()!);
  }
  return printed;
}

/**
 * A copy of the working tree (tracked files and new ones git does not ignore) committed to a
 * fresh repository in `dir`: what a push would publish, without touching this one.
 */
export function snapshotRepo(dir: string): void {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f && existsSync(join(root, f)));
  for (const f of files) cpSync(join(root, f), join(dir, f));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args], {
      cwd: dir,
      stdio: "ignore",
    });
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", "snapshot");
}
