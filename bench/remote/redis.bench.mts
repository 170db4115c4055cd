/**
 * flowrhythm/redis vs in-memory vs a hand-wired BullMQ pipeline, on one machine.
 *
 *   npx tsx bench/remote/redis.bench.mts            # the whole benchmark (a few minutes)
 *   BENCH_N=1500 BENCH_RUNS=5 BENCH_FETCH_MS=40 npx tsx bench/remote/redis.bench.mts
 *
 * Flow "bench": parse (local, cheap) → fetch (remote, 40 ms sleep = I/O (BENCH_FETCH_MS), FixedScaling 8 per process)
 * → store (remote, cheap) → consumer. The feeding process runs with `serve: false`; 1/2/3 child
 * processes (this file, argv "child …") serve. The hand-wired BullMQ pipeline: Queue + Worker per
 * stage (fetch concurrency 8, store concurrency 8), each processor adds to the next queue, the last
 * one INCRs a done counter the feeder polls (as the library's ledger does).
 *
 * Redis accounting per run: INFO stats/commandstats before and after (total_commands_processed
 * counts commands run inside Lua scripts too, see the check printed first), and one extra run per
 * distributed configuration under MONITOR, which tells client-sent commands (round trips) from
 * Lua-internal ones. Timed runs never run with MONITOR on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { environment } from "../env.js";
import { FixedScaling, Flow } from "../../src/index.js";
import { distribute } from "../../src/redis.js";

const HOST = "127.0.0.1";
const PORT = Number(process.env.BENCH_REDIS_PORT ?? 6379);
const CONNECTION = { host: HOST, port: PORT };
const N = Number(process.env.BENCH_N ?? 1500);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const FETCH_MS = Number(process.env.BENCH_FETCH_MS ?? 40);
const FETCH_WORKERS = 8;
const RUN_TIMEOUT_MS = 120_000;
const SELF = fileURLToPath(import.meta.url);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** `p`, or `"timeout"` after `ms` (the timer does not keep the process alive). */
function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- the flow (same in every process)

interface Parsed {
  id: number;
  url: string;
}
interface Fetched {
  id: number;
  len: number;
}

let consumedHere = 0;
function makeFlow(): Flow<number, unknown> {
  return new Flow<number>({ name: "bench" })
    .addTransformer((x: number): Parsed => ({ id: x, url: `https://example.com/item/${x}` }), {
      name: "parse",
    })
    .addTransformer(
      async (p: Parsed): Promise<Fetched> => {
        await sleep(FETCH_MS);
        return { id: p.id, len: p.url.length };
      },
      { name: "fetch", scalingStrategy: new FixedScaling({ workers: FETCH_WORKERS }) },
    )
    .addTransformer((f: Fetched) => ({ id: f.id, stored: f.len > 0 }), { name: "store" })
    .setConsumer(() => {
      consumedHere++;
    }) as unknown as Flow<number, unknown>;
}

const source = () => Array.from({ length: N }, (_, i) => i);

// ---------------------------------------------------------------- child processes

async function childOurs(prefix: string): Promise<void> {
  const f = makeFlow();
  let errors = 0;
  f.on("itemError", (e) => {
    if (errors++ < 3) console.error("itemError", e.stage, e.error);
  });
  const d = distribute(f, {
    connection: CONNECTION,
    remote: ["fetch", "store"],
    prefix,
    keepRunSeconds: 120,
  });
  const serving = d.serve({ handleSignals: true });
  const cpu0 = process.cpuUsage();
  let cpu = cpu0;
  process.once("SIGTERM", () => {
    cpu = process.cpuUsage(cpu0);
  });
  console.log("ready");
  await serving;
  console.log(
    `served consumed=${consumedHere} errors=${errors} cpu=${((cpu.user + cpu.system) / 1000).toFixed(1)}`,
  );
  await d.close();
  console.log("closed");
}

