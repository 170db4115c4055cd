/**
 * Question: does a `threaded` stage under its default strategy turn a CPU-bound job into
 * throughput, against the same function in the event loop and against piscina used directly at
 * each thread count — and what does one item's round trip to a thread cost, ours against
 * piscina's and tinypool's?
 *
 * CPU part: 10,000 items of about 1 ms of hashing each, two ways: `fnv`, FNV-1a over 900 KB in
 * plain JavaScript (bench/threads/fnv.mjs), and `sha`, 1,300 rounds of SHA-256 through
 * node:crypto (bench/threads/hash.mjs; each round allocates a native hash object, and on this
 * machine that job does not scale across threads the way plain JavaScript does). Contenders: a
 * flow with the function in the event loop; a flow with `threaded(module)` and no strategy (the
 * default: AdaptiveScaling up to `maxThreads`, the cores + 1, and the thread budget); piscina with
 * 1, 2 and 3 threads fed 2 tasks per thread. Each contender runs in its own child process, once per round,
 * in a rotated order; ROUNDS rounds (default 5); medians and ranges. Every contender is timed end
 * to end, from before its threads exist (a flow starts its threads as its workers start). Beside items/s: the main
 * event loop's p99 delay (monitorEventLoopDelay) and, for the flow, the threads it settled on.
 *
 * Overhead part (steady state: timed from the first result on): 20,000 items of next to no work (bench/threads/echo.mjs), one call at a time on
 * one thread (a stage worker makes one call at a time), for a flow's `threaded` stage with one
 * worker, piscina and tinypool; and piscina fed 16 at a time, for what queueing in the pool saves.
 *
 * The flow is imported from dist/ (the script builds it first), so threads load the compiled
 * entry as a user's would. Run: `npm run bench:threads` (about 10 minutes; `ONLY=fnv,echo`
 * picks contenders by prefix, `ROUNDS=` sets the rounds).
 * Results: bench/results/threads.md.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { environment } from "./env.js";

const CPU_ITEMS = 10_000;
const ECHO_ITEMS = 20_000;
const MODULES = {
  fnv: new URL("./threads/fnv.mjs", import.meta.url),
  sha: new URL("./threads/hash.mjs", import.meta.url),
};
type Workload = keyof typeof MODULES;
const ECHO = new URL("./threads/echo.mjs", import.meta.url);

interface Outcome {
  perSec: number;
  p99Ms: number;
  threads?: string | undefined;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function flowRun(kind: "loop" | "threaded" | "echo", work: Workload = "fnv"): Promise<Outcome> {
  const { Flow, FixedScaling, threaded } = await import("../dist/index.js");
  const fn = (await import(MODULES[work].href)).default as (x: number) => unknown;
  const n = kind === "echo" ? ECHO_ITEMS : CPU_ITEMS;
  const f = new Flow<number>().setProducer(() => range(n));
  if (kind === "loop")
    f.addTransformer((x: number) => fn(x), { name: "s", scalingStrategy: new FixedScaling({ workers: 1 }) });
  else if (kind === "echo")
    f.addTransformer(threaded(ECHO), { name: "s", scalingStrategy: new FixedScaling({ workers: 1 }) });
  else f.addTransformer(threaded(MODULES[work]), { name: "s" });
  const counts: number[] = [];
  const sample = setInterval(() => counts.push(f.stageStats("s")?.activeWorkers ?? 0), 100);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let t0 = performance.now();
  let out = 0;
  for await (const _ of f.stream()) {
    // The overhead part times the steady state: from the first result on (its thread is up).
    if (out++ === 0 && kind === "echo") t0 = performance.now();
  }
  const s = (performance.now() - t0) / 1000;
  const timed = kind === "echo" ? n - 1 : n;
  h.disable();
  clearInterval(sample);
  if (out !== n) throw new Error(`${kind}: ${out} of ${n} items`);
  const late = counts.slice(Math.floor(counts.length / 2));
  return {
    perSec: timed / s,
    p99Ms: h.percentile(99) / 1e6,
    threads:
      kind === "threaded"
        ? `peak ${Math.max(...counts)}, second half ${Math.min(...late)}–${Math.max(...late)}`
        : undefined,
  };
}

/** Runs `n` tasks through `run`, `depth` at a time. */
async function feed(n: number, depth: number, run: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await run(next++);
  };
  await Promise.all(range(depth).map(lane));
}

async function poolRun(
  lib: "piscina" | "tinypool",
  threads: number,
  depth: number,
  module: URL,
  n: number,
  steady = false,
): Promise<Outcome> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  // Timed from before the pool exists, as the flows are: a job's items/s include starting its
  // threads — but for the overhead part, which times the steady state, from its first result on.
  h.enable();
  let t0 = performance.now();
  let run: (i: number) => Promise<unknown>;
  let close: () => Promise<unknown>;
  if (lib === "piscina") {
    const { Piscina } = await import("piscina");
    const pool = new Piscina({ filename: module.href, minThreads: threads, maxThreads: threads });
    run = (i) => pool.run(i);
    close = () => pool.destroy();
  } else {
    const { Tinypool } = await import("tinypool");
    const pool = new Tinypool({ filename: module.href, minThreads: threads, maxThreads: threads });
    run = (i) => pool.run(i);
    close = () => pool.destroy();
  }
  if (steady) {
    await run(-1);
    t0 = performance.now();
  }
  await feed(n, depth, run);
  const s = (performance.now() - t0) / 1000;
  h.disable();
  await close();
  return { perSec: n / s, p99Ms: h.percentile(99) / 1e6 };
}

