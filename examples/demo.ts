/**
 * The main demo: a believable pipeline that scales itself, live in the terminal.
 *
 *   fetch  – simulated I/O, 20–80 ms per item; 4 % of calls fail once (retried with backoff)
 *            and 1 % hang (cut off by a 300 ms timeout, then retried)  (AdaptiveScaling, up to 24 workers)
 *   parse  – a little CPU, one worker is plenty           (default: one worker)
 *   store  – a database that saturates at 8 concurrent calls (AdaptiveScaling, up to 16 workers:
 *            its knee guard finds the 8 and holds there)
 *
 * The three stages share a budget of 32 workers (`maxTotalWorkers`).
 *
 * Arrivals ramp from 40/s to 220/s and back down to 60/s, then stop; the flow drains and prints
 * a summary. About 15 s in all. Ctrl-C drains the flow (and still prints the summary); a second
 * Ctrl-C stops it at once. Run: `npm run demo`.
 */
import { AdaptiveScaling, Flow, type ScaleEvent } from "../src/index.js";

// Sleeps `ms`, or rejects when `signal` aborts first; either way it leaves no listener behind (a
// listener left on `ctx.signal` per item would pile up for the worker's whole life).
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** A dependency with 8 slots: callers beyond that wait for a slot (a FIFO semaphore). */
class Database {
  #free = 8;
  readonly #waiting: (() => void)[] = [];
  inUse = 0;
  async insert(_row: unknown, signal: AbortSignal): Promise<void> {
    if (this.#free === 0) await new Promise<void>((r) => this.#waiting.push(r));
    else this.#free--;
    this.inUse++;
    try {
      await sleep(25, signal);
    } finally {
      this.inUse--;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

interface Page {
  id: number;
  body: string;
}

const PHASES = [
  { untilS: 4, rate: 40 },
  { untilS: 10, rate: 400 },
  { untilS: 14, rate: 60 },
];

async function* arrivals(): AsyncGenerator<number> {
  const start = performance.now();
  let id = 0;
  for (;;) {
    const t = (performance.now() - start) / 1000;
    const phase = PHASES.find((p) => t < p.untilS);
    if (!phase) return;
    // Poisson arrivals: exponential gaps with the phase's mean.
    await sleep(-Math.log(1 - Math.random()) * (1000 / phase.rate));
    yield id++;
  }
}

const db = new Database();
const scaleEvents: ScaleEvent[] = [];

// Ctrl-C drains: in-flight pages finish, the database calls complete; then the summary prints.
const pipeline = new Flow({ statsIntervalMs: 500, maxTotalWorkers: 32, handleSignals: { exit: false } })
  .setProducer(arrivals)
  .addTransformer(
    async (id: number, ctx): Promise<Page> => {
      const roll = Math.random();
      if (roll < 0.04 && ctx.attempt === 1) throw new Error("503 Service Unavailable"); // transient
      await sleep(roll > 0.99 ? 10_000 : 20 + Math.random() * 60, ctx.signal); // 1 %: a hung call
      return { id, body: `{"id":${id},"title":"page ${id}","words":${100 + (id % 900)}}` };
    },
    {
      name: "fetch",
      timeoutMs: 300,
      retry: { attempts: 3, backoff: { baseMs: 50, maxMs: 400 } },
      scalingStrategy: new AdaptiveScaling({ maxWorkers: 24 }),
    },
  )
  .addTransformer((page) => JSON.parse(page.body) as { id: number; title: string; words: number }, {
    name: "parse",
  })
  .setConsumer(async (row, ctx) => db.insert(row, ctx.signal), {
    name: "store",
    scalingStrategy: new AdaptiveScaling({ maxWorkers: 16 }),
  })
  .setErrorHandler((event) => console.error("error:", event));

pipeline.on("scale", (e) => scaleEvents.push(e));

const started = performance.now();
const tty = process.stdout.isTTY;
pipeline.on("stats", () => {
  const elapsed = ((performance.now() - started) / 1000).toFixed(1);
  const recent = scaleEvents.slice(-3).map((e) => `  ${e.stage}: ${e.from} → ${e.to} (${e.reason})`);
  const screen = [
    `flowrhythm demo — ${elapsed} s   (db calls in use: ${db.inUse}/8)`,
    "",
    pipeline.dump({ mode: "stats" }),
    "",
    "last scale decisions:",
    ...(recent.length > 0 ? recent : ["  (none yet)"]),
  ].join("\n");
  process.stdout.write(tty ? `\x1b[2J\x1b[H${screen}\n` : `${screen}\n\n`);
});

await pipeline.run();

const s = pipeline.stats();
const seconds = (performance.now() - started) / 1000;
console.log(
  `\nsummary after ${seconds.toFixed(1)} s: ${s.itemsIn} items in, ${s.consumed} stored, ${s.failed} failed, ${s.dropped} dropped`,
);
for (const st of s.stages) {
  const peak = Math.max(1, ...scaleEvents.filter((e) => e.stage === st.stageName).map((e) => e.to));
  console.log(
    `  ${st.stageName.padEnd(6)} processed ${String(st.processed).padStart(5)}   peak workers ${String(peak).padStart(2)}   p99 ${st.latency.p99.toFixed(1)} ms   queue-wait p99 ${st.queueWait.p99.toFixed(1)} ms`,
  );
}
console.log(
  `  ${scaleEvents.length} scale decisions; fetch retried ${pipeline.stageStats("fetch")?.retries ?? 0} attempts (transient errors and timeouts), ${s.failed} gave up`,
);