async function childBull(prefix: string): Promise<void> {
  const connection = { ...CONNECTION, maxRetriesPerRequest: null };
  const storeQ = new Queue("store", { connection, prefix });
  const counter = new Redis(connection);
  const fetchW = new Worker(
    "fetch",
    async (job) => {
      const p = job.data as Parsed;
      await sleep(FETCH_MS);
      const out: Fetched = { id: p.id, len: p.url.length };
      await storeQ.add("item", out, { removeOnComplete: true, removeOnFail: true });
    },
    { connection, prefix, concurrency: FETCH_WORKERS },
  );
  const storeW = new Worker(
    "store",
    async (job) => {
      const f = job.data as Fetched;
      const stored = { id: f.id, stored: f.len > 0 };
      if (stored.stored) consumedHere++;
      await counter.incr(`${prefix}:done`);
    },
    { connection, prefix, concurrency: FETCH_WORKERS },
  );
  for (const w of [fetchW, storeW]) w.on("error", (e) => console.error("worker error", e));
  const cpu0 = process.cpuUsage();
  let cpu = cpu0;
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => {
      cpu = process.cpuUsage(cpu0);
      resolve();
    });
    console.log("ready");
  });
  await Promise.all([fetchW.close(), storeW.close()]);
  console.log(`served consumed=${consumedHere} cpu=${((cpu.user + cpu.system) / 1000).toFixed(1)}`);
  await storeQ.close();
  await counter.quit();
  console.log("closed");
}

// ---------------------------------------------------------------- Redis accounting

interface Info {
  total: number;
  /** Redis's CPU seconds (user + sys). */
  cpu: number;
  cmds: Map<string, number>;
}
const meter: Redis =
  process.argv[2] === "child"
    ? (null as unknown as Redis)
    : new Redis({ ...CONNECTION, connectionName: "bench-meter" });

async function readInfo(): Promise<Info> {
  const text = await meter.info("stats", "commandstats", "cpu");
  const total = Number(/total_commands_processed:(\d+)/.exec(text)![1]);
  const cpu =
    Number(/used_cpu_sys:([\d.]+)/.exec(text)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(text)![1]);
  const cmds = new Map<string, number>();
  for (const m of text.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) cmds.set(m[1]!, Number(m[2]));
  return { total, cpu, cmds };
}
/** Commands processed between two readings, minus the meter's own INFO (counted after its reply). */
const OWN_COMMANDS = 1;
function delta(a: Info, b: Info): { total: number; cpu: number; cmds: Map<string, number> } {
  const cmds = new Map<string, number>();
  for (const [k, v] of b.cmds) {
    const d = v - (a.cmds.get(k) ?? 0) - (k === "info" ? OWN_COMMANDS : 0);
    if (d > 0) cmds.set(k, d);
  }
  return { total: b.total - a.total - OWN_COMMANDS, cpu: b.cpu - a.cpu, cmds };
}

interface MonitorCount {
  client: number;
  lua: number;
  bzpopmin: number;
  evalsha: number;
  /** Lines in the window that name none of the run's keys (keyless commands, or another client's). */
  foreign: number;
  byCmd: Map<string, number>;
}
// MONITOR through redis-cli (a line per command: `<time> [<db> <addr>|lua] "cmd" …`).
async function startMonitor(prefix: string): Promise<{ stop(): Promise<MonitorCount> }> {
  const info = String(await meter.client("INFO"));
  const mine = `[0 ${/addr=(\S+)/.exec(info)![1]}]`;
  const c: MonitorCount = { client: 0, lua: 0, bzpopmin: 0, evalsha: 0, foreign: 0, byCmd: new Map() };
  const proc = spawn("redis-cli", ["-h", HOST, "-p", String(PORT), "monitor"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  live.add(proc);
  // Counts only between the meter's two INFOs (before and after the run), as the INFO delta does.
  let infos = 0;
  let rest = "";
  let started = false;
  proc.stdout!.on("data", (b: Buffer) => {
    const lines = (rest + b.toString()).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      if (line === "OK") {
        started = true;
        continue;
      }
      const m = /^\S+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
      if (m === null) continue;
      const cmd = m[2]!.toLowerCase();
      if (line.includes(mine)) {
        if (cmd === "info") infos++;
        continue;
      }
      if (infos !== 1) continue;
      if (!line.includes(prefix)) c.foreign++;
      if (m[1] === "lua") {
        c.lua++;
        continue;
      }
      c.client++;
      c.byCmd.set(cmd, (c.byCmd.get(cmd) ?? 0) + 1);
      if (cmd === "bzpopmin") c.bzpopmin++;
      if (cmd === "evalsha" || cmd === "eval") c.evalsha++;
    }
  });
  const deadline = Date.now() + 5_000;
  while (!started && Date.now() < deadline) await sleep(10);
  return {
    async stop() {
      const deadline = Date.now() + 5_000;
      while (infos < 2 && Date.now() < deadline) await sleep(10);
      if (infos < 2) problems.push("MONITOR: the closing INFO never showed");
      proc.kill("SIGTERM");
      live.delete(proc);
      return c;
    },
  };
}

async function cleanup(prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await meter.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await meter.del(...keys);
  } while (cursor !== "0");
}