const cpu = (w: Workload): Record<string, () => Promise<Outcome>> => ({
  [`${w}: event loop`]: () => flowRun("loop", w),
  [`${w}: threaded (default)`]: () => flowRun("threaded", w),
  [`${w}: piscina 1 thread`]: () => poolRun("piscina", 1, 2, MODULES[w], CPU_ITEMS),
  [`${w}: piscina 2 threads`]: () => poolRun("piscina", 2, 4, MODULES[w], CPU_ITEMS),
  [`${w}: piscina 3 threads`]: () => poolRun("piscina", 3, 6, MODULES[w], CPU_ITEMS),
});
const contenders: Record<string, () => Promise<Outcome>> = {
  ...cpu("fnv"),
  ...cpu("sha"),
  "echo: threaded, 1 worker": () => flowRun("echo"),
  "echo: piscina, 1 at a time": () => poolRun("piscina", 1, 1, ECHO, ECHO_ITEMS, true),
  "echo: tinypool, 1 at a time": () => poolRun("tinypool", 1, 1, ECHO, ECHO_ITEMS, true),
  "echo: piscina, 16 at a time": () => poolRun("piscina", 1, 16, ECHO, ECHO_ITEMS, true),
};

if (process.argv[2] === "--child") {
  const r = await contenders[process.argv[3]!]!();
  console.log(`RESULT ${JSON.stringify(r)}`);
  process.exit(0);
}

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const only = process.env.ONLY?.split(",");
const names = Object.keys(contenders).filter((n) => !only || only.some((o) => n.startsWith(o)));
const results = new Map<string, Outcome[]>(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]!);
  for (const name of order) {
    const res = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), "--child", name],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const line = res.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`${name}: no result (exit ${res.status})`);
    const r = JSON.parse(line.slice(7)) as Outcome;
    results.get(name)!.push(r);
    console.log(
      `round ${round + 1} ${name}: ${r.perSec.toFixed(0)}/s, loop p99 ${r.p99Ms.toFixed(1)} ms${r.threads ? `, threads ${r.threads}` : ""}`,
    );
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const med = (name: string) => median(results.get(name)?.map((r) => r.perSec) ?? [Number.NaN]);
const rows = [
  "| contender | items/s (median) | range | µs/item | main loop p99 (median, ms) | threads |",
  "|---|---:|---|---:|---:|---|",
];
for (const name of names) {
  const rs = results.get(name)!;
  const per = rs.map((r) => r.perSec);
  rows.push(
    `| ${name} | ${med(name).toFixed(0)} | ${Math.min(...per).toFixed(0)}–${Math.max(...per).toFixed(0)} | ${(1e6 / med(name)).toFixed(1)} | ${median(rs.map((r) => r.p99Ms)).toFixed(1)} | ${rs
      .map((r) => r.threads ?? "")
      .filter(Boolean)
      .join("; ")} |`,
  );
}
// Ratios within each round, then their median: a round's contenders ran back to back.
const ratio = (a: string, b: string) =>
  median(results.get(a)!.map((r, i) => r.perSec / results.get(b)![i]!.perSec));
const lines: string[] = [];
for (const w of Object.keys(MODULES)) {
  if (!names.includes(`${w}: threaded (default)`) || !names.includes(`${w}: event loop`)) continue;
  const pools = [1, 2, 3]
    .map((t) => `${w}: piscina ${t} thread${t > 1 ? "s" : ""}`)
    .filter((n) => names.includes(n));
  const best = pools.reduce((a, b) => (med(a) >= med(b) ? a : b));
  lines.push(
    `- ${w}: threaded (default) / event loop: ${ratio(`${w}: threaded (default)`, `${w}: event loop`).toFixed(2)}× (bar ≥ 1.7×); piscina's best / event loop: ${ratio(best, `${w}: event loop`).toFixed(2)}×`,
    `- ${w}: threaded (default) / ${best.slice(w.length + 2)} (piscina's best here): ${ratio(`${w}: threaded (default)`, best).toFixed(2)}× (bar ≥ 0.95×)`,
  );
}
if (names.includes("echo: threaded, 1 worker")) {
  for (const peer of [
    "echo: piscina, 1 at a time",
    "echo: tinypool, 1 at a time",
    "echo: piscina, 16 at a time",
  ])
    if (names.includes(peer))
      lines.push(
        `- round trip, threaded − ${peer.slice(6)}: ${(1e6 / med("echo: threaded, 1 worker") - 1e6 / med(peer)).toFixed(1)} µs/item`,
      );
}
const md = `# Threads bench\n\n${environment()}\n\nCores (os.availableParallelism): ${availableParallelism()}; ${ROUNDS} rounds.\n\n${rows.join("\n")}\n\n${lines.join("\n")}\n`;
console.log(md);
if (!only) writeFileSync(new URL("./results/threads.md", import.meta.url), md);
else if (only.join() === "echo") writeFileSync(new URL("./results/threads-overhead.md", import.meta.url), md);
