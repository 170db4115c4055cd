/**
 * Question: how fast does a 3-stage pipeline of trivial async transformers move items, against
 * a bare `await` loop and the tools a user would pick instead?
 *
 * Every contender runs the same three functions (a → b → c, where c is the sink) over the same
 * N items, with 1 and 4 workers (concurrency) per stage, and so does a hand-written lean pipeline
 * (the architecture's floor, not a peer). Run: `npm run bench:throughput` (about 4 minutes):
 * ROUNDS rounds, every case in its own process once per round, in a rotated order; each ratio is
 * taken within a round and reported as the median and range over the rounds.
 */
import { writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { Effect, Stream } from "effect";
import fastq from "fastq";
import PQueue from "p-queue";
import { from, lastValueFrom, mergeMap } from "rxjs";
import { AdaptiveScaling, FixedScaling, Flow, type ScalingStrategy } from "../src/index.js";
import { environment } from "./env.js";
import { runRounds } from "./isolated.js";
import { leanPipeline } from "./lean-pipeline.mjs";

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
  "lean pipeline": (workers) => leanPipeline(items, [a, b, c], workers, LIMIT),
  "p-queue": pQueue,
  fastq: fastQueue,
  "node streams": nodeStreams,
  rxjs,
  effect,
};
/** Not peers: flowrhythm itself, and the hand-written reference (see bench/lean-pipeline.mjs). */
const notPeers = new Set(["flowrhythm", "flowrhythm adaptive", "lean pipeline"]);
const BARE = "bare await loop";
const WORKERS = [1, 4] as const;
// `ONLY=flowrhythm,rxjs` runs a subset (the ratios then compare only those); `ROUNDS=9` runs more
// rounds; `BUDGET_MS=1000` times each case longer.
const only = process.env.ONLY?.split(",");
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const BUDGET_MS = Number(process.env.BUDGET_MS ?? 400);
const names = Object.keys(allContenders).filter((name) => !only || only.includes(name));
const cases = [BARE, ...WORKERS.flatMap((w) => names.map((name) => `${name} ×${w}`))];
const expected = items.reduce((s, x) => s + (x + 1) * 2 - 1, 0);

const rounds = await runRounds({
  script: import.meta.url,
  items: N,
  cases,
  rounds: ROUNDS,
  budgetMs: BUDGET_MS,
  define(name) {
    const check = () => {
      if (sink !== expected) throw new Error(`${name} summed ${sink}, expected ${expected}`);
    };
    if (name === BARE) return { run: bareLoop, check };
    const [, contender, workers] = /^(.*) ×(\d+)$/.exec(name)!;
    const fn = allContenders[contender!]!;
    const w = Number(workers);
    return {
      async run() {
        sink = 0;
        await fn(w);
      },
      check,
    };
  },
  progress: (r, name, ns) =>
    console.log(`round ${r + 1}/${ROUNDS}  ${name.padEnd(26)} ${ns.toFixed(0).padStart(7)} ns/item`),
});
if (rounds) report(rounds);

/** Median and range of a list of numbers. */
function spread(values: number[]): { median: number; min: number; max: number } {
  const v = [...values].sort((x, y) => x - y);
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]! };
}

function report(rounds: Map<string, number>[]): void {
  const fmt = (s: { median: number; min: number; max: number }, digits: number) =>
    `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  const peers = names.filter((n) => !notPeers.has(n));
  const rows: string[] = [
    "| workers/stage | contender | ns/item | × best peer | × bare loop |",
    "|---|---|---:|---:|---:|",
  ];
  const bareNs = spread(rounds.map((r) => r.get(BARE)!));
  rows.push(`| – | ${BARE} | ${fmt(bareNs, 0)} | | 1 |`);
  const summary: Record<string, unknown> = {
    environment: environment(),
    items: N,
    rounds: rounds.length,
    budgetMs: BUDGET_MS,
    bareNsPerItem: bareNs,
    byWorkers: {},
    raw: rounds.map((r) => Object.fromEntries(r)),
  };
  const bestPeers: string[] = [];
  for (const w of WORKERS) {
    // Within each round: the fastest peer's time, and the bare loop's.
    const best = rounds.map((r) => Math.min(...peers.map((p) => r.get(`${p} ×${w}`)!)));
    for (const r of rounds) {
      const fastest = peers.reduce(
        (x, y) => (r.get(`${y} ×${w}`)! < r.get(`${x} ×${w}`)! ? y : x),
        peers[0]!,
      );
      if (fastest) bestPeers.push(`×${w}: ${fastest}`);
    }
    const byName: Record<string, unknown> = {};
    for (const name of names) {
      const ns = rounds.map((r) => r.get(`${name} ×${w}`)!);
      const vsPeer = peers.length > 0 ? spread(ns.map((x, i) => best[i]! / x)) : null;
      const vsBare = spread(ns.map((x, i) => rounds[i]!.get(BARE)! / x));
      rows.push(
        `| ${w} | ${name} | ${fmt(spread(ns), 0)} | ${vsPeer ? fmt(vsPeer, 2) : ""} | ${fmt(vsBare, 2)} |`,
      );
      byName[name] = { nsPerItem: spread(ns), vsBestPeer: vsPeer, vsBareLoop: vsBare };
    }
    (summary.byWorkers as Record<string, unknown>)[w] = byName;
  }
  const lines = [
    environment(),
    `${N} items per iteration through 3 stages; ${rounds.length} rounds, each case in a fresh process, ` +
      "in an order rotated each round; ratios taken within each round, then median (min–max) over the rounds",
    "",
    rows.join("\n"),
  ];
  if (peers.length > 0) {
    const counts = new Map<string, number>();
    for (const b of bestPeers) counts.set(b, (counts.get(b) ?? 0) + 1);
    lines.push("", `best peer per round: ${[...counts].map(([k, v]) => `${k} ${v}×`).join(", ")}`);
  }
  console.log(`\n${lines.join("\n")}`);
  if (!only) {
    writeFileSync(new URL("./results/throughput.md", import.meta.url), `${lines.join("\n")}\n`);
    writeFileSync(
      new URL("./results/throughput.json", import.meta.url),
      `${JSON.stringify(summary, null, 2)}\n`,
    );
  }
}
