/**
 * Question: does memory stay bounded by the queue sizes when a fast producer feeds a slow stage?
 *
 * One million items from a synchronous producer go through a stage that yields to the event
 * loop on every item (the slow stage) and a consumer. Peak RSS is sampled every 20 ms and
 * reported as growth over the RSS of an empty flow run just before. For contrast, the same job
 * through RxJS `mergeMap` (which buffers without bound). Run: `npm run bench:memory`.
 * Bar: flowrhythm grows less than 32 MiB.
 */
import { writeFileSync } from "node:fs";
import { from, lastValueFrom, mergeMap } from "rxjs";
import { FixedScaling, Flow } from "../src/index.js";
import { environment } from "./env.js";

const N = 1_000_000;
const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;
const slow = (x: number) => new Promise<number>((resolve) => setImmediate(resolve, x));
let sink = 0; // summed so the work cannot be optimized away; printed below

function* source(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

async function flowrhythm(n: number): Promise<void> {
  await new Flow()
    .setProducer(() => source(n))
    .addTransformer(slow, { name: "slow", scalingStrategy: new FixedScaling({ workers: 4 }) })
    .setConsumer((x) => {
      sink += x;
    })
    .run();
}

async function rxjs(n: number): Promise<void> {
  await lastValueFrom(
    from(source(n)).pipe(
      mergeMap(slow, 4),
      mergeMap(async (x) => {
        sink += x;
      }),
    ),
    { defaultValue: undefined },
  );
}

async function peakGrowth(
  job: (n: number) => Promise<void>,
): Promise<{ baselineMiB: number; peakGrowthMiB: number; seconds: number }> {
  await job(1000); // warm up: code compiled, an empty-ish flow's own allocations made
  gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  await job(N);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { baselineMiB: baseline / MiB, peakGrowthMiB: (peak - baseline) / MiB, seconds };
}

const which = process.argv[2] ?? "flowrhythm";
const job = which === "rxjs" ? rxjs : flowrhythm;
if (!gc) console.warn("run with --expose-gc for a stable baseline (npm run bench:memory does)");
const r = await peakGrowth(job);
const line = `${which}: ${N.toLocaleString("en")} items in ${r.seconds.toFixed(1)} s, peak RSS growth ${r.peakGrowthMiB.toFixed(1)} MiB over a ${r.baselineMiB.toFixed(0)} MiB baseline`;
console.log(environment());
console.log(line, `(checksum ${sink})`);
if (which === "flowrhythm") {
  writeFileSync(
    new URL("./results/memory.json", import.meta.url),
    `${JSON.stringify({ environment: environment(), items: N, ...r }, null, 2)}\n`,
  );
  if (r.peakGrowthMiB >= 32) process.exitCode = 1;
}