// Whether commands run inside a Lua script count in total_commands_processed.
async function luaCheck(): Promise<string> {
  const key = `benchluacheck${Date.now()}`;
  const a = await readInfo();
  await meter.eval("for i=1,10 do redis.call('INCR', KEYS[1]) end return 1", 1, key);
  const b = await readInfo();
  await meter.del(key);
  const d = delta(a, b);
  const incr = d.cmds.get("incr") ?? 0;
  return `one EVAL running 10 INCRs: total_commands_processed +${d.total} (EVAL + INCRs), cmdstat_incr +${incr} → Lua-internal commands ${d.total >= 11 ? "DO" : "do NOT"} count`;
}

// ---------------------------------------------------------------- children management

interface Child {
  proc: ChildProcess;
  out: string;
  err: string;
  ready: Promise<void>;
  exited: Promise<number | null>;
}
function spawnChild(mode: "ours" | "bull", prefix: string): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", SELF, "child", mode, prefix], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  const c: Child = { proc, out: "", err: "", ready: Promise.resolve(), exited: Promise.resolve(null) };
  c.ready = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`child ${proc.pid} not ready in 30 s: ${c.err}`)), 30_000);
    t.unref();
    proc.stdout!.on("data", (b: Buffer) => {
      c.out += b.toString();
      if (c.out.includes("ready")) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once("exit", () => reject(new Error(`child exited before ready: ${c.err}`)));
  });
  proc.stderr!.on("data", (b: Buffer) => {
    c.err += b.toString();
  });
  c.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
  return c;
}

// Until every child's BullMQ workers have their blocking connections (named `<prefix>:<base64 queue>`).
async function waitWorkers(prefix: string, queues: string[], count: number): Promise<void> {
  const names = queues.map((q) => `${prefix}:${Buffer.from(q).toString("base64")}`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const list = String(await meter.client("LIST"));
    const ok = names.every((n) => list.split("\n").filter((l) => l.includes(` name=${n} `)).length >= count);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`workers of ${prefix} not connected`);
    await sleep(50);
  }
}

const problems: string[] = [];
/** Child processes alive now: killed if this process ends early. */
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** Items each child's last stage handled in the last run ended, per child (for the spread). */
let lastShares: number[] = [];
/** The CPU milliseconds the children of the last run ended used, from ready to SIGTERM. */
let lastChildCpuMs = 0;
async function endChildren(children: Child[], label: string): Promise<void> {
  for (const c of children) c.proc.kill("SIGTERM");
  lastShares = [];
  lastChildCpuMs = 0;
  for (const c of children) {
    const code = await within(c.exited, 20_000);
    if (code === "timeout") {
      problems.push(
        `${label}: child ${c.proc.pid} did not exit 20 s after SIGTERM (stdout: ${c.out.trim().replace(/\n/g, " | ")}); SIGKILLed`,
      );
      c.proc.kill("SIGKILL");
      await c.exited;
    } else if (code !== 0) problems.push(`${label}: child exited with code ${code}`);
    lastShares.push(Number(/served consumed=(\d+)/.exec(c.out)?.[1] ?? Number.NaN));
    lastChildCpuMs += Number(/cpu=([\d.]+)/.exec(c.out)?.[1] ?? Number.NaN);
    const err = c.err.trim();
    if (err)
      problems.push(`${label}: child ${c.proc.pid} stderr: ${err.slice(0, 300).replace(/\n/g, " | ")}`);
  }
}

