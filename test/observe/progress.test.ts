import { execFile } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FixedScaling, Flow, FlowConfigError, type FlowStats, reportProgress } from "../../src/index.js";
import { textWidth } from "../../src/internal/terminal-text.js";
import { formatDuration, progressFrame, progressLine } from "../../src/observe/progress-format.js";
import { flowStats, range, stageStats } from "../helpers.js";

/** A stream that keeps what is written; `isTTY`, `columns`, `rows` as a terminal would set them. */
class FakeStream extends EventEmitter {
  chunks: string[] = [];
  constructor(
    readonly isTTY = false,
    readonly columns?: number,
    readonly rows?: number,
  ) {
    super();
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  get text(): string {
    return this.chunks.join("");
  }
}

// ESC, CSI and every other control character but the newline between lines.
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

const HOSTILE = [
  "fetch",
  "a-stage-name-that-is-much-longer-than-any-terminal-column-would-ever-allow-for-a-name",
  "配送センター配送センター配送センター配送センター配送センター",
  "emoji 🚀🚀🚀👩‍👩‍👧 and combining e\u0301e\u0301",
  "red\x1b[31m\x1b[2J\x1b]0;title\x07 clear",
  "two\nlines\rand\ttab",
  "\u202eright-to-left override",
];

/** A running flow "shop" of one stage per name, 460 of 1,000 items in, `overrides` on top. */
function shopStats(overrides: Partial<FlowStats> = {}, names: readonly string[] = ["fetch"]): FlowStats {
  return flowStats({
    name: "shop",
    now: 12_300,
    itemsIn: 460,
    total: 1000,
    etaMs: 15_000,
    consumed: 440,
    failed: 7,
    dropped: 3,
    inFlight: 10,
    stages: names.map((stageName, i) =>
      stageStats({
        stageName,
        busyWorkers: 3,
        totalWorkers: 4,
        peakWorkers: 6,
        queueLength: i,
        queueCapacity: 16,
        throughput: 36.62,
      }),
    ),
    ...overrides,
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("progress frame and line", () => {
  it("keeps every line within the columns, whatever the stage names hold", () => {
    for (const columns of [20, 40, 79, 80, 132]) {
      const stats = shopStats({}, HOSTILE);
      const frame = progressFrame(stats, { columns });
      const line = progressLine(stats, columns);
      for (const l of [...frame, line]) {
        expect(textWidth(l), `${columns}: ${JSON.stringify(l)}`).toBeLessThanOrEqual(columns);
        expect(l).not.toMatch(CONTROL);
        expect(l).not.toContain("\n");
      }
    }
  });

  it("shows escape sequences in names neutralised, not applied", () => {
    const frame = progressFrame(shopStats({}, ["red\x1b[31m\x1b[2J clear", "two\nlines"]), {
      columns: 80,
    }).join("\n");
    expect(frame).toContain("red clear");
    expect(frame).toContain("two?lines");
  });

  it("shows done/total, percent and ETA when the total is known", () => {
    const frame = progressFrame(shopStats(), { columns: 80 });
    expect(frame[0]).toBe("shop  running  elapsed 12.3s");
    expect(frame[1]).toMatch(/^\[#+-+\] {2}450\/1000 {2}45% {2}ETA 15\.0s {2}36\.6\/s$/);
    expect(frame[2]).toBe("failed 7  dropped 3");
    expect(frame[3]).toMatch(/^stage\s+busy\/workers\s+peak\s+queue\s+items\/s$/);
    expect(frame[4]).toMatch(/^fetch\s+3\/4\s+6\s+0\/16\s+36\.6$/);
    expect(frame[3]!.length).toBe(frame[4]!.length);
  });

  it("shows what is done and the rate when the total is not known", () => {
    const frame = progressFrame(shopStats({ total: null, etaMs: null, failed: 0, dropped: 0 }), {
      columns: 80,
    });
    // Done counts every outcome: 440 consumed, with no failures or drops in this snapshot.
    expect(frame[1]).toBe("440 done  35.8/s");
    expect(frame.join("\n")).not.toMatch(/ETA|%/);
    expect(progressLine(shopStats({ total: null, etaMs: null }), 80)).toMatch(
      /^\[shop\] 12\.3s 450 done 36\.6\/s failed 7 dropped 3 \| fetch 3\/4 q0 36\.6\/s$/,
    );
  });

  it("leaves the ETA out of the last frame, and reads a snapshot without the newer fields", () => {
    const final = progressFrame(shopStats({ state: "drained", etaMs: 0 }), { columns: 80 }, true);
    expect(final[1]).not.toContain("ETA");
    const old = shopStats();
    for (const key of ["name", "total", "etaMs"] as const) delete (old as Partial<FlowStats>)[key];
    const frame = progressFrame(old, { columns: 80 });
    expect(frame[0]).toMatch(/^flow {2}running/);
    expect(frame[1]).toMatch(/^450 done/);
  });

  it("fits a terminal's height: stages cut off are counted, never scrolled", () => {
    const names = Array.from({ length: 30 }, (_, i) => `stage-${i}`);
    const frame = progressFrame(shopStats({}, names), { columns: 80, rows: 12 });
    expect(frame).toHaveLength(11);
    expect(frame.at(-1)).toBe("… 24 more stages");
    expect(progressFrame(shopStats({}, names), { columns: 80 })).toHaveLength(34);
  });

  it("keeps the most pressed stages in a line that cannot hold them all", () => {
    const stats = shopStats({ failed: 0, dropped: 0 }, ["one", "two", "three", "four", "five", "six"]);
    const stages = stats.stages.map((s) => ({ ...s, queueLength: s.stageName === "five" ? 16 : 0 }));
    const line = progressLine({ ...stats, stages }, 80);
    expect(line).toContain("| five 3/4 q16");
    expect(line).toMatch(/\| \+\d more$/);
    expect(textWidth(line)).toBeLessThanOrEqual(80);
  });

  it("formats durations for people", () => {
    expect([400, 12_340, 245_000, 7_620_000, -1].map(formatDuration)).toEqual([
      "0.4s",
      "12.3s",
      "4m05s",
      "2h07m",
      "?",
    ]);
  });
});

/** A flow whose one stage holds every item until `release()`: its stats are still while a test looks. */
function gatedFlow(n = 20) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const f = new Flow({ name: "gated" })
    .addTransformer(
      async (x: number, ctx) => {
        await new Promise<void>((resolve) => {
          const onAbort = (): void => resolve();
          ctx.signal.addEventListener("abort", onAbort, { once: true });
          void gate.then(() => {
            ctx.signal.removeEventListener("abort", onAbort);
            resolve();
          });
        });
        return x;
      },
      { name: "work", scalingStrategy: new FixedScaling({ workers: 2 }) },
    )
    .setConsumer(() => {});
  const run = () => f.run(Array.from({ length: n }, (_, i) => i));
  return { f, run, release };
}

describe("reportProgress", () => {
  it("redraws in place on a terminal: each frame moves up over the last one", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stream = new FakeStream(true, 80, 24);
    const { f, run, release } = gatedFlow();
    reportProgress(f, { stream });
    const done = run();
    vi.advanceTimersByTime(250);
    expect(stream.chunks).toHaveLength(1);
    const first = stream.chunks[0]!;
    expect(first.startsWith("\r\x1b[2K")).toBe(true);
    const lines = first.split("\n").length - 1;
    vi.advanceTimersByTime(250);
    expect(stream.chunks[1]!.startsWith(`\x1b[${lines}A\r\x1b[2K`)).toBe(true);
    expect(stream.chunks[1]).toContain("0/20  0%");
    release();
    await done;
    const last = stream.chunks.at(-1)!;
    expect(last).toContain("gated  drained");
    expect(last).toContain("20/20  100%");
    expect(last.endsWith("\x1b[J")).toBe(true);
  });

  it("prints plain lines, without escape codes, when the stream is not a terminal", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stream = new FakeStream(false);
    const { f, run, release } = gatedFlow();
    reportProgress(f, { stream, intervalMs: 1000 });
    const done = run();
    vi.advanceTimersByTime(4_999);
    expect(stream.chunks).toHaveLength(4);
    release();
    await done;
    expect(stream.chunks).toHaveLength(5);
    expect(stream.chunks.at(-1)).toMatch(/^\[gated\] drained \S+ 20\/20 100% .*\n$/);
    expect(stream.text).not.toContain("\x1b");
    for (const line of stream.text.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(80);
  });

  it("prints a line every 5 s by default when not on a terminal, and nothing before the flow runs", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stream = new FakeStream(false);
    const { f } = gatedFlow();
    const progress = reportProgress(f, { stream });
    vi.advanceTimersByTime(60_000);
    expect(stream.chunks).toEqual([]);
    progress.stop();
  });

  it("follows the mode asked for rather than the stream", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const tty = new FakeStream(true, 80);
    const plain = new FakeStream(false);
    const { f, run, release } = gatedFlow();
    reportProgress(f, { stream: tty, mode: "lines", intervalMs: 100 });
    reportProgress(f, { stream: plain, mode: "tty", intervalMs: 100 });
    const done = run();
    vi.advanceTimersByTime(100);
    release();
    await done;
    expect(tty.text).not.toContain("\x1b");
    expect(plain.text).toContain("\x1b[2K");
  });

  it("stops by itself when the flow drains: a last frame, then no more writes and no listeners", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stream = new FakeStream(true, 80);
    const { f, run, release } = gatedFlow();
    reportProgress(f, { stream });
    const done = run();
    release();
    await done;
    expect(stream.chunks).toHaveLength(1);
    expect(stream.text).toContain("drained");
    vi.advanceTimersByTime(10_000);
    expect(stream.chunks).toHaveLength(1);
    expect(f.listenerCount("drained")).toBe(0);
    expect(f.listenerCount("stopped")).toBe(0);
    expect(stream.listenerCount("error")).toBe(0);
  });

  it("stops by itself when the flow is stopped", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stream = new FakeStream(false);
    const { f, run } = gatedFlow();
    reportProgress(f, { stream });
    const done = run();
    // Let the run begin: its items are then in the stage, not still being taken.
    await new Promise((resolve) => setImmediate(resolve));
    await f.stop();
    await done;
    expect(stream.chunks).toHaveLength(1);
    expect(stream.text).toMatch(/^\[gated\] stopped /);
    vi.advanceTimersByTime(60_000);
    expect(stream.chunks).toHaveLength(1);
  });

  it("writes nothing at all when silent", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stream = new FakeStream(true, 80);
    const { f, run, release } = gatedFlow();
    const progress = reportProgress(f, { stream, mode: "silent" });
    const done = run();
    vi.advanceTimersByTime(10_000);
    release();
    await done;
    progress.stop();
    expect(stream.chunks).toEqual([]);
    expect(f.listenerCount("drained")).toBe(0);
  });

