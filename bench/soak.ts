/**
 * Question: does anything grow per item over a long run with faults and scaling?
 *
 * Ten million items (SOAK_ITEMS overrides) go through a 3-stage flow: a synchronous parse, an
 * async stage where 1 % of the items fail (half of those transiently: a retry with backoff
 * saves them, the rest go to an async error handler and an async dead-letter sink) and a consumer. Every stage is sized by a strategy that
 * makes a random scale change on every tick (seeded). Every second the heap is measured after a
 * forced GC. Bar: the heap after the first tenth of the run stays flat — the last reading is
 * within 4 MiB of the lowest — and every item is accounted for.
 * Run: `npm run soak` (about a minute). Not part of `npm test`.
 */
import { writeFileSync } from "node:fs";
import { Flow, type ScalingStrategy, type StageStats } from "../src/index.js";
import { environment } from "./env.js";

const N = Number(process.env.SOAK_ITEMS ?? 10_000_000);
const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc (npm run soak does)");

/** A seeded generator (mulberry32), so that two soaks make the same scale changes. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Jumps between 1 and 8 workers at random on every tick: scale churn, not a sensible policy. */
class RandomScaling implements ScalingStrategy {
  readonly minWorkers = 1;
  readonly maxWorkers = 8;
  changes = 0;
  constructor(private readonly next: () => number) {}
  initialWorkers(): number {
    return 2;
  }
  onEnqueue(): number {
    return 0;
  }
  onDequeue(): number {
    return 0;
  }
  onTick(s: StageStats): number {
    const target = 1 + Math.floor(this.next() * 8);
    if (target !== s.totalWorkers) this.changes++;
    return target - (s.totalWorkers - s.startingWorkers);
  }
}

const next = random(20261123);
const strategies: [RandomScaling, RandomScaling, RandomScaling] = [
  new RandomScaling(next),
  new RandomScaling(next),
  new RandomScaling(next),
];
let consumed = 0;
let deadLetters = 0;
let reported = 0;

function* source(): Generator<number> {
  for (let i = 0; i < N; i++) yield i;
}

// Both handlers are async: a worker waits for each call (bounded by handlerTimeoutMs), the path
// that once kept ~300 B per event.
const flow = new Flow<number>({
  tickMs: 20,
  errorHandler: async () => {
    await Promise.resolve();
    reported++;
  },
  deadLetter: async () => {
    await Promise.resolve();
    deadLetters++;
  },
})
  .setProducer(source)
  .addTransformer((x: number) => x * 2, { name: "parse", scalingStrategy: strategies[0] })
  .addTransformer(
    async (x: number, ctx) => {
      if (x % 200 === 0) throw new Error("permanent"); // 0.5 %
      if (x % 200 === 100 && ctx.attempt === 1) throw new Error("transient"); // 0.5 %, saved by the retry
      return x;
    },
    {
      name: "call",
      scalingStrategy: strategies[1],
      retry: {
        attempts: 2,
        backoff: { baseMs: 1, maxMs: 5 },
        retryOn: (e) => (e as Error).message === "transient",
      },
    },
  )
  .setConsumer(
    () => {
      consumed++;
    },
    { name: "store", scalingStrategy: strategies[2] },
  );

const readings: { seconds: number; items: number; heapMiB: number }[] = [];
const started = performance.now();
const measure = () => {
  gc();
  readings.push({
    seconds: Math.round((performance.now() - started) / 100) / 10,
    items: flow.stats().itemsIn,
    heapMiB: Math.round((process.memoryUsage().heapUsed / MiB) * 10) / 10,
  });
};
const timer = setInterval(measure, 1000);
await flow.run();
clearInterval(timer);
measure();

const s = flow.stats();
const settled = readings.filter((r) => r.items >= N / 10);
const lowest = Math.min(...settled.map((r) => r.heapMiB));
const last = readings[readings.length - 1]!;
const growth = Math.round((last.heapMiB - lowest) * 10) / 10;
const seconds = (performance.now() - started) / 1000;
const accounted =
  s.consumed + s.failed + s.dropped === s.itemsIn && s.itemsIn === N && consumed === s.consumed;
const result = {
  environment: environment(),
  items: N,
  seconds: Math.round(seconds * 10) / 10,
  itemsPerSecond: Math.round(N / seconds),
  consumed: s.consumed,
  failed: s.failed,
  dropped: s.dropped,
  deadLetters,
  retries: flow.stageStats("call")!.retries,
  scaleChanges: strategies.map((st) => st.changes),
  heapLowestMiB: lowest,
  heapLastMiB: last.heapMiB,
  heapGrowthMiB: growth,
  accounted,
  flat: growth <= 4,
  readings,
};
writeFileSync(new URL("./results/soak.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(environment());
console.log(
  `${N.toLocaleString("en")} items in ${result.seconds} s (${result.itemsPerSecond.toLocaleString("en")}/s): ` +
    `consumed ${s.consumed}, failed ${s.failed} (dead letters ${deadLetters}, handler ${reported}), dropped ${s.dropped}, ` +
    `retries ${result.retries}, scale changes ${result.scaleChanges.join("/")}`,
);
for (const r of readings)
  console.log(
    `  ${String(r.seconds).padStart(6)} s  ${String(r.items).padStart(9)} items  heap ${r.heapMiB} MiB`,
  );
console.log(
  `heap after GC: lowest ${lowest} MiB after the first tenth, last ${last.heapMiB} MiB (growth ${growth} MiB)`,
);
if (!accounted || !result.flat) {
  console.error(`FAIL: ${accounted ? "" : "items unaccounted; "}${result.flat ? "" : "heap grew"}`);
  process.exit(1);
}
console.log("ok: every item accounted for, heap flat");
