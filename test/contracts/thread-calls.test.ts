import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { threaded } from "../../src/index.js";
import type { Lane } from "../../src/runtime/stage/call-site.js";
import type { ResourceWorker } from "../../src/runtime/stage/worker-resource.js";
import { ThreadCalls } from "../../src/runtime/threads/thread-calls.js";
import { type CallDef, callSiteContract, laneHarness } from "./call-site.contract.js";

// The suite's functions close over nothing, so each becomes a worker module of its own: its
// source text as the default export, and its setup and close beside it.
const dir = mkdtempSync(join(tmpdir(), "flowrhythm-call-site-"));
let modules = 0;
function moduleOf(def: Pick<CallDef, "fn" | "setup" | "close">): URL {
  const path = join(dir, `m${modules++}.mjs`);
  const part = (f: ((...a: never[]) => unknown) | undefined) =>
    f === undefined ? "undefined" : f.toString();
  writeFileSync(
    path,
    `export default ${def.fn.toString()};\nexport const setup = ${part(def.setup)};\nexport const close = ${part(def.close)};\n`,
  );
  return pathToFileURL(path);
}

/** The harness's stage, as a threaded stage's lanes see it: failures between calls are thrown up. */
const laneStage = (worker: ResourceWorker) => ({
  ...worker.stage,
  threadFailed: (error: unknown) => {
    throw error;
  },
});

const siteOf = (
  def: Pick<CallDef, "fn" | "setup" | "close">,
  pool: ReturnType<typeof laneHarness>["pool"],
  worker?: ResourceWorker,
) =>
  new ThreadCalls(threaded(moduleOf(def)).threads, pool, laneStage(worker ?? laneHarness().worker), {
    threads: 0,
    threadUtilization: null,
  });

callSiteContract("in worker threads (ThreadCalls)", (def, pool) => siteOf(def, pool));

describe("ThreadCalls, beyond the contract", () => {
  afterAll(() => {});

  it("runs each call in another thread, and hands values across as copies", async () => {
    const marks = globalThis as Record<string, unknown>;
    marks.__flowrhythmMainThread = true;
    const h = laneHarness();
    const site = siteOf(
      {
        fn: (item: unknown) => [typeof (globalThis as Record<string, unknown>).__flowrhythmMainThread, item],
      },
      h.pool,
      h.worker,
    );
    const lane = (await site.open(h.worker)) as Lane;
    const sent = { n: 1 };
    const [where, back] = (await lane.call(sent, h.ctx)) as [string, unknown];
    await lane.close(h.calls);
    // The mark is set here and nowhere else: the call ran where it is not.
    expect(where).toBe("undefined");
    expect(back).toEqual(sent);
    expect(back).not.toBe(sent);
    expect(site.values).toBe("cloned");
    delete marks.__flowrhythmMainThread;
  });

  it("reads its threads' count and event-loop utilization on the tick", async () => {
    const h = laneHarness();
    const readings = { threads: 0, threadUtilization: null as number | null };
    const site = new ThreadCalls(
      threaded(
        moduleOf({
          fn: (ms: unknown) => {
            const end = Date.now() + Number(ms);
            while (Date.now() < end) {}
            return ms;
          },
        }),
      ).threads,
      h.pool,
      laneStage(h.worker),
      readings,
    );
    const lane = (await site.open(h.worker)) as Lane;
    site.tick();
    await lane.call(150, h.ctx);
    site.tick();
    expect(readings.threads).toBe(1);
    expect(readings.threadUtilization).toBeGreaterThan(0.5);
    await lane.close(h.calls);
    site.tick();
    expect(readings.threads).toBe(0);
    expect(readings.threadUtilization).toBeNull();
  });
});
