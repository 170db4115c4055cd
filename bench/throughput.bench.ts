/**
 * Question: how fast does a 3-stage pipeline of trivial async transformers move items, against
 * a bare `await` loop and the tools a user would pick instead?
 *
 * Every contender runs the same three functions (a → b → c, where c is the sink) over the same
 * N items, with 1 and 4 workers (concurrency) per stage, and so does a hand-written lean pipeline
 * (the architecture's floor, not a peer). Run: `npm run bench:throughput` (about 4 minutes):
 * ROUNDS rounds, every case in its own process once per round, in a rotated order; each ratio is
 * taken within a round and reported as the median and range over the rounds.
 *
 * Two more workloads measure the shapes that end or multiply items, against Node streams and RxJS
 * (the peers that have both): `skip`, one stage that drops every other item (flowrhythm `Skip`,
 * Node `Readable.filter`, RxJS `mergeMap` + `filter`) before a summing consumer, and `flatMap`,
 * one stage that expands each item into 4 (flowrhythm `flatMap`, Node `Readable.flatMap`, RxJS
 * `mergeMap` + `mergeAll`) before a summing consumer. Every per-item function is async, as above.
 * `WORKLOAD=skip,flatMap` runs only those (the 3-stage one is `map`); each workload's results go
 * to its own file in bench/results/ (throughput.md, throughput-skip.md, throughput-flatmap.md).
 */
import { writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { Effect, Stream } from "effect";
import fastq from "fastq";
import PQueue from "p-queue";
import { filter, from, lastValueFrom, mergeAll, mergeMap } from "rxjs";
import { AdaptiveScaling, FixedScaling, Flow, flatMap, type ScalingStrategy, Skip } from "../src/index.js";
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

// --- skip: one stage drops every other item, then a summing consumer -----------------------------

const sum = async (x: number) => {
  sink += x;
};
/** flowrhythm's skipping stage (RxJS runs the same function, then filters the marker out). */
const skipOdd = async (x: number) => (x % 2 ? Skip : x);
/** Node's `filter` takes a predicate instead. */
const keepEven = async (x: number) => x % 2 === 0;

async function bareSkip(): Promise<void> {
  for (let i = 0; i < N; i++) {
    const v = await skipOdd(i);
    if (v !== Skip) await sum(v);
  }
}

/** flowrhythm with `first` as its one transformer and the summing consumer, `workers` each. */
async function flowrhythmTwoStages(first: unknown, workers: number): Promise<void> {
  await new Flow<number>()
    .setProducer(items)
    .addTransformer(first as (x: number) => number, { scalingStrategy: new FixedScaling({ workers }) })
    .setConsumer(sum, { scalingStrategy: new FixedScaling({ workers }) })
    .run();
}

const flowrhythmSkip = (workers: number) => flowrhythmTwoStages(skipOdd, workers);

async function nodeStreamsSkip(workers: number): Promise<void> {
  await Readable.from(items)
    .filter(keepEven, { concurrency: workers })
    .forEach(sum, { concurrency: workers });
}

// RxJS's `filter` takes only a synchronous predicate: the async call runs in `mergeMap` with the
// concurrency, and a synchronous `filter` drops the marked items after it.
async function rxjsSkip(workers: number): Promise<void> {
  await lastValueFrom(
    from(items).pipe(
      mergeMap(skipOdd, workers),
      filter((x): x is number => x !== Skip),
      mergeMap(sum, workers),
    ),
    { defaultValue: undefined },
  );
}

// --- flatMap: one stage expands each item into FANOUT, then a summing consumer -------------------

const FANOUT = 4;
const children = async (x: number) => [FANOUT * x, FANOUT * x + 1, FANOUT * x + 2, FANOUT * x + 3];

async function bareFlatMap(): Promise<void> {
  for (let i = 0; i < N; i++) for (const k of await children(i)) await sum(k);
}

const flowrhythmFlatMap = (workers: number) => flowrhythmTwoStages(flatMap(children), workers);

async function nodeStreamsFlatMap(workers: number): Promise<void> {
  await Readable.from(items)
    .flatMap(children, { concurrency: workers })
    .forEach(sum, { concurrency: workers });
}

// `mergeMap` runs the async call with the concurrency and emits each item's array; `mergeAll`
// flattens the arrays (synchronous inner sources, so its unbounded concurrency never matters).
async function rxjsFlatMap(workers: number): Promise<void> {
  await lastValueFrom(from(items).pipe(mergeMap(children, workers), mergeAll(), mergeMap(sum, workers)), {
    defaultValue: undefined,
  });
}

// --- the workloads -------------------------------------------------------------------------------

interface Workload {
  /** What one iteration does, for the report. */
  readonly title: string;
  /** Results go to bench/results/<file>.md and .json. */
  readonly file: string;
  readonly bare: () => Promise<void>;
  readonly expected: number;
  readonly contenders: Record<string, (workers: number) => Promise<void>>;
  /** Not peers: flowrhythm itself, and the hand-written reference (see bench/lean-pipeline.mjs). */
  readonly notPeers: ReadonlySet<string>;
}

const workloads: Record<string, Workload> = {
  map: {
    title: `${N} items per iteration through 3 stages`,
    file: "throughput",
    bare: bareLoop,
    expected: items.reduce((s, x) => s + (x + 1) * 2 - 1, 0),
    contenders: {
      flowrhythm,
      "flowrhythm adaptive": flowrhythmAdaptive,
      "lean pipeline": (workers) => leanPipeline(items, [a, b, c], workers, LIMIT),
      "p-queue": pQueue,
      fastq: fastQueue,
      "node streams": nodeStreams,
      rxjs,
      effect,
    },
    notPeers: new Set(["flowrhythm", "flowrhythm adaptive", "lean pipeline"]),
  },
  skip: {
    title:
      `${N} items per iteration through an async stage that drops every other item (flowrhythm \`Skip\`, ` +
      "Node `Readable.filter`, RxJS `mergeMap` + `filter`) and a summing consumer, both at the same " +
      "workers/concurrency; ns/item and items/s count input items",
    file: "throughput-skip",
    bare: bareSkip,
    expected: items.reduce((s, x) => s + (x % 2 ? 0 : x), 0),
    contenders: { flowrhythm: flowrhythmSkip, "node streams": nodeStreamsSkip, rxjs: rxjsSkip },
    notPeers: new Set(["flowrhythm"]),
  },
  flatMap: {
    title:
      `${N} items per iteration through an async stage that expands each into ${FANOUT} (flowrhythm \`flatMap\`, ` +
      "Node `Readable.flatMap`, RxJS `mergeMap` + `mergeAll`) and a summing consumer of the " +
      `${N * FANOUT} children, both at the same workers/concurrency; ns/item and items/s count input items`,
    file: "throughput-flatmap",
    bare: bareFlatMap,
    expected: ((N * FANOUT - 1) * N * FANOUT) / 2,
    contenders: { flowrhythm: flowrhythmFlatMap, "node streams": nodeStreamsFlatMap, rxjs: rxjsFlatMap },
    notPeers: new Set(["flowrhythm"]),
  },
};

/** The 3-stage workload's cases keep their unprefixed names (`rxjs ×4`); the others are `skip: rxjs ×4`. */
const prefix = (workload: string) => (workload === "map" ? "" : `${workload}: `);
const BARE = "bare await loop";
const WORKERS = [1, 4] as const;
// `ONLY=flowrhythm,rxjs` runs a subset of contenders (the ratios then compare only those);
// `WORKLOAD=skip,flatMap` a subset of workloads; `ROUNDS=9` runs more rounds; `BUDGET_MS=1000`
// times each case longer.
const only = process.env.ONLY?.split(",");
const chosen = process.env.WORKLOAD?.split(",").map((w) => w.trim().toLowerCase());
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const BUDGET_MS = Number(process.env.BUDGET_MS ?? 400);
const selected = Object.keys(workloads).filter((w) => !chosen || chosen.includes(w.toLowerCase()));
if (selected.length === 0)
  throw new Error(`WORKLOAD=${process.env.WORKLOAD}: none of ${Object.keys(workloads)}`);
const namesOf = (w: string) =>
  Object.keys(workloads[w]!.contenders).filter((name) => !only || only.includes(name));
const cases = selected.flatMap((w) => [
  `${prefix(w)}${BARE}`,
  ...WORKERS.flatMap((k) => namesOf(w).map((name) => `${prefix(w)}${name} ×${k}`)),
]);

const rounds = await runRounds({
  script: import.meta.url,
  items: N,
  cases,
  rounds: ROUNDS,
  budgetMs: BUDGET_MS,
  define(name) {
    const [, w, rest] = /^(?:(\w+): )?(.*)$/.exec(name)!;
    const workload = workloads[w ?? "map"]!;
    const check = () => {
      if (sink !== workload.expected)
        throw new Error(`${name} summed ${sink}, expected ${workload.expected}`);
    };
    if (rest === BARE)
      return {
        async run() {
          sink = 0;
          await workload.bare();
        },
        check,
      };
    const [, contender, workers] = /^(.*) ×(\d+)$/.exec(rest!)!;
    const fn = workload.contenders[contender!]!;
    const k = Number(workers);
    return {
      async run() {
        sink = 0;
        await fn(k);
      },
      check,
    };
  },
  progress: (r, name, ns) =>
    console.log(`round ${r + 1}/${ROUNDS}  ${name.padEnd(30)} ${ns.toFixed(0).padStart(7)} ns/item`),
});
if (rounds) for (const w of selected) report(w, rounds);

/** Median and range of a list of numbers. */
function spread(values: number[]): { median: number; min: number; max: number } {
  const v = [...values].sort((x, y) => x - y);
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]! };
}

