import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { threadId } from "node:worker_threads";
import { describe, expect, it, vi } from "vitest";
import {
  batch,
  fanOut,
  FixedScaling,
  Flow,
  FlowConfigError,
  type FlowErrorEvent,
  type TransformerError,
  router,
  threaded,
  transfer,
} from "../../src/index.js";
import type { Job } from "../fixtures/threads/modes.worker.js";
import { CHANNEL, collect, MODES } from "./thread-support.js";

const CPU = new URL("../fixtures/threads/cpu.worker.ts", import.meta.url);
const modes = (o: Parameters<typeof threaded>[1] = {}) =>
  threaded<typeof import("../fixtures/threads/modes.worker.js")>(MODES, o);

describe("threaded(): a stage whose calls run in worker threads", () => {
  it("runs each call in another thread with the item's id, run id, attempt and stage, and its own worker.data", async () => {
    const seen: { id: number; runId: string }[] = [];
    const f = new Flow<Job>()
      .setProducer([1, 2, 3].map((n) => ({ n, mode: "ctx" })))
      .addTransformer(
        (j: Job, ctx) => {
          seen.push({ id: ctx.id, runId: ctx.runId });
          return j;
        },
        { name: "before" },
      )
      .addTransformer(modes(), { name: "t", scalingStrategy: new FixedScaling({ workers: 1 }) });
    const { out, errors, setups, closes } = await collect(f);
    expect(errors).toEqual([]);
    const rows = out as {
      id: number;
      runId: string;
      attempt: number;
      stage: string;
      thread: number;
      calls: number;
      aborted: boolean;
    }[];
    // The item's identity crosses: the ids and run id the stage before saw.
    expect(rows.map((r) => ({ id: r.id, runId: r.runId }))).toEqual(seen);
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(rows.every((r) => r.attempt === 1 && r.stage === "t" && !r.aborted)).toBe(true);
    expect(rows.every((r) => r.thread !== threadId)).toBe(true);
    // One worker, one thread: its data is kept across calls.
    expect(rows.map((r) => r.calls)).toEqual([1, 2, 3]);
    expect(setups).toEqual([`setup ${rows[0]!.thread}`]);
    expect(closes).toEqual([`close ${rows[0]!.thread}`]);
  });

  it("hands Skip and Last back as outcomes, and keeps an error's name, own properties and cause", async () => {
    const f = new Flow<Job>()
      .setProducer([
        { n: 1 },
        { n: 2, mode: "skip" },
        { n: 3, mode: "throw" },
        { n: 4, mode: "last" },
        { n: 5 },
      ])
      .addTransformer(modes(), { name: "t", scalingStrategy: new FixedScaling({ workers: 1 }) });
    const skipped: number[] = [];
    f.on("skip", (e) => skipped.push(e.id));
    const { out, errors } = await collect(f);
    expect(out).toEqual([2, 4]);
    expect(skipped).toEqual([2]);
    expect(errors).toHaveLength(1);
    const e = errors[0]!.error as Error & { status: number };
    expect(e.name).toBe("HttpError");
    expect(e.message).toBe("boom 3");
    expect(e.status).toBe(503);
    expect((e.cause as Error).name).toBe("RangeError");
    // Item 5 was cut off by Last: dropped, not lost.
    expect(f.stats().dropped).toBe(1);
  });

  it("retries an item on a fresh thread after a crash (process.exit), and reports the crashed thread's close as not run", async () => {
    const f = new Flow<Job>()
      .setProducer([{ n: 1 }, { n: 2, mode: "exitOnce" }, { n: 3 }])
      .addTransformer(modes(), {
        name: "t",
        scalingStrategy: new FixedScaling({ workers: 1 }),
        retry: { attempts: 2, backoff: { baseMs: 1, maxMs: 1 } },
      });
    const { out, errors, setups, closes, faults } = await collect(f);
    expect(errors).toEqual([]);
    expect(out).toEqual([2, 2, 6]);
    // Two threads each ran setup; the one that exited could not run close.
    expect(setups).toHaveLength(2);
    expect(closes).toHaveLength(1);
    expect(f.stageStats("t")!.unclosedResources).toBe(1);
    expect(faults.some((m) => /its thread ended before close\(\) could run/.test(m))).toBe(true);
  });

  it("fails an item whose thread exits or runs out of memory, names the stage, and goes on with a fresh thread", async () => {
    const f = new Flow<Job>()
      .setProducer([{ n: 1, mode: "exit" }, { n: 2 }, { n: 3, mode: "oom" }, { n: 4 }])
      .addTransformer(
        modes({ resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } }),
        {
          name: "t",
          scalingStrategy: new FixedScaling({ workers: 1 }),
        },
      );
    const { out, errors } = await collect(f);
    expect(out).toEqual([4, 8]);
    expect(errors.map((e) => e.item)).toEqual([
      { n: 1, mode: "exit" },
      { n: 3, mode: "oom" },
    ]);
    expect(String((errors[0]!.error as Error).message)).toMatch(
      /stage "t": its worker thread exited with code: 3/,
    );
    expect(String((errors[1]!.error as Error).message)).toMatch(
      /stage "t": its worker thread ran out of memory/,
    );
    const s = f.stats();
    expect(s.itemsIn).toBe(4);
    expect(s.consumed + s.failed).toBe(4);
  });

  it("ends a thread stuck in synchronous code at timeoutMs, fails the item, and replaces the thread", async () => {
    const f = new Flow<Job>()
      .setProducer([{ n: 1 }, { n: 2, mode: "spin" }, { n: 3 }])
      .addTransformer(modes(), {
        name: "t",
        timeoutMs: 1000,
        scalingStrategy: new FixedScaling({ workers: 1 }),
      });
    const { out, errors, setups, closes } = await collect(f);
    expect(out).toEqual([2, 6]);
    expect(errors).toHaveLength(1);
    expect((errors[0]!.error as Error).name).toBe("TimeoutError");
    expect(setups).toHaveLength(2);
    expect(closes).toHaveLength(1);
    expect(f.stageStats("t")!.unclosedResources).toBe(1);
  });

  it("fails an item that cannot cross into a thread, or whose result cannot come back, naming the stage", async () => {
    const f = new Flow<unknown>()
      .setProducer([{ n: 1 }, { n: 2, fn: () => 1 }, { n: 3, mode: "fnResult" }, { n: 4 }])
      .addTransformer(modes(), { name: "t", scalingStrategy: new FixedScaling({ workers: 1 }) });
    const { out, errors } = await collect(f);
    expect(out).toEqual([2, 8]);
    expect(errors.map((e) => (e.error as Error).name)).toEqual(["DataCloneError", "DataCloneError"]);
    expect((errors[0]!.error as Error).message).toMatch(
      /stage "t": the item cannot be sent to a worker thread/,
    );
    expect((errors[1]!.error as Error).message).toMatch(
      /stage "t": its worker thread died sending the result back/,
    );
    expect(f.stats().failed).toBe(2);
  });

  it("survives a thread that dies between calls (leftover async work throws): logged, replaced, nothing lost", async () => {
    const f = new Flow<Job>()
      .setProducer(
        (async function* () {
          yield { n: 1, mode: "throwLater" };
          // Time for the thread's death to reach the main thread before the next call: 300 ms was
          // too short twice with the machine loaded (valgrind runs beside the suite).
          await new Promise((r) => setTimeout(r, 1000));
          yield { n: 2 };
        })(),
      )
      .addTransformer(modes(), { name: "t", scalingStrategy: new FixedScaling({ workers: 1 }) });
    const { out, errors, faults, setups } = await collect(f);
    expect(errors).toEqual([]);
    expect(out).toEqual([1, 4]);
    expect(
      faults.filter((m) => /a worker thread failed between calls/.test(m)),
      faults.join("\n---\n"),
    ).toHaveLength(1);
    expect(setups).toHaveLength(2);
    expect(f.stageStats("t")!.unclosedResources).toBe(1);
  });

  it("takes a look-alike of Last's class for a plain result, and transfer() in the main thread for its value", async () => {
    const f = new Flow<Job>()
      .setProducer([{ n: 1, mode: "fakeLast" }, { n: 2 }])
      .addTransformer(modes(), { name: "t", scalingStrategy: new FixedScaling({ workers: 1 }) })
      .addTransformer((x: unknown) => transfer(x, []), { name: "main" });
    const { out } = await collect(f);
    expect(out).toEqual([{ value: 1 }, 4]);
    expect(f.stats().dropped).toBe(0);
  });

  it("gives its threads only the flags a thread takes, and fails items with a FlowConfigError for flags Node refuses", async () => {
    const bad = new Flow<Job>()
      .setProducer([{ n: 1 }])
      .addTransformer(modes({ execArgv: ["--import", "tsx", "--max-old-space-size=200"] }), { name: "t" });
    const { errors } = await collect(bad);
    expect(errors).toHaveLength(1);
    const cause = (errors[0]!.error as Error).cause as FlowConfigError;
    expect(cause).toBeInstanceOf(FlowConfigError);
    expect(cause.option).toBe("execArgv");
    expect(cause.message).toMatch(/could not start with execArgv = .*--max-old-space-size=200/);
    // What the process itself runs with is filtered: V8 and process flags stay behind.
    const saved = process.execArgv;
    Object.defineProperty(process, "execArgv", {
      value: [
        "--max-old-space-size=300",
        "--expose-gc",
        "--import",
        "tsx",
        "--enable-source-maps",
        "-r",
        "x.cjs",
      ],
      configurable: true,
    });
    try {
      expect(modes().threads.execArgv).toEqual(["--import", "tsx", "--enable-source-maps", "-r", "x.cjs"]);
    } finally {
      Object.defineProperty(process, "execArgv", { value: saved, configurable: true });
    }
  });

  it("moves buffers both ways when asked: the sender's copy is emptied", async () => {
    const sent = new ArrayBuffer(1024);
    const f = new Flow<Job>()
      .setProducer([{ n: 7, mode: "transfer", buf: sent }])
      .addTransformer(modes({ transfer: (job) => (job.buf ? [job.buf] : []) }), { name: "t" });
    const { out, errors } = await collect(f);
    expect(errors).toEqual([]);
    expect(sent.byteLength).toBe(0); // moved, not copied
    const r = out[0] as { n: number; buf: ArrayBuffer; received: number };
    expect(r.received).toBe(1024);
    expect(new Uint8Array(r.buf)[0]).toBe(7);
  });

  it("keeps order where ordered: true asks, in a chain that mixes threaded and plain stages", async () => {
    const items = Array.from({ length: 40 }, (_, n) => ({ n, mode: "sleep", ms: (n * 7) % 13 }));
    const f = new Flow<Job>()
      .setProducer(items)
      .addTransformer((j: Job) => ({ ...j, n: j.n + 1000 }), { name: "plain" })
      .addTransformer(modes(), {
        name: "t",
        ordered: true,
        scalingStrategy: new FixedScaling({ workers: 3 }),
      })
      .addTransformer((n: unknown) => Number(n) - 1000, { name: "after" });
    const { out, errors } = await collect(f);
    expect(errors).toEqual([]);
    expect(out).toEqual(items.map((j) => j.n));
  });

  it("goes wherever a function goes: a router arm, a fan-out branch, a batch function, the consumer", async () => {
    const batchUrl = new URL("../fixtures/threads/batch.worker.ts", import.meta.url);
    const f = new Flow<Job>()
      .setProducer(Array.from({ length: 12 }, (_, n) => ({ n })))
      .addTransformer(
        router((j: Job) => (j.n % 2 ? "odd" : "even"), { odd: modes(), even: (j: Job) => j.n * 2 }),
        {
          name: "route",
        },
      )
      .addTransformer(
        fanOut(
          [threaded<typeof import("../fixtures/threads/cpu.worker.js")>(CPU), (n: number) => n],
          ([digest, n]) => ({
            n,
            digest,
          }),
        ),
        { name: "fan" },
      )
      .addTransformer((r: { n: number }) => r.n, { name: "unwrap" })
      .addTransformer(
        batch(threaded<{ default: (xs: number[]) => number[] }>(batchUrl), { size: 5, flushMs: 20 }),
        {
          name: "batch",
        },
      );
    const g = new Flow<number>().setProducer([1, 2, 3]).setConsumer(threaded(MODES), { name: "sink" });
    const { out, errors } = await collect(f);
    expect(errors).toEqual([]);
    expect(out.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 12 }, (_, n) => n * 20));
    await g.run();
    expect(g.stats().consumed).toBe(3);
  });

  it("closes the threads a scale-down retires, in their own threads, while the run goes on", async () => {
    // Three threads, then one once 20 items are done: two threads retire mid-run.
    let done = 0;
    const shrinking = {
      minWorkers: 1,
      maxWorkers: 3,
      initialWorkers: () => 3,
      onEnqueue: () => 0,
      onDequeue: () => 0,
      onTick: (s: { activeWorkers: number }) => (done >= 20 && s.activeWorkers > 1 ? -1 : 0),
    };
    const f = new Flow<Job>()
      .setProducer(Array.from({ length: 60 }, (_, n) => ({ n, mode: "sleep", ms: 10 })))
      .addTransformer(modes(), { name: "t", scalingStrategy: shrinking })
      .addTransformer((n: unknown) => {
        done++;
        return n;
      });
    const closedWhile: number[] = [];
    const channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = (e) => {
      if (String((e as MessageEvent).data).startsWith("close")) closedWhile.push(done);
    };
    const { errors, setups, closes } = await collect(f);
    channel.close();
    expect(errors).toEqual([]);
    expect(f.stats().consumed).toBe(60);
    expect(setups).toHaveLength(3);
    expect(closes).toHaveLength(3);
    // Two closed before the last item was done: retired by the scale-down, not by the end.
    expect(closedWhile.filter((d) => d < 60).length).toBeGreaterThanOrEqual(2);
    expect(f.stageStats("t")!.unclosedResources).toBe(0);
  });

  it("stop() ends a thread stuck in synchronous code promptly; drain() lets a call in flight finish", async () => {
    const stuck = new Flow<Job>({ closeTimeoutMs: 200 })
      .setProducer([{ n: 1, mode: "spin" }])
      .addTransformer(modes(), { name: "t" });
    const run = collect(stuck);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    await stuck.stop();
    expect(performance.now() - t0).toBeLessThan(2000);
    const { out } = await run;
    expect(out).toEqual([]);
    const s = stuck.stats();
    expect(s.itemsIn).toBe(1);
    expect(s.dropped + s.failed).toBe(1);

    const slow = new Flow<Job>()
      .setProducer([{ n: 5, mode: "sleep", ms: 400 }])
      .addTransformer(modes(), { name: "t" });
    const r2 = collect(slow);
    await new Promise((r) => setTimeout(r, 200));
    await slow.drain();
    expect((await r2).out).toEqual([5]);
  });

  it("uses the strategy the stage gives; with none, AdaptiveScaling up to maxThreads, which all threaded stages share", async () => {
    const items = Array.from({ length: 60 }, (_, n) => ({ n, mode: "sleep", ms: 30 }));
    const f = new Flow<Job>({ maxThreads: 3 })
      .setProducer(items)
      .addTransformer(modes(), { name: "a" })
      .addTransformer((n: unknown) => ({ n: Number(n), mode: "sleep", ms: 30 }), { name: "plain" })
      .addTransformer(modes(), { name: "b" });
    let peak = 0;
    let peakA = 0;
    f.on("scale", () => {
      const a = f.stageStats("a")!.activeWorkers;
      const b = f.stageStats("b")!.activeWorkers;
      peak = Math.max(peak, a + b);
      peakA = Math.max(peakA, a);
    });
    const { out, errors } = await collect(f);
    expect(errors).toEqual([]);
    expect(out).toHaveLength(60);
    expect(peakA).toBeGreaterThan(1); // not one worker: the threaded default scales
    expect(peak).toBeLessThanOrEqual(3);
  });

  it("refuses a maxThreads below one per threaded stage, and a module it cannot find, at the call", async () => {
    const f = new Flow<Job>({ maxThreads: 1 }).addTransformer(modes()).addTransformer(modes());
    await expect(f.run([])).rejects.toThrow(FlowConfigError);
    await expect(f.run([])).rejects.toThrow(
      /maxThreads" = 1: expected at least one thread per threaded stage \(this flow has 2/,
    );
    expect(() => threaded("./relative.worker.js")).toThrow(
      /moduleUrl = "\.\/relative\.worker\.js": expected a file: URL or an absolute path/,
    );
    expect(() => threaded(new URL("./missing.worker.js", import.meta.url))).toThrow(/no file at/);
    expect(() => threaded(new URL(".", import.meta.url))).toThrow(/is not a file/);
    expect(() => threaded("file://host/x.mjs")).toThrow(FlowConfigError);
    expect(threaded(MODES.href.replace(/^file:/, "FILE:")).threads.module).toBe(MODES.href);
    expect(() => threaded(MODES, { transfer: 3 } as never)).toThrow(/transfer/);
    expect(() => threaded(MODES, { resourceLimits: { maxOldGenerationSizeMb: -1 } })).toThrow(
      /maxOldGenerationSizeMb/,
    );
  });
});