  it("stops drawing when asked, and again is harmless; `using` stops it too", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const stream = new FakeStream(true, 80);
    const { f, run, release } = gatedFlow();
    const done = run();
    {
      using _progress = reportProgress(f, { stream });
      vi.advanceTimersByTime(250);
    }
    const progress = reportProgress(f, { stream });
    progress.stop();
    progress.stop();
    vi.advanceTimersByTime(10_000);
    release();
    await done;
    expect(stream.chunks).toHaveLength(1);
  });

  it("stops quietly, without touching the flow, when the stream fails", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const throwing = new FakeStream(true, 80);
    throwing.write = () => {
      throw new Error("EPIPE");
    };
    const erroring = new FakeStream(false);
    const { f, run, release } = gatedFlow();
    reportProgress(f, { stream: throwing });
    reportProgress(f, { stream: erroring, intervalMs: 100 });
    const done = run();
    vi.advanceTimersByTime(250);
    erroring.emit("error", new Error("EPIPE"));
    expect(erroring.listenerCount("error")).toBe(0);
    const written = erroring.chunks.length;
    vi.advanceTimersByTime(1_000);
    release();
    await done;
    expect(erroring.chunks).toHaveLength(written);
    expect(f.stats()).toMatchObject({ state: "drained", consumed: 20, listenerErrors: 0 });
  });

  it("an async write that rejects stops it; the process goes on (found by a trial: it crashed)", async () => {
    let writes = 0;
    const rejecting = {
      write: () => {
        writes++;
        return Promise.reject(new Error("disk full"));
      },
    };
    const f = new Flow<number>().setConsumer(async () => {
      await new Promise((r) => setTimeout(r, 2));
    });
    reportProgress(f, { stream: rejecting, mode: "lines", intervalMs: 10 });
    await f.run(range(30));
    await new Promise((r) => setTimeout(r, 30));
    expect(writes).toBe(1); // the first write's rejection stopped it
    expect(f.stats().consumed).toBe(30);
  });

  it("refuses what is not a flow, and reads a stream whose isTTY throws as no terminal", () => {
    for (const bad of [null, {}, "flow"]) {
      let error: unknown;
      try {
        reportProgress(bad as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FlowConfigError);
      expect((error as FlowConfigError).option).toBe("flow");
    }
    const chunks: string[] = [];
    const odd = {
      get isTTY(): boolean {
        throw new Error("no");
      },
      write: (t: string) => void chunks.push(t),
    };
    const h = reportProgress(new Flow(), { stream: odd });
    h.stop();
    expect(chunks).toEqual([]);
  });

  it("counts a flatMap's children in done and total, so the bar moves as they finish (a trial saw 0 % for most of the run)", () => {
    const line = progressLine(
      flowStats({
        name: "fm",
        now: 1000,
        itemsIn: 10,
        total: 10,
        children: 40,
        consumed: 20,
        expanded: 5,
        inFlight: 25,
        etaMs: 1000,
      }),
      80,
    );
    expect(line).toMatch(/ 25\/50 50% /);
  });

  it("shares one 'error' listener among the reporters of a stream (12 on stderr warned of a leak)", () => {
    const stream = new FakeStream(false);
    const handles = Array.from({ length: 12 }, () => reportProgress(new Flow(), { stream }));
    expect(stream.listenerCount("error")).toBe(1);
    for (const h of handles) h.stop();
    expect(stream.listenerCount("error")).toBe(0);
  });

  it("never holds the process open", async () => {
    const child = fileURLToPath(new URL("../../src/observe/progress.ts", import.meta.url));
    const script = `
      import { Flow } from ${JSON.stringify(fileURLToPath(new URL("../../src/index.ts", import.meta.url)))};
      import { reportProgress } from ${JSON.stringify(child)};
      reportProgress(new Flow().addTransformer((x) => x), { mode: "lines", intervalMs: 10 });
    `;
    const code = await new Promise<number | null>((resolve) => {
      const p = execFile(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script],
        { timeout: 15_000 },
        (error) => resolve(error ? (p.exitCode ?? -1) : 0),
      );
    });
    expect(code).toBe(0);
  });

  it.each([
    [{ mode: "fancy" }, "mode", /option "mode" = "fancy": expected "auto", "tty", "lines" or "silent"/],
    [{ intervalMs: 0 }, "intervalMs", /option "intervalMs" = 0: expected a number of milliseconds ≥ 10/],
    [{ columns: 5 }, "columns", /option "columns" = 5: expected a whole number from 20 to 1000/],
    [{ columns: 80.5 }, "columns", /option "columns" = 80\.5/],
    [{ stream: {} }, "stream", /option "stream" = .*: expected a writable stream/],
    [{ stream: "stderr" }, "stream", /option "stream" = "stderr"/],
    [{ colour: true }, "colour", /unknown option "colour"/],
    ["tty", "options", /options = "tty": expected an options object/],
  ])("refuses %j, naming the option", (options, option, message) => {
    const f = new Flow().addTransformer((x: number) => x);
    const call = () => reportProgress(f, options as never);
    expect(call).toThrow(FlowConfigError);
    expect(call).toThrow(message);
    expect(call).toThrow(/^reportProgress: /);
    try {
      call();
    } catch (e) {
      expect((e as FlowConfigError).option).toBe(option);
    }
    expect(f.listenerCount("drained")).toBe(0);
  });
});