function report(workload: string, allRounds: Map<string, number>[]): void {
  const { title, file, notPeers } = workloads[workload]!;
  const p = prefix(workload);
  const names = namesOf(workload);
  // This workload's cases, under their unprefixed names.
  const rounds = allRounds.map(
    (r) => new Map([...r].filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v])),
  );
  const fmt = (s: { median: number; min: number; max: number }, digits: number) =>
    `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  const perSecond = (ns: number[]) => spread(ns.map((x) => 1e9 / x));
  const fmtRate = (s: { median: number; min: number; max: number }) =>
    `${(s.median / 1e6).toFixed(2)} M (${(s.min / 1e6).toFixed(2)}–${(s.max / 1e6).toFixed(2)})`;
  const peers = names.filter((n) => !notPeers.has(n));
  const rows: string[] = [
    "| workers/stage | contender | ns/item | items/s | × best peer | × bare loop |",
    "|---|---|---:|---:|---:|---:|",
  ];
  const bare = rounds.map((r) => r.get(BARE)!);
  const bareNs = spread(bare);
  rows.push(`| – | ${BARE} | ${fmt(bareNs, 0)} | ${fmtRate(perSecond(bare))} | | 1 |`);
  const summary: Record<string, unknown> = {
    environment: environment(),
    workload,
    description: title,
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
    const best = rounds.map((r) => Math.min(...peers.map((q) => r.get(`${q} ×${w}`)!)));
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
        `| ${w} | ${name} | ${fmt(spread(ns), 0)} | ${fmtRate(perSecond(ns))} | ${vsPeer ? fmt(vsPeer, 2) : ""} | ${fmt(vsBare, 2)} |`,
      );
      byName[name] = {
        nsPerItem: spread(ns),
        itemsPerSecond: perSecond(ns),
        vsBestPeer: vsPeer,
        vsBareLoop: vsBare,
      };
    }
    (summary.byWorkers as Record<string, unknown>)[w] = byName;
  }
  const lines = [
    environment(),
    `${title}; ${rounds.length} rounds, each case in a fresh process, ` +
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
    writeFileSync(new URL(`./results/${file}.md`, import.meta.url), `${lines.join("\n")}\n`);
    writeFileSync(
      new URL(`./results/${file}.json`, import.meta.url),
      `${JSON.stringify(summary, null, 2)}\n`,
    );
  }
}