describe("threaded(): a module the threads cannot use", () => {
  const failing = async (url: URL, items = 2) => {
    const f = new Flow<number>()
      .setProducer(Array.from({ length: items }, (_, i) => i))
      .addTransformer(threaded(url), { name: "t" });
    const events: FlowErrorEvent[] = [];
    f.setErrorHandler((e) => {
      events.push(e);
    });
    const logged: string[] = [];
    const log = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
      logged.push(a.map(String).join(" "));
    });
    try {
      for await (const _ of f.stream()) {
      }
    } finally {
      log.mockRestore();
    }
    // A stage none of whose workers can start once made slow start divide 0 by 0 (reported as a
    // strategy fault, "returned NaN").
    expect(logged.filter((m) => /NaN/.test(m))).toEqual([]);
    return { f, errors: events.filter((e): e is TransformerError => "stage" in e && "attempt" in e) };
  };

  it("fails every item with a FlowConfigError naming the module and what is wrong with it", async () => {
    const { f, errors } = await failing(new URL("../fixtures/threads/no-default.worker.ts", import.meta.url));
    expect(errors).toHaveLength(2);
    const cause = (errors[0]!.error as Error).cause;
    expect(cause).toBeInstanceOf(FlowConfigError);
    expect((cause as Error).message).toMatch(
      /stage "t": threaded: the worker module .*no-default\.worker\.ts has no default export function/,
    );
    expect(f.stats().failed).toBe(2);
  });

  it("fails a whole backlog with the setup error, its strategy undisturbed by a stage with no worker", async () => {
    const { f, errors } = await failing(
      new URL("../fixtures/threads/broken-setup.worker.ts", import.meta.url),
      300,
    );
    expect(errors).toHaveLength(300);
    expect(f.stats().failed).toBe(300);
  });

  it("reports a module that fails to load, and a setup() that throws, as the stage's setup failure", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { pathToFileURL } = await import("node:url");
    const dir = mkdtempSync(join(tmpdir(), "flowrhythm-threads-"));
    writeFileSync(join(dir, "bad.worker.mjs"), "export default (x) => x +;\n");
    const bad = await failing(pathToFileURL(join(dir, "bad.worker.mjs")));
    expect(bad.errors).toHaveLength(2);
    expect(((bad.errors[0]!.error as Error).cause as Error).message).toMatch(
      /could not be loaded: .*Unexpected/,
    );
    const setup = await failing(new URL("../fixtures/threads/broken-setup.worker.ts", import.meta.url));
    expect(setup.errors).toHaveLength(2);
    expect(((setup.errors[0]!.error as Error).cause as Error).message).toBe("no database here");
  });
});

describe("threaded(): nothing outlives the run", () => {
  const child = (hang: string) =>
    new Promise<{ code: number | null; out: string; ms: number }>((resolve) => {
      const t0 = performance.now();
      execFile(
        process.execPath,
        ["--import", "tsx", fileURLToPath(new URL("../fixtures/threads/hang-child.ts", import.meta.url))],
        { timeout: 20_000, env: { ...process.env, FLOWRHYTHM_HANG: hang } },
        (error, stdout, stderr) =>
          resolve({
            code: error ? ((error.code as number) ?? 1) : 0,
            out: stdout + stderr,
            ms: performance.now() - t0,
          }),
      );
    });

  it.each([
    ["setup", { consumed: 0, dropped: 3, unclosed: 0 }],
    ["close", { consumed: 3, dropped: 0, unclosed: 1 }],
  ])(
    "a %s that never settles: the run ends, its thread is ended, and the process exits by itself",
    async (hang, expected) => {
      const { code, out } = await child(hang);
      expect(code).toBe(0);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      expect(JSON.parse(line!)).toEqual({ itemsIn: 3, failed: 0, inFlight: 0, ...expected });
    },
    30_000,
  );
});