// ---------------------------------------------------------------- one run of each kind

interface RunResult {
  ms: number;
  /** Redis CPU seconds over the run. */
  redisCpu: number;
  /** CPU milliseconds of every Node process of the run (feeder over the run, children from ready to SIGTERM). */
  nodeCpuMs: number;
  commands: number;
  cmds: Map<string, number>;
  monitor?: MonitorCount | undefined;
  consumed: number;
  failed: number;
  lost: number;
}

async function runMemory(): Promise<RunResult> {
  consumedHere = 0;
  const f = makeFlow();
  let failed = 0;
  f.on("itemError", () => failed++);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await f.run(source());
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const feederCpuMs = (cpu.user + cpu.system) / 1000;
  const s = f.stats();
  return {
    ms,
    redisCpu: 0,
    nodeCpuMs: feederCpuMs,
    commands: 0,
    cmds: new Map(),
    consumed: s.consumed,
    failed: s.failed,
    lost: N - s.consumed - s.failed,
  };
}

let runNo = 0;
async function runOurs(procs: number, monitor: boolean): Promise<RunResult> {
  const prefix = `bench${Date.now()}r${++runNo}`;
  const label = `ours ${procs}p run ${runNo}`;
  const children = Array.from({ length: procs }, () => spawnChild("ours", prefix));
  try {
    await Promise.all(children.map((c) => c.ready));
    await waitWorkers(prefix, ["bench.fetch", "bench.store"], procs);
    const f = makeFlow();
    f.on("itemError", (e) => problems.push(`${label}: itemError ${e.stage}: ${String(e.error)}`));
    const d = distribute(f, {
      connection: CONNECTION,
      remote: ["fetch", "store"],
      prefix,
      serve: false,
      keepRunSeconds: 120,
    });
    const mon = monitor ? await startMonitor(prefix) : null;
    const before = await readInfo();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outcome = await within(d.run(source()), RUN_TIMEOUT_MS);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const feederCpuMs = (cpu.user + cpu.system) / 1000;
    const after = await readInfo();
    const m = await mon?.stop();
    const s = d.stats();
    if (outcome === "timeout")
      problems.push(
        `${label}: d.run() did not resolve in ${RUN_TIMEOUT_MS / 1000} s (consumed ${s.consumed}, inFlight ${s.inFlight})`,
      );
    const lost = N - s.consumed - s.failed;
    if (lost !== 0 || s.failed !== 0 || s.dropped !== 0)
      problems.push(`${label}: consumed ${s.consumed} failed ${s.failed} dropped ${s.dropped} of ${N}`);
    await endChildren(children, label);
    if ((await within(d.close(), 10_000)) === "timeout") problems.push(`${label}: d.close() hung`);
    return resultOf(ms, feederCpuMs, delta(before, after), m, s.consumed, s.failed);
  } finally {
    for (const c of children)
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await cleanup(prefix);
  }
}

/** One timed run's figures (the children's CPU is the last ones to have exited). */
function resultOf(
  ms: number,
  feederCpuMs: number,
  dd: ReturnType<typeof delta>,
  monitor: RunResult["monitor"],
  consumed: number,
  failed: number,
): RunResult {
  const base = { ms, redisCpu: dd.cpu, nodeCpuMs: feederCpuMs + lastChildCpuMs, commands: dd.total };
  return { ...base, cmds: dd.cmds, monitor, consumed, failed, lost: N - consumed - failed };
}

