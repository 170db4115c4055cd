/**
 * Question: what does each pipeline shape — a router, a fan-out, a batch stage, an ordered stage —
 * cost per item, against a bare `await` loop doing the same work and the idiom a user of a peer
 * would write?
 *
 * Every contender runs the same trivial async functions over N items and must produce the same
 * checksum. Peers appear where they have the shape: RxJS (`partition`/`merge`, `forkJoin`,
 * `bufferCount`), Effect (`Effect.all`, `Stream.grouped`, ordered `mapEffect`), Node streams
 * (`Readable.map`, ordered), p-queue (two queues as a router, `Promise.all` as a fan-out).
 * Run: `npm run bench:shapes`.
 */
import { writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { Chunk, Effect, Stream } from "effect";
import PQueue from "p-queue";
import { forkJoin, from, lastValueFrom, merge, mergeMap, partition, bufferCount } from "rxjs";
import { batch, FixedScaling, Flow, fanOut, router } from "../src/index.js";
import { environment } from "./env.js";
import { caseTable, runCases } from "./isolated.js";

const N = 10_000;
const BATCH = 100;
const items = Array.from({ length: N }, (_, i) => i);
let sum = 0;
const even = async (x: number) => x * 2;
const odd = async (x: number) => x * 3;
const left = async (x: number) => x + 1;
const right = async (x: number) => x * 2;
const sink = async (x: number) => {
  sum += x;
};
const sinkBatch = async (xs: readonly number[]) => {
  for (const x of xs) sum += x;
};
const isOdd = (x: number) => x % 2 === 1;
const one = (workers: number) => ({ scalingStrategy: new FixedScaling({ workers }) });

type Case = "router" | "fanOut" | "batch" | "ordered";
const expected: Record<Case, number> = {
  router: items.reduce((s, x) => s + (isOdd(x) ? x * 3 : x * 2), 0),
  fanOut: items.reduce((s, x) => s + (x + 1) + x * 2, 0),
  batch: items.reduce((s, x) => s + x, 0),
  ordered: items.reduce((s, x) => s + x * 2, 0),
};

/** Each case's contenders: name → one run over all items. */
const cases: Record<Case, Record<string, () => Promise<void>>> = {
  router: {
    "bare await loop": async () => {
      for (const x of items) await sink(isOdd(x) ? await odd(x) : await even(x));
    },
    flowrhythm: () =>
      new Flow()
        .setProducer(items)
        .addTransformer(router((x: number) => (isOdd(x) ? "odd" : "even"), { odd, even }))
        .setConsumer(sink)
        .run(),
    rxjs: async () => {
      const [o, e] = partition(from(items), isOdd);
      await lastValueFrom(
        merge(o.pipe(mergeMap(odd, 1)), e.pipe(mergeMap(even, 1))).pipe(mergeMap(sink, 1)),
        {
          defaultValue: undefined,
        },
      );
    },
    "p-queue": async () => {
      const [qo, qe, qs] = [
        new PQueue({ concurrency: 1 }),
        new PQueue({ concurrency: 1 }),
        new PQueue({ concurrency: 1 }),
      ];
      for (const x of items) {
        const q = isOdd(x) ? qo : qe;
        await q.onSizeLessThan(1024);
        void q.add(async () => {
          const y = await (isOdd(x) ? odd(x) : even(x));
          await qs.onSizeLessThan(1024);
          void qs.add(() => sink(y));
        });
      }
      await Promise.all([qo.onIdle(), qe.onIdle()]);
      await qs.onIdle();
    },
  },
  fanOut: {
    "bare await loop": async () => {
      for (const x of items) {
        const [a, b] = await Promise.all([left(x), right(x)]);
        await sink(a + b);
      }
    },
    flowrhythm: () =>
      new Flow()
        .setProducer(items)
        .addTransformer(fanOut([left, right], ([a, b]) => a + b))
        .setConsumer(sink)
        .run(),
    rxjs: () =>
      lastValueFrom(
        from(items).pipe(
          mergeMap((x) => forkJoin([left(x), right(x)]), 1),
          mergeMap(([a, b]) => sink(a + b), 1),
        ),
        { defaultValue: undefined },
      ),
    effect: () =>
      Effect.runPromise(
        Stream.fromIterable(items).pipe(
          Stream.mapEffect((x) =>
            Effect.all([Effect.promise(() => left(x)), Effect.promise(() => right(x))], { concurrency: 2 }),
          ),
          Stream.mapEffect(([a, b]) => Effect.promise(() => sink(a + b))),
          Stream.runDrain,
        ),
      ),
    "node streams": () =>
      Readable.from(items)
        .map((x: number) => Promise.all([left(x), right(x)]))
        .map(([a, b]: number[]) => sink(a! + b!))
        .forEach(() => {}),
  },
  batch: {
    "bare await loop": async () => {
      let buf: number[] = [];
      for (const x of items) {
        buf.push(x);
        if (buf.length === BATCH) {
          await sinkBatch(buf);
          buf = [];
        }
      }
      if (buf.length > 0) await sinkBatch(buf);
    },
    flowrhythm: () =>
      new Flow()
        .setProducer(items)
        .setConsumer(batch(sinkBatch, { size: BATCH }))
        .run(),
    rxjs: () =>
      lastValueFrom(from(items).pipe(bufferCount(BATCH), mergeMap(sinkBatch, 1)), {
        defaultValue: undefined,
      }),
    effect: () =>
      Effect.runPromise(
        Stream.fromIterable(items).pipe(
          Stream.grouped(BATCH),
          Stream.mapEffect((chunk) => Effect.promise(() => sinkBatch(Chunk.toReadonlyArray(chunk)))),
          Stream.runDrain,
        ),
      ),
  },
  ordered: {
    "bare await loop": async () => {
      for (const x of items) await sink(await right(x));
    },
    "flowrhythm unordered": () =>
      new Flow().setProducer(items).addTransformer(right, one(4)).setConsumer(sink).run(),
    flowrhythm: () =>
      new Flow()
        .setProducer(items)
        .addTransformer(right, { ...one(4), ordered: true })
        .setConsumer(sink)
        .run(),
    "node streams": () =>
      Readable.from(items)
        .map(right, { concurrency: 4 })
        .map(sink)
        .forEach(() => {}),
    effect: () =>
      Effect.runPromise(
        Stream.fromIterable(items).pipe(
          Stream.mapEffect((x) => Effect.promise(() => right(x)), { concurrency: 4 }),
          Stream.mapEffect((x) => Effect.promise(() => sink(x))),
          Stream.runDrain,
        ),
      ),
  },
};

const only = process.env.ONLY?.split(",");
const result = await runCases({
  script: import.meta.url,
  items: N,
  cases,
  only,
  reset: () => {
    sum = 0;
  },
  check: (c, name) => {
    if (sum !== expected[c]) throw new Error(`${name} (${c}) summed ${sum}, expected ${expected[c]}`);
  },
});

if (result) {
  console.log(`\n${environment()}; ${N} items per iteration, batch size ${BATCH}, 4 workers in "ordered"\n`);
  const { rows, nsPerItem: summary } = caseTable(result, cases, "shape");
  console.log(rows);
  if (!only)
    writeFileSync(
      new URL("./results/shapes.json", import.meta.url),
      `${JSON.stringify({ environment: environment(), items: N, batch: BATCH, nsPerItem: summary }, null, 2)}\n`,
    );
}
