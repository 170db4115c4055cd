/**
 * Question: how fast does a 3-stage pipeline of trivial async transformers move items, against
 * a bare `await` loop and the tools a user would pick instead?
 *
 * Every contender runs the same three functions (a → b → c, where c is the sink) over the same
 * N items, with 1 and 4 workers (concurrency) per stage. Run: `npm run bench:throughput`.
 */
import { writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { Effect, Stream } from "effect";
import fastq from "fastq";
import { bench } from "mitata";
import PQueue from "p-queue";
import { from, lastValueFrom, mergeMap } from "rxjs";
import { AdaptiveScaling, FixedScaling, Flow, type ScalingStrategy } from "../src/index.js";
import { environment } from "./env.js";
import { runIsolated } from "./isolated.js";

const N = 10_000;
const LIMIT = 1024; // the bound every bounded contender gets, like our default queue size
const items = Array.from({ length: N }, (_, i) => i);
let sink = 0;
const a = async (x: number) => x + 1;
const b = async (x: number) => x * 2;
const c = async (x: number) => {
  sink += x - 1;
};

async function bareLoop(): Promise<void> {
  for (let i = 0; i < N; i++) await c(await b(await a(i)));
}

async function pipeline(scalingStrategy: () => ScalingStrategy): Promise<void> {
  await new Flow()
    .setProducer(items)
    .addTransformer(a, { scalingStrategy: scalingStrategy() })
    .addTransformer(b, { scalingStrategy: scalingStrategy() })
    .setConsumer(c, { scalingStrategy: scalingStrategy() })
    .run();
}

const flowrhythm = (workers: number) => pipeline(() => new FixedScaling({ workers }));

// The same pipeline with AdaptiveScaling pinned to the same count: what its evaluations cost per
// item (it runs on every 16th item event and on the tick; the count cannot move).
async function flowrhythmAdaptive(workers: number): Promise<void> {
  const strategy = () => ({
    scalingStrategy: new AdaptiveScaling({
      minWorkers: workers,
      maxWorkers: workers,
      initialWorkers: workers,
    }),
  });
  await new Flow()
    .setProducer(items)
    .addTransformer(a, strategy())
    .addTransformer(b, strategy())
    .setConsumer(c, strategy())
    .run();
}

async function pQueue(workers: number): Promise<void> {
  const q1 = new PQueue({ concurrency: workers });
  const q2 = new PQueue({ concurrency: workers });
  const q3 = new PQueue({ concurrency: workers });
  for (const x of items) {
    await q1.onSizeLessThan(LIMIT);
    void q1.add(async () => {
      const r1 = await a(x);
      await q2.onSizeLessThan(LIMIT);
      void q2.add(async () => {
        const r2 = await b(r1);
        await q3.onSizeLessThan(LIMIT);
        void q3.add(() => c(r2));
      });
    });
  }
  await q1.onIdle();
  await q2.onIdle();
  await q3.onIdle();
}

async function fastQueue(workers: number): Promise<void> {
  const q3 = fastq.promise(c, workers);
  const q2 = fastq.promise(async (x: number) => void q3.push(await b(x)), workers);
  const q1 = fastq.promise(async (x: number) => void q2.push(await a(x)), workers);
  for (const x of items) {
    if (q1.length() >= LIMIT) await new Promise<void>((resolve) => (q1.empty = resolve));
    void q1.push(x);
  }
  await q1.drained();
  await q2.drained();
  await q3.drained();
}

async function nodeStreams(workers: number): Promise<void> {
  await Readable.from(items)
    .map(a, { concurrency: workers })
    .map(b, { concurrency: workers })
    .map(c, { concurrency: workers })
    .forEach(() => {});
}

async function rxjs(workers: number): Promise<void> {
  await lastValueFrom(from(items).pipe(mergeMap(a, workers), mergeMap(b, workers), mergeMap(c, workers)), {
    defaultValue: undefined,
  });
}

async function effect(workers: number): Promise<void> {
  await Effect.runPromise(
    Stream.fromIterable(items).pipe(
      Stream.mapEffect((x) => Effect.promise(() => a(x)), { concurrency: workers }),
      Stream.mapEffect((x) => Effect.promise(() => b(x)), { concurrency: workers }),
      Stream.mapEffect((x) => Effect.promise(() => c(x)), { concurrency: workers }),
      Stream.runDrain,
    ),
  );
}

const allContenders: Record<string, (workers: number) => Promise<void>> = {
  flowrhythm,
  "flowrhythm adaptive": flowrhythmAdaptive,
  "p-queue": pQueue,
  fastq: fastQueue,
  "node streams": nodeStreams,
  rxjs,
  effect,
};
// `ONLY=flowrhythm,rxjs` runs a subset (the table then compares only those).
const only = process.env.ONLY?.split(",");
const contenders = Object.fromEntries(
  Object.entries(allContenders).filter(([name]) => !only || only.includes(name)),
);

const nsPerItem = await runIsolated({
  script: import.meta.url,
  items: N,
  contenders: ["bare await loop", ...Object.keys(contenders)],
  async define(name) {
    if (name === "bare await loop") return void bench(name, bareLoop);
    const expected = items.reduce((s, x) => s + (x + 1) * 2 - 1, 0);
    const fn = allContenders[name]!;
    for (const w of [1, 4]) {
      sink = 0;
      await fn(w);
      if (sink !== expected) throw new Error(`${name}(${w}) summed ${sink}, expected ${expected}`);
    }
    for (const workers of [1, 4]) bench(`${name} ×${workers}`, () => fn(workers));
  },
});
if (nsPerItem) {
  console.log(environment());
  console.log(`${N} items per iteration through 3 stages; each contender in a fresh process\n`);
  report(nsPerItem);
}

function report(nsPerItem: Map<string, number>): void {
  const bare = nsPerItem.get("bare await loop")!;
  const rows: string[] = [
    "| workers/stage | contender | ns/item | items/s | vs bare loop | flowrhythm speed-up |",
    "|---|---|---:|---:|---:|---:|",
    `| – | bare await loop | ${bare.toFixed(0)} | ${Math.round(1e9 / bare).toLocaleString("en")} | 1.00 | |`,
  ];
  const summary: Record<string, unknown> = {
    environment: environment(),
    items: N,
    bareNsPerItem: bare,
    byWorkers: {},
  };
  const names = Object.keys(contenders);
  for (const workers of [1, 4]) {
    const ours = nsPerItem.get(`flowrhythm ×${workers}`)!;
    const peers = names.filter((n) => !n.startsWith("flowrhythm"));
    const bestPeer = Math.min(...peers.map((n) => nsPerItem.get(`${n} ×${workers}`)!));
    for (const name of names) {
      const ns = nsPerItem.get(`${name} ×${workers}`)!;
      const speedup =
        name === "flowrhythm adaptive"
          ? `${(ns / ours).toFixed(2)}× flowrhythm's time`
          : name !== "flowrhythm"
            ? `${(ns / ours).toFixed(2)}×`
            : peers.length > 0
              ? `${(bestPeer / ours).toFixed(2)}× best peer`
              : "";
      rows.push(
        `| ${workers} | ${name} | ${ns.toFixed(0)} | ${Math.round(1e9 / ns).toLocaleString("en")} | ${(bare / ns).toFixed(2)} | ${speedup} |`,
      );
    }
    (summary.byWorkers as Record<string, unknown>)[workers] = {
      nsPerItem: Object.fromEntries(names.map((n) => [n, nsPerItem.get(`${n} ×${workers}`)])),
      flowrhythmVsBestPeer: bestPeer / ours,
      flowrhythmVsBareLoop: bare / ours,
    };
  }
  console.log(`\n${rows.join("\n")}`);
  if (!only)
    writeFileSync(
      new URL("./results/throughput.json", import.meta.url),
      `${JSON.stringify(summary, null, 2)}\n`,
    );
}
