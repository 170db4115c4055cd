/**
 * Question: what do retries and per-item timeouts cost per item, against a bare `await` loop
 * with a hand-written retry loop and timer, and against the idiom a user of a peer would write?
 *
 * "retry": 2 % of the items fail once (a transient fault) and are retried at once (no backoff);
 * "timeout": every item gets a 1 s deadline that never fires (the cost is the timer per item).
 * Four workers (concurrency 4) everywhere but the bare loop. Every contender must produce the
 * same checksum. Peers: RxJS (`retry`, `timeout`), Effect (`Effect.retry`, `Effect.timeout`),
 * p-queue (`timeout` option, a retry loop in the task), Node streams (`Readable.map`, a retry
 * loop and a timer race by hand). Run: `npm run bench:resilience`.
 */
import { writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { Effect, Stream } from "effect";
import PQueue from "p-queue";
import { defer, from, lastValueFrom, mergeMap, retry, timeout } from "rxjs";
import { FixedScaling, Flow } from "../src/index.js";
import { environment } from "./env.js";
import { caseTable, runCases } from "./isolated.js";

const N = 10_000;
const WORKERS = 4;
const DEADLINE_MS = 1000;
const items = Array.from({ length: N }, (_, i) => i);
const failedOnce = new Uint8Array(N);
let sum = 0;
const expected = items.reduce((s, x) => s + x * 2, 0);

/** Fails the first call for every 50th item. */
const flaky = async (x: number) => {
  if (x % 50 === 0 && failedOnce[x] === 0) {
    failedOnce[x] = 1;
    throw new Error("transient");
  }
  return x * 2;
};
const work = async (x: number) => x * 2;
const sink = (x: number) => {
  sum += x;
};

/** The hand-written retry a loop or a task needs: up to two attempts. */
async function twice(x: number): Promise<number> {
  try {
    return await flaky(x);
  } catch {
    return flaky(x);
  }
}

/** The hand-written deadline: the call, or a rejection after DEADLINE_MS. */
function deadline<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), DEADLINE_MS);
  });
  return Promise.race([p, expiry]).finally(() => clearTimeout(timer));
}

const pool = { scalingStrategy: new FixedScaling({ workers: WORKERS }) };

type Case = "retry" | "timeout";
const cases: Record<Case, Record<string, () => Promise<void>>> = {
  retry: {
    "bare await loop": async () => {
      for (const x of items) sink(await twice(x));
    },
    flowrhythm: () =>
      new Flow()
        .setProducer(items)
        .addTransformer(flaky, { ...pool, retry: { attempts: 2, backoff: { baseMs: 0 } } })
        .setConsumer(sink)
        .run(),
    rxjs: async () => {
      await lastValueFrom(
        from(items).pipe(
          mergeMap((x) => defer(() => flaky(x)).pipe(retry(1)), WORKERS),
          mergeMap(async (y) => sink(y), 1),
        ),
        { defaultValue: undefined },
      );
    },
    effect: () =>
      Effect.runPromise(
        Stream.fromIterable(items).pipe(
          Stream.mapEffect((x) => Effect.tryPromise(() => flaky(x)).pipe(Effect.retry({ times: 1 })), {
            concurrency: WORKERS,
          }),
          Stream.runForEach((y) => Effect.sync(() => sink(y))),
        ),
      ),
    "p-queue": async () => {
      const q = new PQueue({ concurrency: WORKERS });
      for (const x of items) {
        await q.onSizeLessThan(1024);
        void q.add(async () => sink(await twice(x)));
      }
      await q.onIdle();
    },
    "node streams": () => Readable.from(items).map(twice, { concurrency: WORKERS }).forEach(sink),
  },
  timeout: {
    "bare await loop": async () => {
      for (const x of items) sink(await deadline(work(x)));
    },
    flowrhythm: () =>
      new Flow()
        .setProducer(items)
        .addTransformer(work, { ...pool, timeoutMs: DEADLINE_MS })
        .setConsumer(sink)
        .run(),
    rxjs: async () => {
      await lastValueFrom(
        from(items).pipe(
          mergeMap((x) => defer(() => work(x)).pipe(timeout(DEADLINE_MS)), WORKERS),
          mergeMap(async (y) => sink(y), 1),
        ),
        { defaultValue: undefined },
      );
    },
    effect: () =>
      Effect.runPromise(
        Stream.fromIterable(items).pipe(
          Stream.mapEffect((x) => Effect.promise(() => work(x)).pipe(Effect.timeout(DEADLINE_MS)), {
            concurrency: WORKERS,
          }),
          Stream.runForEach((y) => Effect.sync(() => sink(y))),
        ),
      ),
    "p-queue": async () => {
      const q = new PQueue({ concurrency: WORKERS, timeout: DEADLINE_MS });
      for (const x of items) {
        await q.onSizeLessThan(1024);
        void q.add(async () => sink(await work(x)));
      }
      await q.onIdle();
    },
    "node streams": () =>
      Readable.from(items)
        .map((x) => deadline(work(x)), { concurrency: WORKERS })
        .forEach(sink),
  },
};

const result = await runCases({
  script: import.meta.url,
  items: N,
  cases,
  reset: () => {
    sum = 0;
    failedOnce.fill(0);
  },
  check: (c, name) => {
    if (sum !== expected) throw new Error(`${name} (${c}) summed ${sum}, expected ${expected}`);
  },
});

if (result) {
  console.log(`\n${environment()}; ${N} items per iteration, ${WORKERS} workers (the bare loop: one)\n`);
  const { rows, nsPerItem: summary } = caseTable(result, cases, "case");
  console.log(rows);
  writeFileSync(
    new URL("./results/resilience.json", import.meta.url),
    `${JSON.stringify({ environment: environment(), items: N, workers: WORKERS, nsPerItem: summary }, null, 2)}\n`,
  );
}
