import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FixedScaling,
  Flow,
  type FlowErrorEvent,
  type StageContext,
  threaded,
  VirtualClock,
} from "../../src/index.js";
import type { Job } from "../fixtures/threads/modes.worker.js";
import { CHANNEL, MODES } from "./thread-support.js";

// Hostile calls in threads, generated: every item reaches exactly one outcome (by id), and every
// thread's setup is paired with its close or counted as a resource not closed — on real timers,
// and on a virtual clock whose time runs far ahead of the threads' real work.
const RUNS = Number(process.env.THREAD_PROPERTY_RUNS ?? 8);

const modeArb = fc.constantFrom(
  "double",
  "double",
  "double",
  "skip",
  "throw",
  "throwOnce",
  "exitOnce",
  "exit",
  "sleep",
  "fnResult",
  "spin",
);

const scenarioArb = fc.record({
  modes: fc.array(modeArb, { minLength: 0, maxLength: 24 }),
  threadedStages: fc.integer({ min: 1, max: 2 }),
  workers: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  plainBetween: fc.boolean(),
  ordered: fc.boolean(),
  attempts: fc.integer({ min: 1, max: 2 }),
  end: fc.constantFrom("natural", "natural", "drain", "stop"),
  endAtMs: fc.integer({ min: 0, max: 300 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

async function runScenario(sc: Scenario, virtual: boolean): Promise<void> {
  const clock = virtual ? new VirtualClock() : undefined;
  // A virtual clock's time runs ahead of the threads: no call could beat a virtual deadline, and
  // a spinning call would hold its thread forever, so that mode has neither.
  const modes = virtual ? sc.modes.filter((m) => m !== "spin") : sc.modes;
  const heard: string[] = [];
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e) => heard.push(String((e as MessageEvent).data));
  const consumed: number[] = [];
  const errors: FlowErrorEvent[] = [];
  const skipped: number[] = [];
  const dropped: number[] = [];
  const f = new Flow<Job>({ ...(clock ? { clock } : {}), closeTimeoutMs: 1000 });
  f.setErrorHandler((e) => {
    errors.push(e);
  });
  f.on("skip", (e) => skipped.push(e.id));
  f.on("drop", (e) => dropped.push(e.id));
  f.setProducer(modes.map((mode, n) => ({ n, mode, ms: 5 })));
  const stageOptions = (i: number) => ({
    name: `t${i}`,
    ordered: sc.ordered,
    retry: { attempts: sc.attempts, backoff: { baseMs: 1, maxMs: 1 } },
    ...(virtual ? {} : { timeoutMs: 400 }),
    ...(sc.workers === undefined ? {} : { scalingStrategy: new FixedScaling({ workers: sc.workers }) }),
  });
  for (let i = 0; i < sc.threadedStages; i++) {
    if (i > 0) {
      // Between two threaded stages the result is a number: make it an item again.
      f.addTransformer((n: unknown) => ({ n: Number(n) }), { name: `plain${i}` });
    } else if (sc.plainBetween) {
      f.addTransformer((j: Job) => j, { name: "plain" });
    }
    f.addTransformer(threaded<typeof import("../fixtures/threads/modes.worker.js")>(MODES), stageOptions(i));
  }
  f.setConsumer((_x: unknown, ctx: StageContext) => void consumed.push(ctx.id), { name: "sink" });
  const log = console.error;
  console.error = () => {};
  try {
    const done = f.run();
    if (clock) {
      let finished = false;
      void done.finally(() => {
        finished = true;
      });
      if (sc.end !== "natural") {
        await clock.advance(sc.endAtMs);
        void (sc.end === "drain" ? f.drain() : f.stop());
      }
      await clock.runUntil(() => finished, { stepMs: 5, maxMs: 3_600_000 });
    } else if (sc.end !== "natural") {
      await new Promise((r) => setTimeout(r, sc.endAtMs));
      void (sc.end === "drain" ? f.drain() : f.stop());
    }
    await done;
    await new Promise((r) => setTimeout(r, 150));
  } finally {
    console.error = log;
    channel.close();
  }

  const s = f.stats();
  const failed = errors.flatMap((e) => (e.type === "TransformerError" ? [e.id] : []));
  const outcomes = [...consumed, ...failed, ...skipped, ...dropped].sort((a, b) => a - b);
  expect(outcomes).toEqual(Array.from({ length: s.itemsIn }, (_, i) => i + 1));
  expect(s.inFlight).toBe(0);
  const setups = heard.filter((m) => m.startsWith("setup")).length;
  const closes = heard.filter((m) => m.startsWith("close")).length;
  let unclosed = 0;
  for (let i = 0; i < sc.threadedStages; i++) unclosed += f.stageStats(`t${i}`)!.unclosedResources;
  if (virtual) {
    // A close that outlasts closeTimeoutMs is reported, and may still finish: virtual time passes
    // any deadline while a thread works in real time.
    expect(closes).toBeLessThanOrEqual(setups);
    expect(closes + unclosed).toBeGreaterThanOrEqual(setups);
  } else expect(closes + unclosed).toBe(setups);
}

describe("threaded stages under hostile calls (property)", () => {
  it("on real timers: one outcome per item, and setups paired with closes", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (sc) => runScenario(sc, false)),
      { numRuns: RUNS },
    );
  }, 240_000);

  it("on a virtual clock: one outcome per item, and setups paired with closes", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (sc) => runScenario(sc, true)),
      { numRuns: RUNS },
    );
  }, 240_000);
});