async function runBull(procs: number, monitor: boolean): Promise<RunResult> {
  const prefix = `bullbench${Date.now()}r${++runNo}`;
  const label = `bullmq ${procs}p run ${runNo}`;
  const connection = { ...CONNECTION, maxRetriesPerRequest: null };
  const children = Array.from({ length: procs }, () => spawnChild("bull", prefix));
  const fetchQ = new Queue("fetch", { connection, prefix });
  try {
    await Promise.all(children.map((c) => c.ready));
    await waitWorkers(prefix, ["fetch", "store"], procs);
    await fetchQ.waitUntilReady();
    const doneKey = `${prefix}:done`;
    const poller = new Redis(CONNECTION);
    await poller.ping();
    const mon = monitor ? await startMonitor(prefix) : null;
    const before = await readInfo();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // The feeder: parse locally, 8 concurrent adds (as the library's sender), then poll the counter.
    const items = source();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < items.length) {
          const x = items[next++]!;
          const p: Parsed = { id: x, url: `https://example.com/item/${x}` };
          await fetchQ.add("item", p, { removeOnComplete: true, removeOnFail: true });
        }
      }),
    );
    let done = 0;
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    while ((done = Number(await poller.get(doneKey))) < N && Date.now() < deadline) await sleep(50);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const feederCpuMs = (cpu.user + cpu.system) / 1000;
    const after = await readInfo();
    const m = await mon?.stop();
    poller.disconnect();
    if (done < N) problems.push(`${label}: only ${done}/${N} done`);
    await endChildren(children, label);
    return resultOf(ms, feederCpuMs, delta(before, after), m, done, 0);
  } finally {
    await fetchQ.close();
    for (const c of children)
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await cleanup(prefix);
  }
}

// ---------------------------------------------------------------- main

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row {
  setup: string;
  procs: string;
  rates: number[];
  commands: number[];
  redisCpu: number[];
  /** Per run, Node CPU µs per item over all processes. */
  nodeCpu: number[];
  /** Per run, the items each child's consumer took. */
  shares: number[][];
  monitor?: MonitorCount | undefined;
  lost: number;
}

interface Config {
  row: Row;
  run(monitor: boolean): Promise<RunResult>;
  monitor: boolean;
}

function config(
  setup: string,
  procs: string,
  run: (monitor: boolean) => Promise<RunResult>,
  monitor: boolean,
): Config {
  return {
    row: { setup, procs, rates: [], commands: [], redisCpu: [], nodeCpu: [], shares: [], lost: 0 },
    run,
    monitor,
  };
}

/**
 * Runs the configurations round-robin (RUNS rounds), so a burst of load from other processes on
 * the machine hits every row alike; then one MONITOR run of each distributed configuration.
 */
