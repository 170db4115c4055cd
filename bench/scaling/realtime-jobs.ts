/**
 * `npm run bench:jobs:realtime`: batch jobs run as a user runs them — the real `Flow`, real timers,
 * one child process per run — by `AdaptiveScaling` with only `maxWorkers` and by the fixed pool a
 * user would guess right, interleaved run by run (so a busy machine weighs on both alike). Jobs of
 * several stages, with timeouts, retries, calls that never settle and throwing listeners: what the
 * single-stage simulator cannot show. Reports the median time and worker-seconds of each against
 * the fixed pool, and the worst; writes `realtime-jobs.json` / `.md` to bench/results (or `--out DIR`).
 *
 * `--runs K` (default 5) pairs; `--jobs R1,R3` to pick; `--one ID adaptive|fixed` runs one job and
 * prints its JSON (what the parent spawns).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AdaptiveScaling, FixedScaling, Flow, type ScalingStrategy } from "../../src/index.js";

/** A dependency with `slots` calls at once; the rest wait their turn. */
function slots(n: number) {
  let free = n;
  const waiting: (() => void)[] = [];
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await call();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

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

/** A seeded generator (mulberry32), so every run of a job sees the same calls. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lognormal call times with mean `mean` ms and coefficient of variation `cv`. */
function lognormal(rand: () => number, mean: number, cv: number) {
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return () => {
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return Math.exp(mu + sigma * z);
  };
}

interface Job {
  readonly id: string;
  readonly title: string;
  /** The fixed pool (per stage) it is compared with. */
  readonly fixed: number;
  readonly maxWorkers: number;
  /** Builds the flow with this strategy on every stage and returns how to run it. */
  build(strategy: () => ScalingStrategy): Flow<number>;
  readonly items: number;
}

const JOBS: readonly Job[] = [
  {
    id: "R1",
    title:
      "hostile: 12 ms calls, timeoutMs 200, retries, 3 % never settle; 8 ms consumer, queue 32; listeners throw",
    fixed: 64,
    maxWorkers: 64,
    items: 4000,
    build(strategy) {
      const rand = random(7);
      const call = lognormal(rand, 12, 0.5);
      return new Flow<number>({ closeTimeoutMs: 300, errorHandler: () => {} })
        .addTransformer(
          async (x: number, ctx) => {
            if (ctx.attempt === 1 && rand() < 0.03) await new Promise(() => {}); // never settles, ignores its signal
            await sleep(call(), ctx.signal);
            return x;
          },
          {
            name: "fetch",
            timeoutMs: 200,
            retry: { attempts: 3, backoff: { baseMs: 5, maxMs: 50 } },
            scalingStrategy: strategy(),
          },
        )
        .setConsumer(async () => sleep(8), { name: "store", queueSize: 32, scalingStrategy: strategy() })
        .on("retry", () => {
          throw new Error("listener");
        })
        .on("scale", () => {
          throw new Error("listener");
        });
    },
  },
  {
    id: "R2",
    title: "two stages: 10 ms calls, no limit, then a 20 ms store behind 40 slots",
    fixed: 40,
    maxWorkers: 128,
    items: 4000,
    build(strategy) {
      const store = slots(40);
      return new Flow<number>()
        .addTransformer(
          async (x: number) => {
            await sleep(10);
            return x;
          },
          {
            name: "parse",
            scalingStrategy: strategy(),
          },
        )
        .setConsumer(async () => store(() => sleep(20)), { name: "store", scalingStrategy: strategy() });
    },
  },
  {
    id: "R3",
    title: "40 slots, 10 ms calls",
    fixed: 40,
    maxWorkers: 256,
    items: 4000,
    build(strategy) {
      const dep = slots(40);
      return new Flow<number>().setConsumer(async () => dep(() => sleep(10)), {
        name: "call",
        scalingStrategy: strategy(),
      });
    },
  },
  {
    id: "R4",
    title: "30 slots, lognormal 25 ms CV 0.5",
    fixed: 30,
    maxWorkers: 256,
    items: 3000,
    build(strategy) {
      const dep = slots(30);
      const call = lognormal(random(3), 25, 0.5);
      return new Flow<number>().setConsumer(async () => dep(() => sleep(call())), {
        name: "call",
        scalingStrategy: strategy(),
      });
    },
  },
  {
    id: "R5",
    title: "fast parse (2 ms) then a 30 ms store with 24 slots, retries on 5 % failures",
    fixed: 24,
    maxWorkers: 128,
    items: 3000,
    build(strategy) {
      const dep = slots(24);
      const rand = random(11);
      return new Flow<number>({ errorHandler: () => {} })
        .addTransformer(
          async (x: number) => {
            await sleep(2);
            return x;
          },
          {
            name: "parse",
            scalingStrategy: strategy(),
          },
        )
        .setConsumer(
          async () =>
            dep(async () => {
              await sleep(30);
              if (rand() < 0.05) throw new Error("flaky");
            }),
          {
            name: "store",
            retry: { attempts: 4, backoff: { baseMs: 5, maxMs: 40 } },
            scalingStrategy: strategy(),
          },
        );
    },
  },
];

interface Run {
  secs: number;
  workerSecs: number;
  peak: number;
  outcomes: number;
  reasons: string[];
}

/** One run of a job in this process: its time, the worker-seconds of all its stages, and its outcomes. */
async function one(job: Job, kind: string): Promise<Run> {
  const strategy = () =>
    kind === "fixed"
      ? new FixedScaling({ workers: job.fixed })
      : new AdaptiveScaling({ maxWorkers: job.maxWorkers });
  const flow = job.build(strategy);
  const reasons: string[] = [];
  const t0 = performance.now();
  const trace = process.argv.includes("--trace");
  flow.on("scale", (e) => {
    if (trace) {
      const st = flow.stageStats(e.stage)!;
      console.error(
        `${((performance.now() - t0) / 1000).toFixed(2)} ${e.stage} ${e.from}→${e.to} q=${st.queueLength} busy=${st.busyWorkers} blocked=${st.blockedWorkers} retrying=${st.retryingWorkers} ${e.reason}`,
      );
    }
    if (reasons.length < 40 && /knee|untested|brake/.test(e.reason))
      reasons.push(`${e.stage} ${e.from}→${e.to} ${e.reason}`);
  });
  let workerSecs = 0;
  let peak = 0;
  let last = performance.now();
  const sample = setInterval(() => {
    const now = performance.now();
    const n = flow.stats().stages.reduce((a, s) => a + s.totalWorkers, 0);
    workerSecs += (n * (now - last)) / 1000;
    last = now;
    peak = Math.max(peak, n);
  }, 20);
  await flow.run(Array.from({ length: job.items }, (_, i) => i));
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sample);
  const s = flow.stats();
  return { secs, workerSecs, peak, outcomes: s.consumed + s.failed + s.dropped, reasons };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const oneAt = process.argv.indexOf("--one");
  if (oneAt > 0) {
    const job = JOBS.find((j) => j.id === process.argv[oneAt + 1])!;
    process.stdout.write(`${JSON.stringify(await one(job, process.argv[oneAt + 2]!))}\n`);
    process.exit(0); // calls that never settle hold nothing, but do not wait for them
  }
  const runs = Number(arg("--runs") ?? 5);
  const pick = arg("--jobs")?.split(",");
  const out = arg("--out") ?? "bench/results";
  const self = fileURLToPath(import.meta.url);
  const spawn = (id: string, kind: string): Run => {
    const r = spawnSync(process.execPath, ["--import", "tsx", self, "--one", id, kind], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`run ${id} ${kind} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Run;
  };
  const rows = [
    `Real-time batch jobs, ${runs} interleaved pairs each (one child process per run): \`AdaptiveScaling({ maxWorkers })\` on every stage against a fixed pool per stage.`,
    "",
    "| job | fixed: time s · worker-s | adaptive: time s · worker-s · peak | × fixed: time (median, worst) · worker-s (median) |",
    "|---|---|---|---|",
  ];
  const results = [];
  for (const job of JOBS.filter((j) => !pick || pick.includes(j.id))) {
    const a: Run[] = [];
    const f: Run[] = [];
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      for (const kind of i % 2 === 0 ? ["adaptive", "fixed"] : ["fixed", "adaptive"])
        (kind === "adaptive" ? a : f).push(spawn(job.id, kind));
      for (const r of [a.at(-1)!, f.at(-1)!])
        if (r.outcomes !== job.items)
          throw new Error(`${job.id}: ${r.outcomes} outcomes for ${job.items} items`);
    }
    const ratios = a.map((r, i) => r.secs / f[i]!.secs);
    const wsRatio = median(a.map((r, i) => r.workerSecs / f[i]!.workerSecs));
    results.push({ id: job.id, title: job.title, fixed: job.fixed, adaptive: a, fixedRuns: f });
    rows.push(
      `| ${job.id} ${job.title}, ${job.items} items | F${job.fixed}: ${median(f.map((r) => r.secs)).toFixed(2)} · ${median(f.map((r) => r.workerSecs)).toFixed(0)} | ${median(a.map((r) => r.secs)).toFixed(2)} · ${median(a.map((r) => r.workerSecs)).toFixed(0)} · ${Math.max(...a.map((r) => r.peak))} | ${median(ratios).toFixed(2)} (${Math.max(...ratios).toFixed(2)}) · ${wsRatio.toFixed(2)} |`,
    );
    console.log(rows.at(-1));
    for (const r of a)
      if (r.secs / median(f.map((x) => x.secs)) > 1.5)
        console.log(`  slow run ${r.secs.toFixed(2)} s: ${r.reasons.slice(0, 6).join(" | ")}`);
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/realtime-jobs.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${out}/realtime-jobs.md`, `${rows.join("\n")}\n`);
  console.log(`\nwrote ${out}/realtime-jobs.json and realtime-jobs.md`);
}

await main();