async function measureAll(configs: Config[]): Promise<void> {
  // Warm-up, not counted: JIT, tsx's compile cache, BullMQ's scripts loaded into Redis.
  for (const c of configs) if (c.row.procs.endsWith("+ 1") || c.row.procs === "1") await c.run(false);
  for (let i = 0; i < RUNS; i++) {
    for (const c of configs) {
      const r = await c.run(false);
      const row = c.row;
      row.rates.push((N / r.ms) * 1000);
      row.commands.push(r.commands);
      row.redisCpu.push((r.redisCpu * 1e6) / N);
      row.nodeCpu.push((r.nodeCpuMs * 1000) / N);
      row.lost += r.lost;
      if (c.monitor) row.shares.push([...lastShares]);
    }
    console.error(
      `  round ${i + 1}/${RUNS}: ${configs.map((c) => `${c.row.setup} ${c.row.procs} ${c.row.rates.at(-1)!.toFixed(0)}/s`).join("; ")}`,
    );
  }
  for (const c of configs) {
    if (!c.monitor) continue;
    const r = await c.run(true);
    c.row.monitor = r.monitor;
    const m = r.monitor!;
    console.error(
      `  [${c.row.setup} ${c.row.procs}] MONITOR run: INFO delta ${r.commands}, MONITOR client ${m.client} + lua ${m.lua} = ${m.client + m.lua} (${m.foreign} lines not naming the run's keys); client commands per item: ${[
        ...m.byCmd,
      ]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${(v / N).toFixed(2)}`)
        .join(", ")}`,
    );
  }
  for (const c of configs)
    if (c.row.shares.length > 0)
      console.error(
        `  ${c.row.setup} ${c.row.procs}: items consumed per child per run: ${c.row.shares.map((s) => s.join("/")).join("  ")}`,
      );
}

async function main(): Promise<void> {
  if ((await meter.ping()) !== "PONG") throw new Error("Redis not reachable");
  const started = Date.now();
  console.log(environment());
  console.log(
    `Redis ${/redis_version:(\S+)/.exec(await meter.info("server"))![1]}, N = ${N} items, ${RUNS} rounds over every row, round-robin (median), plus 1 warm-up run for the first row of each kind and, for the distributed rows, 1 MONITOR run (not timed); load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  const lua = await luaCheck();
  console.log(lua);
  const configs = [
    config("in memory (flow.run)", "1", () => runMemory(), false),
    ...[1, 2, 3].map((p) => config("flowrhythm/redis", `1 feeder + ${p}`, (m) => runOurs(p, m), true)),
    ...[1, 2, 3].map((p) => config("hand-wired BullMQ", `1 feeder + ${p}`, (m) => runBull(p, m), true)),
  ];
  await measureAll(configs);
  const rows = configs.map((c) => c.row);
  await meter.quit();

  const f = (x: number, d = 0) => x.toFixed(d);
  console.log("");
  console.log(
    "| setup | processes | items/s (median) | min–max | cmds processed/item (INFO, incl. Lua-internal) | round trips/item (MONITOR) | per remote stage | of which BZPOPMIN/item | Lua-internal cmds/item | Redis CPU µs/item | Node CPU µs/item (all procs) | lost |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const m = r.monitor;
    const cpi = median(r.commands) / N;
    console.log(
      `| ${r.setup} | ${r.procs} | ${f(median(r.rates))} | ${f(Math.min(...r.rates))}–${f(Math.max(...r.rates))} | ${r.commands.some((c) => c > 0) ? f(cpi, 1) : "–"} | ${m ? f(m.client / N, 1) : "–"} | ${m ? f(m.client / N / 2, 1) : "–"} | ${m ? f(m.bzpopmin / N, 2) : "–"} | ${m ? f(m.lua / N, 1) : "–"} | ${r.redisCpu.some((c) => c > 0) ? f(median(r.redisCpu)) : "–"} | ${f(median(r.nodeCpu))} | ${r.lost} |`,
    );
  }
  const rate = (setup: string, p: number) =>
    median(rows.find((r) => r.setup === setup && r.procs === `1 feeder + ${p}`)!.rates);
  console.log("");
  console.log(
    `flowrhythm/redis 3-process / 1-process: ${f(rate("flowrhythm/redis", 3) / rate("flowrhythm/redis", 1), 2)}×; 2/1: ${f(rate("flowrhythm/redis", 2) / rate("flowrhythm/redis", 1), 2)}×`,
  );
  console.log(
    `hand-wired BullMQ 3-process / 1-process: ${f(rate("hand-wired BullMQ", 3) / rate("hand-wired BullMQ", 1), 2)}×; 2/1: ${f(rate("hand-wired BullMQ", 2) / rate("hand-wired BullMQ", 1), 2)}×`,
  );
  console.log(
    `ceiling per serving process: ${FETCH_WORKERS} fetch workers × 1 item / ${FETCH_MS} ms = ${(FETCH_WORKERS * 1000) / FETCH_MS} items/s`,
  );
  console.log(`Lua check: ${lua}`);
  console.log(
    "Notes: 'cmds processed' = Δ total_commands_processed − the meter's 1 INFO, over the timed window (feed → run resolved), including idle workers' BZPOPMIN, stalled checks and state/count polling; 'round trips' = commands clients sent (MONITOR lines not from Lua, admin commands such as INFO/CLIENT not shown by MONITOR), one EVALSHA = one round trip.",
  );
  if (problems.length > 0) {
    console.log("\nProblems seen:");
    for (const p of problems) console.log(`- ${p}`);
  } else console.log("\nNo errors, hangs or lost items seen.");
  console.log(
    `total time ${f((Date.now() - started) / 1000)} s; load average at the end ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
}

if (process.argv[2] === "child") {
  // Ends with its parent (a feeder that crashed leaves no servers behind).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(3);
  }, 500).unref();
  const [, , , mode, prefix] = process.argv;
  await (mode === "ours" ? childOurs(prefix!) : childBull(prefix!));
} else {
  await main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
